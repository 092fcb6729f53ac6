//! Configuration: XDG paths, `config.toml`, the keymap and the skin. Defaults are embedded; user
//! files only override, and anything unreadable becomes a warning shown in the UI, not a crash.

pub mod intents;
pub mod keymap;
pub mod skin;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use keymap::{Intent, KeySpec, Keymap, Section};
pub use skin::{Glyphs, Skin};

pub const DEFAULT_CONFIG: &str = include_str!("../../../assets/tui/config.toml");

/// Everything the UI reads from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    pub keymap: Keymap,
    pub skin: Skin,
    pub glyphs: Glyphs,
    pub stale_after: Duration,
    /// Live sources are re-read this often (`None`: only on Ctrl-r).
    pub refresh_every: Option<Duration>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            keymap: Keymap::default(),
            skin: Skin::default(),
            glyphs: Glyphs::UNICODE,
            stale_after: Duration::from_secs(120),
            refresh_every: Some(Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    ui: UiSection,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UiSection {
    skin: Option<String>,
    ascii: Option<bool>,
    stale_after_secs: Option<u64>,
    refresh_secs: Option<u64>,
}

/// Where lbsg keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    /// `$LBSG_CONFIG_DIR`, else `$XDG_CONFIG_HOME/lbsg`, else `~/.config/lbsg`; the state dir
    /// likewise from `$XDG_STATE_HOME` (`~/.local/state/lbsg`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let home = env("HOME").map(PathBuf::from).unwrap_or_default();
        let xdg = |var: &str, fallback: &str| {
            env(var)
                .filter(|v| Path::new(v).is_absolute())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(fallback))
                .join("lbsg")
        };
        let config_dir = env("LBSG_CONFIG_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| xdg("XDG_CONFIG_HOME", ".config"));
        Self {
            config_dir,
            state_dir: xdg("XDG_STATE_HOME", ".local/state"),
        }
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("lbsg.log")
    }
}

/// Read `config.toml`, `keymap.toml` and the chosen skin from `dir` (each optional).
/// `env` answers `NO_COLOR` and `LBSG_ASCII`.
pub fn load(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> (UiConfig, Vec<String>) {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    load_from(&read, env)
}

/// [`load`] over any file reader (tests pass an in-memory one).
pub fn load_from(
    read: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (UiConfig, Vec<String>) {
    let mut warnings = Vec::new();
    let mut cfg = UiConfig::default();

    let file: ConfigFile = match read("config.toml") {
        None => ConfigFile::default(),
        Some(src) => toml::from_str(&src).unwrap_or_else(|e| {
            warnings.push(format!("config.toml: {e}; using the defaults"));
            ConfigFile::default()
        }),
    };
    if let Some(keys) = read("keymap.toml") {
        let (km, w) = Keymap::from_toml(&keys);
        cfg.keymap = km;
        warnings.extend(w);
    }
    let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
    let skin_name = if no_color {
        "mono".to_string()
    } else {
        file.ui.skin.clone().unwrap_or_else(|| "dark".into())
    };
    cfg.skin = match Skin::builtin(&skin_name) {
        Some(s) => s,
        None => match read(&format!("skins/{skin_name}.toml")) {
            Some(src) => Skin::parse(&skin_name, &src).unwrap_or_else(|e| {
                warnings.push(format!("{e}; using the dark skin"));
                Skin::default()
            }),
            None => {
                warnings.push(format!(
                    "skin {skin_name:?} not found (built in: dark, light, mono); using the dark skin"
                ));
                Skin::default()
            }
        },
    };
    let ascii_env = env("LBSG_ASCII").is_some_and(|v| !v.is_empty() && v != "0");
    let dumb_term = env("TERM").is_some_and(|t| t == "dumb" || t == "linux");
    cfg.glyphs = Glyphs::for_mode(file.ui.ascii.unwrap_or(false) || ascii_env || dumb_term);
    if let Some(secs) = file.ui.stale_after_secs {
        cfg.stale_after = Duration::from_secs(secs.max(1));
    }
    match file.ui.refresh_secs {
        Some(0) => cfg.refresh_every = None,
        // The LBC shares the account's EC2 API budget with us: never poll faster than 15 s.
        Some(secs) => cfg.refresh_every = Some(Duration::from_secs(secs.max(15))),
        None => {}
    }
    (cfg, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn files(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn env(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        files(list)
    }

    #[test]
    fn defaults_without_files() {
        let (cfg, w) = load_from(&files(&[]), &env(&[]));
        assert!(w.is_empty());
        assert_eq!(cfg, UiConfig::default());
    }

    #[test]
    fn embedded_default_config_parses() {
        let (cfg, w) = load_from(&files(&[("config.toml", DEFAULT_CONFIG)]), &env(&[]));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.skin.name, "dark");
    }

    #[test]
    fn light_skin_ascii_and_no_color() {
        let conf = "[ui]\nskin = \"light\"\nascii = true\n";
        let (cfg, _) = load_from(&files(&[("config.toml", conf)]), &env(&[]));
        assert_eq!(cfg.skin.name, "light");
        assert!(cfg.glyphs.ascii);
        let (cfg, _) = load_from(&files(&[("config.toml", conf)]), &env(&[("NO_COLOR", "1")]));
        assert_eq!(cfg.skin.name, "mono");
    }

    #[test]
    fn custom_skin_file_and_bad_files_warn() {
        let (cfg, w) = load_from(
            &files(&[
                ("config.toml", "[ui]\nskin = \"prod\"\n"),
                ("skins/prod.toml", "[styles]\nheader = \"white on red\"\n"),
            ]),
            &env(&[]),
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.skin.name, "prod");
        let (_, w) = load_from(
            &files(&[
                ("config.toml", "[ui]\nskn = 1\n"),
                ("keymap.toml", "[normal\n"),
            ]),
            &env(&[]),
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn xdg_paths() {
        let p = Paths::from_env(&env(&[("HOME", "/home/u")]));
        assert_eq!(p.config_dir, PathBuf::from("/home/u/.config/lbsg"));
        assert_eq!(
            p.log_file(),
            PathBuf::from("/home/u/.local/state/lbsg/lbsg.log")
        );
        let p = Paths::from_env(&env(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/x/c"),
            ("XDG_STATE_HOME", "/x/s"),
        ]));
        assert_eq!(p.config_dir, PathBuf::from("/x/c/lbsg"));
        assert_eq!(p.state_dir, PathBuf::from("/x/s/lbsg"));
        let p = Paths::from_env(&env(&[("HOME", "/h"), ("LBSG_CONFIG_DIR", "/etc/lbsg")]));
        assert_eq!(p.config_dir, PathBuf::from("/etc/lbsg"));
    }
}
