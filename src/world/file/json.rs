//! A fast path for world files written as JSON (what the AWS CLI prints and what
//! `lbsg snapshot --out FILE.json` writes): a strict JSON reader building the same tree the YAML
//! reader builds, several times faster than the YAML scanner on large files.
//!
//! It only ever *accepts*: anything it is unsure YAML reads the same way (tabs, surrogate
//! escapes, very long keys, duplicate keys, syntax errors…) makes it give up, and the YAML path
//! reads the file instead. Errors therefore always come from the YAML path, with its positions;
//! positions in this tree are best effort and never reach a message.

use std::borrow::Cow;
use std::collections::HashSet;

use super::located::{Entry, Node, Pos, Value};

/// YAML refuses implicit keys longer than this; such a file takes the YAML path.
pub(super) const MAX_KEY: usize = 1024;
pub(super) const MAX_DEPTH: usize = 256;
/// The YAML reader's node limit (`located::MAX_NODES`).
pub(super) const MAX_NODES: usize = 20_000_000;

/// The tree of a JSON document, or `None` when the YAML path must read it.
pub(crate) fn parse(text: &str) -> Option<Node<'_>> {
    let mut p = Reader {
        text,
        b: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        nodes: 0,
    };
    p.ws()?;
    if p.peek()? != b'{' {
        return None;
    }
    let root = p.value(0)?;
    p.ws()?;
    (p.i == p.b.len()).then_some(root)
}

/// A flow collection (`{…}` or `[…]`) written inside a block YAML document, at byte `i` of
/// `text` (line `line`, which starts at byte `line_start`); with where it ends, as
/// `(node, end, line, line_start)`. `None` when the YAML path must read it.
pub(super) fn flow_value<'t>(
    text: &'t str,
    i: usize,
    line: usize,
    line_start: usize,
    nodes: &mut usize,
    depth: usize,
) -> Option<(Node<'t>, usize, usize, usize)> {
    let mut p = Reader {
        text,
        b: text.as_bytes(),
        i,
        line,
        line_start,
        nodes: *nodes,
    };
    if !matches!(p.peek()?, b'{' | b'[') {
        return None;
    }
    let node = p.value(depth)?;
    *nodes = p.nodes;
    Some((node, p.i, p.line, p.line_start))
}

/// The escape at byte `i` of `text` (its backslash), JSON's set, which YAML reads the same;
/// `i` moves past it. `None` for any other (and for surrogates, which YAML readers disagree on).
pub(super) fn escape(text: &str, i: &mut usize) -> Option<char> {
    let c = *text.as_bytes().get(*i + 1)?;
    *i += 2;
    Some(match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hex = text.get(*i..*i + 4)?;
            *i += 4;
            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
        }
        _ => return None,
    })
}

/// The position of byte `i` on line `line`, which starts at byte `line_start`.
pub(super) fn pos_at(line: usize, i: usize, line_start: usize) -> Pos {
    let narrow = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Pos {
        line: narrow(line),
        column: narrow(i - line_start + 1),
    }
}

struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    line: usize,
    line_start: usize,
    nodes: usize,
}

impl<'t> Reader<'t> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn pos(&self) -> Pos {
        pos_at(self.line, self.i, self.line_start)
    }

    /// Skip JSON whitespace; a tab (or anything YAML might read differently) gives up.
    fn ws(&mut self) -> Option<()> {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                b'\t' => return None,
                _ => break,
            }
        }
        Some(())
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn value(&mut self, depth: usize) -> Option<Node<'t>> {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            return None;
        }
        let pos = self.pos();
        let value = match self.peek()? {
            b'{' => self.map(depth)?,
            b'[' => self.seq(depth)?,
            b'"' => Value::Scalar {
                text: self.string()?,
                plain: false,
            },
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => {
                self.literal("null")?;
                Value::Null
            }
            b'-' | b'0'..=b'9' => Value::Scalar {
                text: Cow::Borrowed(self.number()?),
                plain: true,
            },
            _ => return None,
        };
        Some(Node { pos, value })
    }

    fn literal(&mut self, word: &'static str) -> Option<Value<'t>> {
        let end = self.i + word.len();
        if self.b.get(self.i..end)? != word.as_bytes() {
            return None;
        }
        self.i = end;
        Some(Value::Scalar {
            text: Cow::Borrowed(word),
            plain: true,
        })
    }

    fn map(&mut self, depth: usize) -> Option<Value<'t>> {
        self.expect(b'{')?;
        let mut entries: Vec<Entry<'t>> = Vec::new();
        let mut keys: Option<HashSet<Cow<'t, str>>> = None;
        self.ws()?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Value::Map(entries));
        }
        loop {
            self.ws()?;
            let key_pos = self.pos();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            if key.len() > MAX_KEY {
                return None;
            }
            // duplicate keys are an error the YAML path reports with both positions
            let dup = match &mut keys {
                Some(set) => !set.insert(key.clone()),
                None if entries.len() >= 16 => {
                    let mut set: HashSet<Cow<'t, str>> =
                        entries.iter().map(|e| e.key.clone()).collect();
                    let dup = !set.insert(key.clone());
                    keys = Some(set);
                    dup
                }
                None => entries.iter().any(|e| e.key == key),
            };
            if dup {
                return None;
            }
            self.ws()?;
            self.expect(b':')?;
            self.ws()?;
            let value = self.value(depth + 1)?;
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
            self.ws()?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    entries.shrink_to_fit();
                    return Some(Value::Map(entries));
                }
                _ => return None,
            }
        }
    }

    fn seq(&mut self, depth: usize) -> Option<Value<'t>> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.ws()?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Value::Seq(items));
        }
        loop {
            self.ws()?;
            items.push(self.value(depth + 1)?);
            self.ws()?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    items.shrink_to_fit();
                    return Some(Value::Seq(items));
                }
                _ => return None,
            }
        }
    }

    /// A JSON string; borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'t, str>> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'"' => {
                    let s = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(s));
                }
                b'\\' => break,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let mut out = String::from(self.text.get(start..self.i)?);
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => out.push(escape(self.text, &mut self.i)?),
                c if c < 0x20 => return None,
                _ => {
                    // copy one UTF-8 character
                    let rest = self.text.get(self.i..)?;
                    let ch = rest.chars().next()?;
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }

    /// A JSON number, as written (the YAML reader keeps plain scalars' text too).
    fn number(&mut self) -> Option<&'t str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        self.text.get(start..self.i)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::file::{load_str, load_yaml, save_string_json};

    /// The fast path takes `text` and gives what the YAML path gives.
    fn same_as_yaml(text: &str) {
        assert!(parse(text).is_some(), "fast path declined:\n{text}");
        let fast = load_str(text, "t").map_err(|e| e.to_string());
        let slow = load_yaml(text, "t").map_err(|e| e.to_string());
        assert_eq!(fast, slow);
    }

    #[test]
    fn whole_worlds_read_the_same_through_both_paths() {
        let demo = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let text = save_string_json(&demo);
        same_as_yaml(&text);
        assert_eq!(load_str(&text, "demo.json").unwrap(), demo);
        let g = crate::devtools::worldgen::generate(&crate::devtools::worldgen::GenSpec::new(
            5,
            crate::devtools::worldgen::Size::Tiny,
            0.3,
        ))
        .unwrap();
        let text = save_string_json(&g.world);
        same_as_yaml(&text);
        assert_eq!(load_str(&text, "tiny.json").unwrap(), g.world);
    }

    #[test]
    fn scalars_read_the_same_through_both_paths() {
        let svc = |ann: &str, port: &str| {
            format!(
                r#"{{"apiVersion": "lbsg/v1", "kind": "World",
  "kubernetes": {{"items": [{{"apiVersion": "v1", "kind": "Service",
    "metadata": {{"name": "s", "namespace": "n", "annotations": {{"a": {ann}, "b/c": "", "d": "x:y"}}}},
    "spec": {{"type": "LoadBalancer", "ports": [{{"port": {port}, "protocol": "TCP"}}]}}}}]}}}}"#
            )
        };
        for ann in [
            r#""plain""#,
            r#""quo\"te \\ \/ \b\f\n\r\t""#,
            r#""caf\u00e9 \u4e2d""#,
            r#""é 中 ☃""#,
            r#""true""#,
            r#""~""#,
            r#""  spaced  ""#,
            r#""a,b=c""#,
        ] {
            same_as_yaml(&svc(ann, "80"));
        }
        for port in ["0", "65535", "-0", "8e1", "80.0", "99999999999", "-1"] {
            same_as_yaml(&svc(r#""v""#, port));
        }
    }

    #[test]
    fn declines_what_yaml_might_read_differently() {
        for text in [
            "{\"a\": 1, \"a\": 2}",
            "{\t\"a\": 1}",
            "{\"a\": \"\\ud83d\\ude00\"}",
            "{\"a\": 1} x",
            "{\"a\": [1, 2,]}",
            "{\"a\": 01}",
            "{\"a\": \"line\nbreak\"}",
            "[1]",
            "a: 1",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
        let long = format!("{{\"{}\": 1}}", "k".repeat(MAX_KEY + 1));
        assert!(parse(&long).is_none());
    }

    #[test]
    fn errors_in_json_files_come_located_from_the_yaml_path() {
        let text = r#"{"apiVersion": "lbsg/v1", "kind": "World", "aws": {"ec2": {"DescribeSecurityGroups": {"SecurityGroups": [
  {"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": "x"}]}]}}}}"#;
        let fast = load_str(text, "w.json").unwrap_err().to_string();
        assert_eq!(fast, load_yaml(text, "w.json").unwrap_err().to_string());
        assert!(fast.starts_with("w.json:2:"), "{fast}");
        let dup = "{\"apiVersion\": \"lbsg/v1\", \"kind\": \"World\", \"kind\": \"World\"}";
        assert!(
            load_str(dup, "d")
                .unwrap_err()
                .to_string()
                .contains("duplicate key")
        );
    }
}
