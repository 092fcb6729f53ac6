//! Annotation parsing exactly as the LBC does it (lbc-semantics §1).

use std::collections::BTreeMap;

use crate::world::controller::parse_go_bool;

pub const SVC_PREFIX: &str = "service.beta.kubernetes.io/";
pub const ING_PREFIX: &str = "alb.ingress.kubernetes.io/";

/// Which object kind an annotation set belongs to; decides the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Service,
    Ingress,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Service => SVC_PREFIX,
            Kind::Ingress => ING_PREFIX,
        }
    }
}

/// A read-only view of one object's annotations under the LBC prefix of its kind.
#[derive(Debug, Clone, Copy)]
pub struct Annotations<'a> {
    pub kind: Kind,
    pub map: &'a BTreeMap<String, String>,
}

impl<'a> Annotations<'a> {
    pub fn new(kind: Kind, map: &'a BTreeMap<String, String>) -> Self {
        Self { kind, map }
    }

    pub fn full_key(&self, suffix: &str) -> String {
        format!("{}{}", self.kind.prefix(), suffix)
    }

    /// The raw value, if present.
    pub fn get(&self, suffix: &str) -> Option<&'a str> {
        // Model builders read dozens of annotations per object: build the key in a reused
        // buffer instead of allocating one per lookup.
        thread_local! {
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let map = self.map;
        let prefix = self.kind.prefix();
        KEY.with(|key| match key.try_borrow_mut() {
            Ok(mut key) => {
                key.clear();
                key.push_str(prefix);
                key.push_str(suffix);
                map.get(key.as_str()).map(String::as_str)
            }
            Err(_) => map.get(&format!("{prefix}{suffix}")).map(String::as_str),
        })
    }

    pub fn has(&self, suffix: &str) -> bool {
        self.get(suffix).is_some()
    }

    /// Comma list: items trimmed, empty items dropped. `None` when absent.
    pub fn list(&self, suffix: &str) -> Option<Vec<String>> {
        self.get(suffix).map(split_list)
    }

    /// Go `strconv.ParseBool` with the LBC's error text.
    pub fn bool(&self, suffix: &str) -> Result<Option<bool>, String> {
        match self.get(suffix) {
            None => Ok(None),
            Some(raw) => parse_go_bool(raw).map(Some).ok_or_else(|| {
                format!(
                    "failed to parse bool annotation, {}: {raw}: strconv.ParseBool: parsing \"{raw}\": invalid syntax",
                    self.full_key(suffix)
                )
            }),
        }
    }

    /// `k=v,k2=v2` map with the LBC's escape and error rules.
    pub fn string_map(&self, suffix: &str) -> Result<Option<BTreeMap<String, String>>, String> {
        match self.get(suffix) {
            None => Ok(None),
            Some(raw) => parse_string_map(raw).map(Some).ok_or_else(|| {
                format!(
                    "failed to parse stringMap annotation, {}: {raw}",
                    self.full_key(suffix)
                )
            }),
        }
    }
}

/// Split a comma list, trimming items and dropping empty ones.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parse `k=v,k2=v2`: a comma only separates pairs when another `key=` follows; a backslash
/// escapes the next character; keys and values are trimmed. A piece without `=` or with an
/// empty key is an error (`None`).
pub fn parse_string_map(raw: &str) -> Option<BTreeMap<String, String>> {
    // Unescape while remembering which commas/equals were escaped.
    let mut chars: Vec<(char, bool)> = Vec::new();
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                chars.push((n, true));
            }
        } else {
            chars.push((c, false));
        }
    }
    // Split on unescaped commas that are followed by something containing an unescaped '='
    // before the next unescaped comma.
    let mut pieces: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &(c, escaped)) in chars.iter().enumerate() {
        if c == ',' && !escaped && next_segment_has_eq(&chars[i + 1..]) {
            pieces.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    pieces.push(cur);
    let mut out = BTreeMap::new();
    for piece in pieces {
        if piece.trim().is_empty() {
            continue;
        }
        let (k, v) = piece.split_once('=')?;
        let k = k.trim();
        if k.is_empty() {
            return None;
        }
        out.insert(k.to_string(), v.trim().to_string());
    }
    Some(out)
}

fn next_segment_has_eq(rest: &[(char, bool)]) -> bool {
    for &(c, escaped) in rest {
        if c == ',' && !escaped {
            return false;
        }
        if c == '=' && !escaped {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_trim_and_drop_empty() {
        assert_eq!(split_list(" a, ,b ,"), vec!["a", "b"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn bool_error_matches_lbc() {
        let m: BTreeMap<String, String> = [(
            "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg".to_string(),
            "yes".to_string(),
        )]
        .into();
        let a = Annotations::new(Kind::Service, &m);
        assert_eq!(
            a.bool("aws-load-balancer-disable-nlb-sg").unwrap_err(),
            "failed to parse bool annotation, service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg: yes: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn string_map_commas_inside_values() {
        let m = parse_string_map("a=1,2, b = x ,c=").unwrap();
        assert_eq!(m.get("a").unwrap(), "1,2");
        assert_eq!(m.get("b").unwrap(), "x");
        assert_eq!(m.get("c").unwrap(), "");
        assert!(parse_string_map("novalue").is_none());
        assert!(parse_string_map("=v").is_none());
        let esc = parse_string_map(r"k=a\,b=c").unwrap();
        assert_eq!(esc.get("k").unwrap(), "a,b=c");
    }
}
