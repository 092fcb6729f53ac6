//! The keymap: which key runs which intent, per section (normal views, plan dialog, forms).
//! The same table generates the help screen and the footer hints, so they cannot drift.

use std::collections::BTreeMap;
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use super::intents::{INTENTS, Intent, IntentInfo, Section};

/// A key as written in the keymap file: `q`, `G`, `ctrl-r`, `enter`, `space`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeySpec {
    pub key: Key,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    Delete,
    Insert,
    F(u8),
}

const NAMED: &[(&str, Key)] = &[
    ("enter", Key::Enter),
    ("esc", Key::Esc),
    ("tab", Key::Tab),
    ("backtab", Key::BackTab),
    ("up", Key::Up),
    ("down", Key::Down),
    ("left", Key::Left),
    ("right", Key::Right),
    ("pageup", Key::PageUp),
    ("pagedown", Key::PageDown),
    ("home", Key::Home),
    ("end", Key::End),
    ("backspace", Key::Backspace),
    ("delete", Key::Delete),
    ("insert", Key::Insert),
    ("space", Key::Char(' ')),
];

impl KeySpec {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let key = if let Some((_, k)) = NAMED.iter().find(|(n, _)| *n == lower) {
            *k
        } else if let Some(n) = lower
            .strip_prefix('f')
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            Key::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => {
                    Key::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                }
                _ => return Err(format!("unknown key {s:?}")),
            }
        };
        Ok(KeySpec { key, ctrl, alt })
    }

    pub fn from_event(ev: &KeyEvent) -> Option<Self> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let key = match ev.code {
            KeyCode::Char(c) => Key::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            KeyCode::Insert => Key::Insert,
            KeyCode::F(n) => Key::F(n),
            _ => return None,
        };
        Some(KeySpec { key, ctrl, alt })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::F(n) => write!(f, "f{n}"),
            k => {
                let name = NAMED
                    .iter()
                    .find(|(_, v)| *v == k)
                    .map(|(n, _)| *n)
                    .unwrap_or("?");
                f.write_str(name)
            }
        }
    }
}

/// The resolved bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<(Section, KeySpec), Intent>,
    keys: BTreeMap<(Section, Intent), Vec<KeySpec>>,
}

/// One line of the generated help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpEntry {
    pub section: Section,
    pub keys: String,
    pub name: &'static str,
    pub desc: &'static str,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::build(&BTreeMap::new()).0
    }
}

impl Keymap {
    /// Parse a user keymap file (`[normal] move_down = ["j", "down"]`) over the defaults.
    /// Problems become warnings; the defaults stay in force for whatever could not be read.
    pub fn from_toml(src: &str) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut user: BTreeMap<(Section, Intent), Vec<KeySpec>> = BTreeMap::new();
        let table: toml::Table = match toml::from_str(src) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(format!("keymap.toml: {e}; using the default keys"));
                return (Self::default(), warnings);
            }
        };
        for (sec_name, body) in &table {
            let Some(section) = [Section::Normal, Section::Plan, Section::Form]
                .into_iter()
                .find(|s| s.name() == sec_name)
            else {
                warnings.push(format!("keymap.toml: unknown section [{sec_name}]"));
                continue;
            };
            let Some(body) = body.as_table() else {
                warnings.push(format!("keymap.toml: [{sec_name}] must be a table"));
                continue;
            };
            for (name, keys) in body {
                let Some(info) = INTENTS
                    .iter()
                    .find(|i| i.section == section && i.name == name)
                else {
                    warnings.push(format!("keymap.toml: unknown action {sec_name}.{name}"));
                    continue;
                };
                let list: Vec<&str> = match keys {
                    toml::Value::String(s) => vec![s.as_str()],
                    toml::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                    _ => {
                        warnings.push(format!(
                            "keymap.toml: {sec_name}.{name} must be a key or a list of keys"
                        ));
                        continue;
                    }
                };
                let mut specs = Vec::new();
                for k in list {
                    match KeySpec::parse(k) {
                        Ok(spec) if spec.ctrl && info.edits => warnings.push(format!(
                            "keymap.toml: {sec_name}.{name} leads to a change and may not use a Ctrl- key ({k}); ignored"
                        )),
                        Ok(spec) => specs.push(spec),
                        Err(e) => warnings.push(format!("keymap.toml: {sec_name}.{name}: {e}")),
                    }
                }
                user.insert((section, info.intent), specs);
            }
        }
        let (map, more) = Self::build(&user);
        warnings.extend(more);
        (map, warnings)
    }

    fn build(user: &BTreeMap<(Section, Intent), Vec<KeySpec>>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut bindings = BTreeMap::new();
        let mut keys: BTreeMap<(Section, Intent), Vec<KeySpec>> = BTreeMap::new();
        // User bindings claim their keys first, so a remap can take a key from a default.
        for ((section, intent), specs) in user {
            for spec in specs {
                if let Some(other) = bindings.insert((*section, *spec), *intent) {
                    warnings.push(format!(
                        "keymap.toml: {spec} is bound twice in [{}] ({} and {}); keeping {}",
                        section.name(),
                        name_of(other, *section),
                        name_of(*intent, *section),
                        name_of(*intent, *section)
                    ));
                }
                keys.entry((*section, *intent)).or_default().push(*spec);
            }
        }
        for info in INTENTS {
            if user.contains_key(&(info.section, info.intent)) {
                continue;
            }
            for k in info.defaults {
                let Ok(spec) = KeySpec::parse(k) else {
                    continue;
                };
                if bindings.contains_key(&(info.section, spec)) {
                    continue;
                }
                bindings.insert((info.section, spec), info.intent);
                keys.entry((info.section, info.intent))
                    .or_default()
                    .push(spec);
            }
        }
        (Self { bindings, keys }, warnings)
    }

    pub fn lookup(&self, section: Section, key: &KeySpec) -> Option<Intent> {
        self.bindings.get(&(section, *key)).copied()
    }

    pub fn keys_for(&self, section: Section, intent: Intent) -> &[KeySpec] {
        self.keys
            .get(&(section, intent))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// `j/down` style text of an intent's keys.
    pub fn keys_text(&self, section: Section, intent: Intent) -> String {
        self.keys_for(section, intent)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The help, in table order; edit intents left out in read-only mode.
    pub fn help(&self, readonly: bool) -> Vec<HelpEntry> {
        INTENTS
            .iter()
            .filter(|i| !(readonly && i.edits))
            .map(|i| HelpEntry {
                section: i.section,
                keys: self.keys_text(i.section, i.intent),
                name: i.name,
                desc: i.desc,
            })
            .filter(|e| !e.keys.is_empty())
            .collect()
    }
}

fn name_of(intent: Intent, section: Section) -> &'static str {
    intent.info(section).map(|i| i.name).unwrap_or("?")
}

/// The default keymap as a commented TOML file (what `keymap.toml` may override).
pub fn default_toml() -> String {
    let mut out = String::from(
        "# lbsg keymap. Every action lists its keys; a listed action replaces its defaults.\n\
         # Keys: a character, ctrl-x, alt-x, enter, esc, tab, backtab, up, down, left, right,\n\
         # pageup, pagedown, home, end, backspace, delete, insert, space, f1..f12.\n\
         # Actions that lead to a change never accept a Ctrl- key.\n",
    );
    for section in [Section::Normal, Section::Plan, Section::Form] {
        out.push_str(&format!("\n[{}]\n", section.name()));
        for i in INTENTS.iter().filter(|i| i.section == section) {
            let keys: Vec<String> = i.defaults.iter().map(|k| format!("{k:?}")).collect();
            out.push_str(&format!(
                "{} = [{}]  # {}\n",
                i.name,
                keys.join(", "),
                i.desc
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, m, KeyEventKind::Press)
    }

    #[test]
    fn every_default_binding_resolves_to_its_intent() {
        let km = Keymap::default();
        for info in INTENTS {
            for k in info.defaults {
                let spec = KeySpec::parse(k).unwrap();
                assert_eq!(
                    km.lookup(info.section, &spec),
                    Some(info.intent),
                    "{}: {k}",
                    info.name
                );
            }
        }
    }

    #[test]
    fn no_default_edit_binding_uses_ctrl() {
        for info in INTENTS.iter().filter(|i| i.edits) {
            for k in info.defaults {
                assert!(!KeySpec::parse(k).unwrap().ctrl, "{} on {k}", info.name);
            }
        }
    }

    #[test]
    fn keys_round_trip_through_text() {
        for k in [
            "q", "G", "ctrl-r", "enter", "space", "f5", "backtab", "alt-x", ":",
        ] {
            assert_eq!(KeySpec::parse(k).unwrap().to_string(), k);
        }
        assert!(KeySpec::parse("ctrl-").is_err());
        assert!(KeySpec::parse("hyper").is_err());
    }

    #[test]
    fn events_map_to_specs() {
        let km = Keymap::default();
        let ctrl_r = KeySpec::from_event(&ev(KeyCode::Char('r'), KeyModifiers::CONTROL)).unwrap();
        assert_eq!(km.lookup(Section::Normal, &ctrl_r), Some(Intent::Refresh));
        let shift_g = KeySpec::from_event(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)).unwrap();
        assert_eq!(km.lookup(Section::Normal, &shift_g), Some(Intent::Bottom));
        let shift_tab = KeySpec::from_event(&ev(KeyCode::Tab, KeyModifiers::SHIFT)).unwrap();
        assert_eq!(
            km.lookup(Section::Form, &shift_tab),
            Some(Intent::PrevField)
        );
    }

    #[test]
    fn user_file_remaps_and_warns() {
        let (km, warnings) = Keymap::from_toml(
            "[normal]\nmove_down = [\"n\"]\nquit = \"x\"\nedit_rules = [\"ctrl-e\", \"R\"]\nnope = [\"z\"]\n[weird]\n",
        );
        let n = KeySpec::parse("n").unwrap();
        let j = KeySpec::parse("j").unwrap();
        assert_eq!(km.lookup(Section::Normal, &n), Some(Intent::MoveDown));
        assert_eq!(
            km.lookup(Section::Normal, &j),
            None,
            "remap replaces defaults"
        );
        assert_eq!(
            km.lookup(Section::Normal, &KeySpec::parse("x").unwrap()),
            Some(Intent::Quit)
        );
        assert_eq!(km.keys_text(Section::Normal, Intent::EditRules), "R");
        assert!(warnings.iter().any(|w| w.contains("Ctrl-")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("normal.nope")));
        assert!(warnings.iter().any(|w| w.contains("[weird]")));
    }

    #[test]
    fn user_key_taken_from_a_default_moves() {
        // `e` was edit_annotations; the user gives it to help.
        let (km, _) = Keymap::from_toml("[normal]\nhelp = [\"e\"]\n");
        let e = KeySpec::parse("e").unwrap();
        assert_eq!(km.lookup(Section::Normal, &e), Some(Intent::Help));
        assert_eq!(km.keys_text(Section::Normal, Intent::EditAnnotations), "");
    }

    #[test]
    fn help_hides_edits_when_readonly() {
        let km = Keymap::default();
        assert!(km.help(false).iter().any(|e| e.name == "apply_remedy"));
        assert!(!km.help(true).iter().any(|e| e.name == "apply_remedy"));
        assert!(!km.help(true).iter().any(|e| e.name == "edit_annotations"));
    }

    #[test]
    fn default_file_parses_back_to_the_defaults() {
        let (km, warnings) = Keymap::from_toml(&default_toml());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(km, Keymap::default());
    }
}
