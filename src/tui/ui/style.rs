//! Status → style and glyph, in one place, so a status always looks the same everywhere.

use ratatui::style::Style;

use crate::tui::config::{Glyphs, Skin};
use crate::tui::model::{EdgeStatus, ExposureLevel, NodeStatus, RuleOwner, Severity};

pub fn node(skin: &Skin, s: NodeStatus) -> Style {
    match s {
        NodeStatus::Ok => skin.ok,
        NodeStatus::Neutral => skin.base,
        NodeStatus::Warn => skin.warn,
        NodeStatus::Error => skin.error,
        NodeStatus::Missing => skin.missing,
        NodeStatus::Exposed => skin.exposed,
        NodeStatus::Unknown => skin.muted,
    }
}

pub fn node_glyph(g: &Glyphs, s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Ok => g.ok,
        NodeStatus::Neutral => g.unknown,
        NodeStatus::Warn => g.warn,
        NodeStatus::Error => g.blocked,
        NodeStatus::Missing => g.missing,
        NodeStatus::Exposed => g.exposed,
        NodeStatus::Unknown => g.unknown,
    }
}

pub fn edge(skin: &Skin, s: EdgeStatus) -> Style {
    match s {
        EdgeStatus::Allowed => skin.edge_allowed,
        EdgeStatus::Blocked => skin.edge_blocked,
        EdgeStatus::Attached => skin.edge_attached,
        EdgeStatus::Unknown => skin.edge_unknown,
    }
}

pub fn edge_glyph(g: &Glyphs, s: EdgeStatus) -> &'static str {
    match s {
        EdgeStatus::Allowed => g.ok,
        EdgeStatus::Blocked => g.blocked,
        EdgeStatus::Attached | EdgeStatus::Unknown => g.unknown,
    }
}

pub fn severity(skin: &Skin, s: Severity) -> Style {
    match s {
        Severity::Critical => skin.critical,
        Severity::High => skin.high,
        Severity::Medium => skin.medium,
        Severity::Low => skin.low,
        Severity::Info => skin.muted,
    }
}

pub fn exposure(skin: &Skin, l: ExposureLevel) -> Style {
    match l {
        ExposureLevel::Internet => skin.exposed,
        ExposureLevel::Restricted => skin.warn,
        ExposureLevel::Internal => skin.base,
        ExposureLevel::NoLb => skin.error,
        ExposureLevel::Unknown => skin.muted,
    }
}

pub fn rule_owner(skin: &Skin, o: RuleOwner) -> Style {
    match o {
        RuleOwner::Lbc => skin.key,
        RuleOwner::InTree => skin.muted,
        RuleOwner::User => skin.base,
    }
}

/// Cut `s` to `w` display cells, marking the cut with `…` (or `~` in ASCII mode).
pub fn fit(s: &str, w: usize, ascii: bool) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push_str(if ascii { "~" } else { "…" });
    out
}

/// `14:03:12Z` (UTC) for a point in time; no time zone database needed.
pub fn clock(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}Z", day / 3600, day % 3600 / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_a_mark() {
        assert_eq!(fit("sg-0123456789", 8, false), "sg-0123…");
        assert_eq!(fit("short", 8, false), "short");
        assert_eq!(fit("abcdef", 4, true), "abc~");
    }

    #[test]
    fn clock_is_utc() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 3723);
        assert_eq!(clock(t), "01:02:03Z");
    }
}
