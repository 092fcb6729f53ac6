//! A YAML/JSON document as a tree of nodes that remember where they were written, and a cursor
//! over that tree that knows the field path it followed, so every error names file position,
//! field path and what was expected.
//!
//! The tree is built from the YAML event stream of `granit-parser` (the parser under
//! serde-saphyr, re-exported by it) rather than through serde, for two reasons: every node keeps
//! its line and column, and scalars keep their source text and quoting, so `"80"` (a string) and
//! `80` (an integer) stay distinct and `on` is never silently turned into a boolean.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_saphyr::granit_parser::Span;

mod build;
pub(crate) use build::parse;

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    // u32 keeps every node of a large document 8 bytes smaller
    pub line: u32,
    pub column: u32,
}

fn narrow(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Pos {
    fn of(span: &Span) -> Self {
        Pos {
            line: narrow(span.start.line()),
            column: narrow(span.start.col() + 1),
        }
    }
}

/// What went wrong, where: the position, the field path and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// Field path such as `aws.ec2.DescribeSecurityGroups.SecurityGroups[3].IpPermissions[0].FromPort`;
    /// empty for the document itself.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(pos: Pos, path: &str, message: impl Into<String>) -> Self {
        Problem {
            line: pos.line as usize,
            column: pos.column as usize,
            path: path.to_string(),
            message: message.into(),
        }
    }
}

pub(crate) type Res<T> = Result<T, Problem>;

/// Scalars and keys borrow from the source text where the parser allows it (most do), which
/// keeps a large world file from turning into millions of small allocations.
#[derive(Debug, Clone)]
pub(crate) enum Value<'t> {
    Null,
    /// `plain` is false for quoted, block and `!!str`-tagged scalars: those are always text.
    Scalar {
        text: Cow<'t, str>,
        plain: bool,
    },
    Seq(Vec<Node<'t>>),
    Map(Vec<Entry<'t>>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node<'t> {
    pub pos: Pos,
    pub value: Value<'t>,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry<'t> {
    pub key: Cow<'t, str>,
    pub key_pos: Pos,
    pub value: Node<'t>,
}

impl<'t> Node<'t> {
    /// Takes the value of `key` out of this mapping, leaving null in its place; `None` when
    /// this is not a mapping or the value is absent or null.
    pub fn take(&mut self, key: &str) -> Option<Node<'t>> {
        let Value::Map(entries) = &mut self.value else {
            return None;
        };
        let e = entries.iter_mut().find(|e| e.key == key)?;
        let pos = e.value.pos;
        let taken = std::mem::replace(
            &mut e.value,
            Node {
                pos,
                value: Value::Null,
            },
        );
        (!matches!(taken.value, Value::Null)).then_some(taken)
    }
}

/// Plain scalars that mean null in the YAML core schema.
pub(crate) fn is_null_text(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

/// Appends a mapping key to a path: `.key` for identifier-like keys, `["key"]` otherwise.
pub(crate) fn push_key(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Scalar { text, plain: true } => format!("`{text}`"),
        Value::Scalar { text, plain: false } => format!("the string {text:?}"),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

/// A node plus the document it is in. Its field path is worked out only when a message needs
/// it, by finding the node in the document (reading a large file builds no path strings), so
/// a problem must only be built for an actual error, never to test a value.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    pub node: &'a Node<'a>,
    root: &'a Node<'a>,
    /// The path of `root` in the document (empty for the document itself): a section taken
    /// out of the document to be read and dropped on its own still names full paths.
    prefix: &'a str,
}

/// The path of `target` (by address) under `node`, reached by `path`.
fn path_to(node: &Node<'_>, target: *const Node<'_>, path: &mut String) -> bool {
    if std::ptr::eq(node, target) {
        return true;
    }
    let len = path.len();
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                if path_to(item, target, path) {
                    return true;
                }
                path.truncate(len);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                let with_key = push_key(path, &e.key);
                let saved = std::mem::replace(path, with_key);
                if path_to(&e.value, target, path) {
                    return true;
                }
                *path = saved;
            }
        }
        _ => {}
    }
    false
}

impl<'a> At<'a> {
    pub fn root(node: &'a Node<'a>) -> Self {
        Self::section(node, "")
    }

    /// A subtree taken out of its document, found there at `prefix`.
    pub fn section(node: &'a Node<'a>, prefix: &'a str) -> Self {
        At {
            node,
            root: node,
            prefix,
        }
    }

    fn child(&self, node: &'a Node<'a>) -> Self {
        At {
            node,
            root: self.root,
            prefix: self.prefix,
        }
    }

    /// The field path of this node (`aws.ec2.DescribeSecurityGroups.SecurityGroups[3]`).
    pub fn path(&self) -> String {
        let mut path = self.prefix.to_string();
        if path_to(self.root, self.node, &mut path) {
            path
        } else {
            String::new()
        }
    }

    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    /// A problem located at this node.
    pub fn err(&self, message: impl Into<String>) -> Problem {
        Problem::new(self.node.pos, &self.path(), message)
    }

    fn expected(&self, what: &str) -> Problem {
        self.err(format!(
            "expected {what}, found {}",
            describe(&self.node.value)
        ))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.node.value, Value::Null)
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.node.value, Value::Seq(_))
    }

    pub fn is_map(&self) -> bool {
        matches!(self.node.value, Value::Map(_))
    }

    /// The mapping's entries with their cursors, in document order.
    pub fn entries(&self) -> Res<Vec<(&'a str, At<'a>)>> {
        match &self.node.value {
            Value::Map(entries) => Ok(entries
                .iter()
                .map(|e| {
                    let key: &'a str = &e.key;
                    (key, self.child(&e.value))
                })
                .collect()),
            _ => Err(self.expected("a mapping")),
        }
    }

    /// Rejects keys outside `allowed` (used for lbsg's own sections, never for AWS/kube objects).
    pub fn only_keys(&self, allowed: &[&str]) -> Res<()> {
        let Value::Map(entries) = &self.node.value else {
            return Err(self.expected("a mapping"));
        };
        for e in entries {
            if !allowed.contains(&e.key.as_ref()) {
                return Err(Problem::new(
                    e.key_pos,
                    &push_key(&self.path(), &e.key),
                    format!(
                        "unknown field `{}`; expected one of: {}",
                        e.key,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A field of this mapping; `None` when absent or null (kubectl prints `null` for unset fields).
    pub fn get(&self, key: &str) -> Res<Option<At<'a>>> {
        let Value::Map(entries) = &self.node.value else {
            return Err(self.expected("a mapping"));
        };
        Ok(entries
            .iter()
            .find(|e| e.key == key)
            .filter(|e| !matches!(e.value.value, Value::Null))
            .map(|e| self.child(&e.value)))
    }

    /// A required field of this mapping.
    pub fn req(&self, key: &str) -> Res<At<'a>> {
        self.get(key)?.ok_or_else(|| self.missing(key))
    }

    /// The problem of a required field that is absent: at the mapping, naming the field.
    pub fn missing(&self, key: &str) -> Problem {
        Problem::new(
            self.node.pos,
            &push_key(&self.path(), key),
            format!("missing required field `{key}`"),
        )
    }

    /// Any scalar, as written (text fields accept `80` or `true` as the text they spell).
    pub fn str(&self) -> Res<String> {
        match &self.node.value {
            Value::Scalar { text, .. } => Ok(text.to_string()),
            _ => Err(self.expected("a string")),
        }
    }

    #[cfg(test)]
    pub fn i64(&self) -> Res<i64> {
        self.int_value().ok_or_else(|| self.expected("an integer"))
    }

    /// The integer a plain scalar spells, if it spells one (no problem is built: a problem
    /// finds its node's path, which costs a walk of the document).
    pub fn int_value(&self) -> Option<i64> {
        match &self.node.value {
            Value::Scalar { text, plain: true } => {
                text.strip_prefix('+').unwrap_or(text).parse::<i64>().ok()
            }
            _ => None,
        }
    }

    /// An integer within `lo..=hi`.
    pub fn int_in(&self, lo: i64, hi: i64) -> Res<i32> {
        let v = self
            .int_value()
            .ok_or_else(|| self.expected(&format!("an integer from {lo} to {hi}")))?;
        if v < lo || v > hi {
            return Err(self.err(format!("expected an integer from {lo} to {hi}, found {v}")));
        }
        i32::try_from(v).map_err(|_| self.err(format!("integer {v} out of range")))
    }

    pub fn i32(&self) -> Res<i32> {
        self.int_in(i64::from(i32::MIN), i64::from(i32::MAX))
    }

    /// A TCP/UDP port number.
    pub fn port(&self) -> Res<i32> {
        self.int_in(0, 65535)
    }

    pub fn bool(&self) -> Res<bool> {
        match &self.node.value {
            Value::Scalar { text, plain: true } => match text.as_ref() {
                "true" | "True" | "TRUE" => Ok(true),
                "false" | "False" | "FALSE" => Ok(false),
                _ => Err(self.expected("true or false")),
            },
            _ => Err(self.expected("true or false")),
        }
    }

    /// The items of a list.
    pub fn seq(&self) -> Res<Vec<At<'a>>> {
        match &self.node.value {
            Value::Seq(items) => Ok(items.iter().map(|node| self.child(node)).collect()),
            _ => Err(self.expected("a list")),
        }
    }

    /// An IPv4 CIDR (AWS never returns a malformed one, so a bad one means a broken file).
    pub fn cidr_v4(&self) -> Res<String> {
        let t = self.str()?;
        t.parse::<ipnet::Ipv4Net>().map(|_| t.clone()).map_err(|_| {
            self.err(format!(
                "expected an IPv4 CIDR such as 10.0.0.0/16, found {t:?}"
            ))
        })
    }

    /// An IPv6 CIDR.
    pub fn cidr_v6(&self) -> Res<String> {
        let t = self.str()?;
        t.parse::<ipnet::Ipv6Net>().map(|_| t.clone()).map_err(|_| {
            self.err(format!(
                "expected an IPv6 CIDR such as 2600:1f18::/56, found {t:?}"
            ))
        })
    }

    /// An IPv4 address.
    pub fn ip_v4(&self) -> Res<String> {
        let t = self.str()?;
        t.parse::<std::net::Ipv4Addr>()
            .map(|_| t.clone())
            .map_err(|_| self.err(format!("expected an IPv4 address, found {t:?}")))
    }

    /// An IPv6 address.
    pub fn ip_v6(&self) -> Res<String> {
        let t = self.str()?;
        t.parse::<std::net::Ipv6Addr>()
            .map(|_| t.clone())
            .map_err(|_| self.err(format!("expected an IPv6 address, found {t:?}")))
    }

    // Shorthands for optional fields; absent or null reads as "not given".

    pub fn opt_str(&self, key: &str) -> Res<Option<String>> {
        self.get(key)?.map(|f| f.str()).transpose()
    }

    pub fn req_str(&self, key: &str) -> Res<String> {
        self.req(key)?.str()
    }

    /// A string field that defaults to empty.
    pub fn str_or_empty(&self, key: &str) -> Res<String> {
        Ok(self.opt_str(key)?.unwrap_or_default())
    }

    pub fn opt_i32(&self, key: &str) -> Res<Option<i32>> {
        self.get(key)?.map(|f| f.i32()).transpose()
    }

    pub fn opt_port(&self, key: &str) -> Res<Option<i32>> {
        self.get(key)?.map(|f| f.port()).transpose()
    }

    pub fn opt_bool(&self, key: &str) -> Res<Option<bool>> {
        self.get(key)?.map(|f| f.bool()).transpose()
    }

    /// A list field; absent or null reads as empty.
    pub fn list(&self, key: &str) -> Res<Vec<At<'a>>> {
        match self.get(key)? {
            Some(f) => f.seq(),
            None => Ok(Vec::new()),
        }
    }

    /// A list of strings; absent reads as empty.
    pub fn str_list(&self, key: &str) -> Res<Vec<String>> {
        self.list(key)?.iter().map(At::str).collect()
    }

    /// A `string → string` mapping (labels, annotations, selectors); absent reads as empty.
    pub fn str_map(&self, key: &str) -> Res<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        if let Some(f) = self.get(key)? {
            for (k, v) in f.entries()? {
                out.insert(
                    k.to_string(),
                    if v.is_null() { String::new() } else { v.str()? },
                );
            }
        }
        Ok(out)
    }
}

/// Remembers where each id was first seen, to reject duplicates with both positions.
#[derive(Default)]
pub(crate) struct Unique<'a> {
    seen: HashMap<String, At<'a>>,
}

impl<'a> Unique<'a> {
    /// Records `id` (of a `what`, read at `at`); an error if that `what` was seen before.
    pub fn check(&mut self, what: &str, id: &str, at: &At<'a>) -> Res<()> {
        let key = format!("{what}\0{id}");
        if let Some(first) = self.seen.get(&key) {
            return Err(at.err(format!(
                "duplicate {what} `{id}` (also at {}, line {})",
                first.path(),
                first.pos().line
            )));
        }
        self.seen.insert(key, at.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node<'_> {
        parse(text).unwrap().unwrap()
    }

    #[test]
    fn keeps_positions_and_scalar_kinds() {
        let n = root("a:\n  b: [1, \"2\", on]\n  c: ~\n");
        let a = At::root(&n).req("a").unwrap();
        let b = a.req("b").unwrap().seq().unwrap();
        assert_eq!(b[0].i64().unwrap(), 1);
        assert_eq!((b[0].pos().line, b[0].pos().column), (2, 7));
        let e = b[1].i64().unwrap_err();
        assert_eq!(e.path, "a.b[1]");
        assert!(
            e.message
                .contains("expected an integer, found the string \"2\""),
            "{e:?}"
        );
        assert_eq!(b[2].str().unwrap(), "on");
        assert!(a.get("c").unwrap().is_none());
        let e = a.req("c").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("a.c", 2));
    }

    #[test]
    fn json_is_read_the_same_way() {
        let n = root("{\"A\": {\"B\": [ {\"C\": -1} ]}}");
        let c = At::root(&n).req("A").unwrap().list("B").unwrap()[0]
            .req("C")
            .unwrap();
        assert_eq!(c.int_in(-1, 65535).unwrap(), -1);
        assert_eq!(c.path(), "A.B[0].C");
    }

    #[test]
    fn duplicate_keys_and_truncation_are_located() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.line, e.column, e.path.as_str()), (3, 1, "a"));
        assert!(e.message.contains("first given at line 1"));
        let e = parse("{\"a\": [1, 2").unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
        assert_eq!((e.line, e.column, e.path.as_str()), (1, 7, "a"));
        let e = parse("x:\n  - a: 1\n  - b: \"unterminated\n").unwrap_err();
        assert_eq!(e.path, "x[1].b");
    }

    #[test]
    fn a_section_taken_out_keeps_its_paths() {
        let mut n = root("a:\n  b: [1, x]\n  c: ~\n");
        let mut a = n.take("a").unwrap();
        assert!(a.take("c").is_none() && a.take("zz").is_none());
        let b = a.take("b").unwrap();
        let e = At::section(&b, "a.b").seq().unwrap()[1].i64().unwrap_err();
        assert_eq!((e.path.as_str(), e.line, e.column), ("a.b[1]", 2, 10));
        // What was taken reads as null where it was.
        assert!(At::root(&n).get("a").unwrap().is_none());
        assert!(At::root(&a).get("b").unwrap().is_none());
    }

    #[test]
    fn odd_keys_are_bracketed_in_paths() {
        assert_eq!(
            push_key("m", "service.k8s.aws/stack"),
            "m[\"service.k8s.aws/stack\"]"
        );
        assert_eq!(push_key("", "aws"), "aws");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("too large"), "{e:?}");
    }

    #[test]
    fn aliases_are_expanded() {
        let n = root("a: &x {p: 1}\nb: *x\n");
        let b = At::root(&n).req("b").unwrap();
        assert_eq!(b.req("p").unwrap().i64().unwrap(), 1);
        assert_eq!(b.pos().line, 2);
    }
}
