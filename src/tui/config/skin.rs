//! Skins: the styles that carry meaning (exposed, blocked, allowed, missing, severities), and the
//! glyph set (Unicode or ASCII). Colour is never the only signal: every status has a glyph too.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Named styles. Every field is a role, not a colour, so a skin can remap it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skin {
    pub name: String,
    pub base: Style,
    pub header: Style,
    pub title: Style,
    pub border: Style,
    pub selected: Style,
    pub muted: Style,
    pub key: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    /// Reachable from the internet (0.0.0.0/0, ::/0 on an internet-facing LB).
    pub exposed: Style,
    /// A referenced object that does not exist (k9s "noref").
    pub missing: Style,
    pub edge_allowed: Style,
    pub edge_blocked: Style,
    pub edge_attached: Style,
    pub edge_unknown: Style,
    pub critical: Style,
    pub high: Style,
    pub medium: Style,
    pub low: Style,
    pub readonly_badge: Style,
    pub added: Style,
    pub removed: Style,
    pub changed: Style,
    pub button: Style,
    pub button_focused: Style,
}

/// The file shape: `[styles] exposed = "red bold"`, each value `FG [on BG] [bold|dim|italic|underline|reversed]…`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SkinFile {
    #[serde(default)]
    styles: std::collections::BTreeMap<String, String>,
}

pub const DARK: &str = include_str!("../../../assets/tui/skins/dark.toml");
pub const LIGHT: &str = include_str!("../../../assets/tui/skins/light.toml");
pub const MONO: &str = include_str!("../../../assets/tui/skins/mono.toml");

impl Skin {
    /// A built-in skin by name (`dark`, `light`, `mono`).
    pub fn builtin(name: &str) -> Option<Skin> {
        let src = match name {
            "dark" => DARK,
            "light" => LIGHT,
            "mono" => MONO,
            _ => return None,
        };
        Skin::parse(name, src).ok()
    }

    /// Parse a skin file. Unknown roles and bad values are errors (the caller warns and falls
    /// back); roles the file leaves out keep the mono style.
    pub fn parse(name: &str, src: &str) -> Result<Skin, String> {
        let file: SkinFile = toml::from_str(src).map_err(|e| format!("skin {name}: {e}"))?;
        let mut skin = Skin::mono_base(name);
        for (role, value) in &file.styles {
            let style = parse_style(value).map_err(|e| format!("skin {name}: {role}: {e}"))?;
            let slot = skin
                .slot(role)
                .ok_or_else(|| format!("skin {name}: unknown style {role:?}"))?;
            *slot = style;
        }
        Ok(skin)
    }

    /// Styles that still work with no colour at all.
    fn mono_base(name: &str) -> Skin {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Skin {
            name: name.to_string(),
            base: plain,
            header: bold,
            title: bold,
            border: plain,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            muted: Style::new().add_modifier(Modifier::DIM),
            key: bold,
            ok: plain,
            warn: bold,
            error: bold,
            exposed: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            missing: Style::new().add_modifier(Modifier::BOLD | Modifier::CROSSED_OUT),
            edge_allowed: plain,
            edge_blocked: bold,
            edge_attached: Style::new().add_modifier(Modifier::DIM),
            edge_unknown: Style::new().add_modifier(Modifier::DIM),
            critical: Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            high: bold,
            medium: plain,
            low: Style::new().add_modifier(Modifier::DIM),
            readonly_badge: Style::new().add_modifier(Modifier::REVERSED),
            added: plain,
            removed: plain,
            changed: plain,
            button: plain,
            button_focused: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        }
    }

    fn slot(&mut self, role: &str) -> Option<&mut Style> {
        Some(match role {
            "base" => &mut self.base,
            "header" => &mut self.header,
            "title" => &mut self.title,
            "border" => &mut self.border,
            "selected" => &mut self.selected,
            "muted" => &mut self.muted,
            "key" => &mut self.key,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "error" => &mut self.error,
            "exposed" => &mut self.exposed,
            "missing" => &mut self.missing,
            "edge_allowed" => &mut self.edge_allowed,
            "edge_blocked" => &mut self.edge_blocked,
            "edge_attached" => &mut self.edge_attached,
            "edge_unknown" => &mut self.edge_unknown,
            "critical" => &mut self.critical,
            "high" => &mut self.high,
            "medium" => &mut self.medium,
            "low" => &mut self.low,
            "readonly_badge" => &mut self.readonly_badge,
            "added" => &mut self.added,
            "removed" => &mut self.removed,
            "changed" => &mut self.changed,
            "button" => &mut self.button,
            "button_focused" => &mut self.button_focused,
            _ => return None,
        })
    }
}

impl Default for Skin {
    fn default() -> Self {
        Skin::builtin("dark").unwrap_or_else(|| Skin::mono_base("dark"))
    }
}

/// `red`, `#ff8800 on black bold`, `default underline`, `reversed`.
pub fn parse_style(s: &str) -> Result<Style, String> {
    let mut style = Style::new();
    let mut words = s.split_whitespace().peekable();
    let mut colour_seen = false;
    while let Some(w) = words.next() {
        let lower = w.to_ascii_lowercase();
        let modifier = match lower.as_str() {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underline" | "underlined" => Some(Modifier::UNDERLINED),
            "reversed" | "reverse" => Some(Modifier::REVERSED),
            "crossed" | "crossed_out" => Some(Modifier::CROSSED_OUT),
            _ => None,
        };
        if let Some(m) = modifier {
            style = style.add_modifier(m);
        } else if lower == "on" {
            let bg = words.next().ok_or("`on` needs a colour")?;
            style = style.bg(colour(bg)?);
        } else if !colour_seen {
            style = style.fg(colour(w)?);
            colour_seen = true;
        } else {
            return Err(format!("unexpected {w:?}"));
        }
    }
    Ok(style)
}

fn colour(s: &str) -> Result<Color, String> {
    if s.eq_ignore_ascii_case("default") {
        return Ok(Color::Reset);
    }
    Color::from_str(s).map_err(|_| format!("unknown colour {s:?}"))
}

/// Glyphs for statuses and edges; the ASCII set works on any terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub ascii: bool,
    pub ok: &'static str,
    pub blocked: &'static str,
    pub warn: &'static str,
    pub missing: &'static str,
    pub exposed: &'static str,
    pub unknown: &'static str,
    pub arrow: &'static str,
    pub arrow_right: &'static str,
    pub tree_branch: &'static str,
    pub tree_last: &'static str,
    pub tree_pipe: &'static str,
    pub spinner: &'static [&'static str],
    pub bullet: &'static str,
}

impl Glyphs {
    pub const UNICODE: Glyphs = Glyphs {
        ascii: false,
        ok: "✓",
        blocked: "✗",
        warn: "!",
        missing: "?",
        exposed: "◉",
        unknown: "·",
        arrow: "▶",
        arrow_right: "→",
        tree_branch: "├─ ",
        tree_last: "└─ ",
        tree_pipe: "│  ",
        spinner: &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"],
        bullet: "●",
    };
    pub const ASCII: Glyphs = Glyphs {
        ascii: true,
        ok: "+",
        blocked: "x",
        warn: "!",
        missing: "?",
        exposed: "@",
        unknown: ".",
        arrow: ">",
        arrow_right: "->",
        tree_branch: "|- ",
        tree_last: "`- ",
        tree_pipe: "|  ",
        spinner: &["|", "/", "-", "\\"],
        bullet: "*",
    };

    pub fn for_mode(ascii: bool) -> Glyphs {
        if ascii {
            Glyphs::ASCII
        } else {
            Glyphs::UNICODE
        }
    }

    /// The line glyph for a cell whose edges connect up/down/left/right.
    pub fn line(&self, up: bool, down: bool, left: bool, right: bool) -> &'static str {
        if self.ascii {
            return match (up || down, left || right) {
                (true, true) => "+",
                (true, false) => "|",
                (false, _) => "-",
            };
        }
        match (up, down, left, right) {
            (false, false, _, _) => "─",
            (_, _, false, false) => "│",
            (false, true, false, true) => "┌",
            (false, true, true, false) => "┐",
            (true, false, false, true) => "└",
            (true, false, true, false) => "┘",
            (false, true, true, true) => "┬",
            (true, false, true, true) => "┴",
            (true, true, false, true) => "├",
            (true, true, true, false) => "┤",
            (true, true, true, true) => "┼",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_skins_parse() {
        for name in ["dark", "light", "mono"] {
            let s = Skin::parse(
                name,
                match name {
                    "dark" => DARK,
                    "light" => LIGHT,
                    _ => MONO,
                },
            );
            assert!(s.is_ok(), "{name}: {s:?}");
        }
    }

    #[test]
    fn meaning_carrying_roles_differ_in_colour_skins() {
        for name in ["dark", "light"] {
            let s = Skin::builtin(name).unwrap();
            assert_ne!(s.edge_allowed, s.edge_blocked, "{name}");
            assert_ne!(s.exposed, s.ok, "{name}");
            assert_eq!(s.exposed.fg, Some(Color::Red), "{name}: exposure is red");
            assert_eq!(s.edge_blocked.fg, Some(Color::Red), "{name}");
            assert_eq!(s.missing.fg, Some(Color::Red), "{name}");
        }
    }

    #[test]
    fn styles_parse_and_errors_name_the_problem() {
        let s = parse_style("#ff8800 on black bold").unwrap();
        assert_eq!(s.fg, Some(Color::Rgb(0xff, 0x88, 0)));
        assert_eq!(s.bg, Some(Color::Black));
        assert!(s.add_modifier.contains(Modifier::BOLD));
        assert_eq!(parse_style("default").unwrap().fg, Some(Color::Reset));
        assert!(parse_style("blurple").unwrap_err().contains("blurple"));
        assert!(
            Skin::parse("x", "[styles]\nnope = \"red\"\n")
                .unwrap_err()
                .contains("nope")
        );
    }

    #[test]
    fn line_glyphs_join() {
        let g = Glyphs::UNICODE;
        assert_eq!(g.line(false, true, true, false), "┐");
        assert_eq!(g.line(true, true, false, true), "├");
        assert_eq!(Glyphs::ASCII.line(true, true, false, true), "+");
        assert_eq!(Glyphs::ASCII.line(false, false, true, true), "-");
    }
}
