//! A fast path for world files in block YAML, as `kubectl get -o yaml` and `lbsg` print them:
//! mappings and sequences by indentation, plain and quoted one-line scalars, literal block
//! scalars (`last-applied-configuration`), and flow collections, which the JSON reader reads.
//! Several times faster than the general YAML reader on large files.
//!
//! Like the JSON fast path it only ever *accepts*: anything outside that subset, or that YAML
//! might read differently (tabs, anchors, tags, multi-line plain or quoted scalars, folded
//! scalars, unusual keys, duplicate keys, non-printable characters…), makes it give up, and the
//! YAML reader reads the file. Errors therefore always come from the YAML reader; positions in
//! this tree are best effort and never reach a message.

use std::borrow::Cow;
use std::collections::HashSet;

use super::json::{self, MAX_DEPTH, MAX_KEY, MAX_NODES};
use super::located::{Entry, Node, Pos, Value, is_null_text};

/// The tree of a block YAML document, or `None` when the YAML reader must read it.
pub(crate) fn parse(text: &str) -> Option<Node<'_>> {
    if !text.chars().all(printable) || !text.ends_with('\n') {
        return None;
    }
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        nodes: 0,
    };
    let mut indent = r.next_content()?;
    if r.rest_of_line().trim_end_matches(' ') == "---" {
        r.next_line();
        indent = r.next_content()?;
    }
    if indent != 0 || r.at_dash() {
        return None;
    }
    let root = r.mapping(0, 0)?;
    r.next_content().is_none().then_some(root)
}

/// What YAML accepts outside quoted scalars; tabs and carriage returns, which it also accepts,
/// have rules of their own (as does a byte order mark): those files take the YAML reader.
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
        || c >= '\u{10000}'
}

struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    /// Byte offset; at a line start between nodes.
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
        json::pos_at(self.line, self.i, self.line_start)
    }

    fn count(&mut self, depth: usize) -> Option<()> {
        self.nodes += 1;
        (depth <= MAX_DEPTH && self.nodes <= MAX_NODES).then_some(())
    }

    fn line_end(&self) -> usize {
        self.b[self.i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |p| self.i + p)
    }

    fn rest_of_line(&self) -> &'t str {
        self.text.get(self.i..self.line_end()).unwrap_or_default()
    }

    /// Moves to the start of the next line.
    fn next_line(&mut self) {
        self.i = (self.line_end() + 1).min(self.b.len());
        self.line += 1;
        self.line_start = self.i;
    }

    /// From a line start, skips blank and comment lines; the indentation of the next line
    /// with content (left at its start), `None` at the end of the text.
    fn next_content(&mut self) -> Option<usize> {
        while self.i < self.b.len() {
            let indent = self.b[self.i..].iter().take_while(|&&c| c == b' ').count();
            match self.b.get(self.i + indent) {
                Some(b'\n') | Some(b'#') | None => self.next_line(),
                Some(_) => return Some(indent),
            }
        }
        None
    }

    /// At a sequence entry's `-`.
    fn at_dash(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.b.get(self.i + 1), None | Some(b' ' | b'\n'))
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// After a node on this line: spaces, maybe a comment, then the line's end.
    fn end_of_line(&mut self) -> Option<()> {
        let start = self.i;
        self.skip_spaces();
        match self.peek() {
            Some(b'\n') | None => {}
            Some(b'#') if self.i > start => {}
            _ => return None,
        }
        self.next_line();
        Some(())
    }

    /// A block mapping whose keys are at column `n`, the first at the cursor.
    fn mapping(&mut self, n: usize, depth: usize) -> Option<Node<'t>> {
        self.count(depth)?;
        let pos = self.pos();
        let mut entries: Vec<Entry<'t>> = Vec::new();
        let mut keys: Option<HashSet<Cow<'t, str>>> = None;
        loop {
            let key_pos = self.pos();
            let key = self.key()?;
            // duplicate keys are an error the YAML reader reports with both positions
            let dup = match &mut keys {
                Some(set) => !set.insert(key.clone()),
                None if entries.len() >= 16 => {
                    let mut set: HashSet<_> = entries.iter().map(|e| e.key.clone()).collect();
                    let dup = !set.insert(key.clone());
                    keys = Some(set);
                    dup
                }
                None => entries.iter().any(|e| e.key == key),
            };
            if dup {
                return None;
            }
            let value = self.value(n, true, depth + 1)?;
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
            match self.next_content() {
                Some(indent) if indent == n => {
                    self.i += indent;
                    if self.at_dash() {
                        return None;
                    }
                }
                Some(indent) if indent > n => return None,
                _ => break,
            }
        }
        entries.shrink_to_fit();
        Some(Node {
            pos,
            value: Value::Map(entries),
        })
    }

    /// A block sequence whose `-` are at column `n`, the first at the cursor.
    fn sequence(&mut self, n: usize, depth: usize) -> Option<Node<'t>> {
        self.count(depth)?;
        let pos = self.pos();
        let mut items = Vec::new();
        loop {
            self.i += 1;
            self.skip_spaces();
            let item = if self.at_dash() {
                return None;
            } else if self.is_key() {
                let column = self.i - self.line_start;
                self.mapping(column, depth + 1)?
            } else {
                self.value(n, false, depth + 1)?
            };
            items.push(item);
            match self.next_content() {
                Some(indent) if indent == n => {
                    self.i += indent;
                    if !self.at_dash() {
                        // a key of the mapping this sequence is the value of
                        self.i = self.line_start;
                        break;
                    }
                }
                Some(indent) if indent > n => return None,
                _ => break,
            }
        }
        items.shrink_to_fit();
        Some(Node {
            pos,
            value: Value::Seq(items),
        })
    }

    /// Whether a mapping key starts at the cursor (reads nothing).
    fn is_key(&mut self) -> bool {
        let (i, line, line_start) = (self.i, self.line, self.line_start);
        let found = self.key().is_some();
        (self.i, self.line, self.line_start) = (i, line, line_start);
        found
    }

    /// A key and its `:`. A plain key starts with a letter, digit, `_`, `/` or `.` (what
    /// Kubernetes and AWS keys start with) and holds no space.
    fn key(&mut self) -> Option<Cow<'t, str>> {
        let key = match self.peek()? {
            b'"' => self.double_quoted()?,
            b'\'' => self.single_quoted(None)?,
            c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'/' | b'.') => {
                let start = self.i;
                // After its first character a plain key may hold indicators, and `:` unless
                // a space or the line's end follows (managed fields' `f:metadata`,
                // `k:{"port":443}`); spaces would need YAML's rules.
                while let Some(c) = self.peek() {
                    let next_ends = matches!(self.b.get(self.i + 1), None | Some(b' ' | b'\n'));
                    if !matches!(c, b' ' | b'\n' | b':') || (c == b':' && !next_ends) {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let key = self.text.get(start..self.i)?;
                // `null: x` has an empty key in YAML; `---` and `...` mark documents
                if is_null_text(key) || key.starts_with("---") || key.starts_with("...") {
                    return None;
                }
                Cow::Borrowed(key)
            }
            _ => return None,
        };
        if key.len() > MAX_KEY || self.peek()? != b':' {
            return None;
        }
        self.i += 1;
        matches!(self.peek(), None | Some(b' ' | b'\n')).then_some(key)
    }

    /// The value after a key's `:` (or a sequence entry's `-`) at column `n`; `indentless`
    /// when a sequence at column `n` may be it (a mapping value, as kubectl prints lists).
    fn value(&mut self, n: usize, indentless: bool, depth: usize) -> Option<Node<'t>> {
        let start = self.i;
        self.skip_spaces();
        let pos = self.pos();
        match self.peek() {
            Some(b'#') if self.i > start => self.next_line(),
            Some(b'\n') | None => self.next_line(),
            Some(b'|') => return self.literal(n, depth),
            Some(b'"') => {
                self.count(depth)?;
                let text = self.double_quoted()?;
                self.end_of_line()?;
                return Some(scalar(pos, text, false));
            }
            Some(b'\'') => {
                self.count(depth)?;
                let text = self.single_quoted(Some(n))?;
                self.end_of_line()?;
                return Some(scalar(pos, text, false));
            }
            Some(b'{' | b'[') => return self.flow(n, depth),
            Some(_) => return self.plain(pos, depth),
        }
        // The value is on the lines below (a block collection, or JSON pasted under its key),
        // or empty.
        let Some(indent) = self.next_content() else {
            self.count(depth)?;
            return Some(Node {
                pos,
                value: Value::Null,
            });
        };
        self.i += indent;
        if indent > n || (indent == n && indentless && self.at_dash()) {
            return if self.at_dash() {
                self.sequence(indent, depth)
            } else if matches!(self.peek(), Some(b'{' | b'[')) {
                self.flow(n, depth)
            } else {
                self.mapping(indent, depth)
            };
        }
        self.count(depth)?;
        self.i = self.line_start;
        Some(Node {
            pos,
            value: Value::Null,
        })
    }

    /// A plain one-line scalar.
    fn plain(&mut self, pos: Pos, depth: usize) -> Option<Node<'t>> {
        self.count(depth)?;
        let first = self.peek()?;
        let starts_plain = !b"-?:,[]{}#&*!|>'\"%@`".contains(&first)
            || (first == b'-' && !matches!(self.b.get(self.i + 1), None | Some(b' ' | b'\n')));
        if !starts_plain {
            return None;
        }
        let line = self.rest_of_line();
        let text = line
            .find(" #")
            .map_or(line, |c| &line[..c])
            .trim_end_matches(' ');
        if text.contains(": ") || text.ends_with(':') {
            return None;
        }
        self.next_line();
        Some(if is_null_text(text) {
            Node {
                pos,
                value: Value::Null,
            }
        } else {
            scalar(pos, Cow::Borrowed(text), true)
        })
    }

    /// A flow collection, read by the JSON reader; its lines below the first must be indented
    /// past column `n`.
    fn flow(&mut self, n: usize, depth: usize) -> Option<Node<'t>> {
        let (node, end, line, line_start) = json::flow_value(
            self.text,
            self.i,
            self.line,
            self.line_start,
            &mut self.nodes,
            depth,
        )?;
        let mut lines = self.text.get(self.i..end)?.split('\n').skip(1);
        if !lines.all(|l| l.bytes().take_while(|&c| c == b' ').count() > n) {
            return None;
        }
        (self.i, self.line, self.line_start) = (end, line, line_start);
        self.end_of_line()?;
        Some(node)
    }

    /// A literal block scalar (`|`, `|-`, `|+`) under a node at column `n`.
    fn literal(&mut self, n: usize, depth: usize) -> Option<Node<'t>> {
        self.count(depth)?;
        let pos = self.pos();
        self.i += 1;
        let chomp = match self.peek() {
            Some(c @ (b'-' | b'+')) => {
                self.i += 1;
                c
            }
            _ => b' ',
        };
        self.end_of_line()?;
        // The first line gives the indentation; a leading blank line would need YAML's rules.
        let m = self.b[self.i..].iter().take_while(|&&c| c == b' ').count();
        if matches!(self.b.get(self.i + m), Some(b'\n')) {
            return None;
        }
        let mut text = String::new();
        if m > n && self.i + m < self.b.len() {
            while self.i < self.b.len() {
                let line = self.rest_of_line();
                let indent = line.bytes().take_while(|&c| c == b' ').count();
                if indent == line.len() {
                    // a blank line: more spaces than the indentation would be content
                    if indent > m {
                        return None;
                    }
                    text.push('\n');
                } else if indent >= m {
                    text.push_str(&line[m..]);
                    text.push('\n');
                } else {
                    break;
                }
                self.next_line();
            }
        }
        match chomp {
            b'+' => {}
            b'-' => text.truncate(text.trim_end_matches('\n').len()),
            _ => {
                let kept = text.trim_end_matches('\n').len();
                text.truncate(if kept == 0 { 0 } else { kept + 1 });
            }
        }
        Some(scalar(pos, Cow::Owned(text), false))
    }

    /// A double-quoted scalar on one line, with JSON's escapes; borrowed when it has none.
    fn double_quoted(&mut self) -> Option<Cow<'t, str>> {
        self.i += 1;
        let start = self.i;
        let mut out: Option<String> = None;
        loop {
            match self.peek()? {
                b'"' => {
                    let s = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(out.map_or(Cow::Borrowed(s), Cow::Owned));
                }
                b'\n' => return None,
                b'\\' => {
                    if out.is_none() {
                        out = Some(self.text.get(start..self.i)?.to_string());
                    }
                    let ch = json::escape(self.text, &mut self.i)?;
                    out.as_mut()?.push(ch);
                }
                _ => {
                    let ch = self.text.get(self.i..)?.chars().next()?;
                    if let Some(o) = &mut out {
                        o.push(ch);
                    }
                    self.i += ch.len_utf8();
                }
            }
        }
    }

    /// A single-quoted scalar (`''` is a quote); borrowed when it is one line without `''`.
    /// A value (`fold` is its parent's column) may go on over lines indented past that column,
    /// folded as YAML folds them (kubectl wraps long messages so); a key may not.
    fn single_quoted(&mut self, fold: Option<usize>) -> Option<Cow<'t, str>> {
        self.i += 1;
        let start = self.i;
        let mut out: Option<String> = None;
        loop {
            match self.peek()? {
                b'\'' if self.b.get(self.i + 1) == Some(&b'\'') => {
                    if out.is_none() {
                        out = Some(self.text.get(start..self.i)?.to_string());
                    }
                    out.as_mut()?.push('\'');
                    self.i += 2;
                }
                b'\'' => {
                    let s = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(out.map_or(Cow::Borrowed(s), Cow::Owned));
                }
                b'\n' => {
                    let n = fold?;
                    let o = match out.as_mut() {
                        Some(o) => o,
                        None => out.insert(self.text.get(start..self.i)?.to_string()),
                    };
                    o.truncate(o.trim_end_matches(' ').len());
                    if o.is_empty() {
                        return None;
                    }
                    // Blank lines are kept as line breaks; one break between text is a space.
                    let mut breaks = 0;
                    loop {
                        self.next_line();
                        let indent = self.b[self.i..].iter().take_while(|&&c| c == b' ').count();
                        match self.b.get(self.i + indent) {
                            Some(b'\n') => breaks += 1,
                            Some(_) if indent > n => {
                                self.i += indent;
                                break;
                            }
                            _ => return None,
                        }
                    }
                    if breaks == 0 {
                        o.push(' ');
                    }
                    o.extend(std::iter::repeat_n('\n', breaks));
                }
                _ => {
                    let ch = self.text.get(self.i..)?.chars().next()?;
                    if let Some(o) = &mut out {
                        o.push(ch);
                    }
                    self.i += ch.len_utf8();
                }
            }
        }
    }
}

fn scalar(pos: Pos, text: Cow<'_, str>, plain: bool) -> Node<'_> {
    Node {
        pos,
        value: Value::Scalar { text, plain },
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
