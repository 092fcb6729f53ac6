//! Building the located tree from the YAML event stream of `granit-parser`: anchors and
//! aliases (with a bound on what aliases expand), one document only, and syntax errors given
//! the field path of the node being read.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_saphyr::granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span};

use super::*;

/// Upper bound on nodes materialised by alias expansion, so a file of nested aliases cannot
/// exhaust memory. Nodes written out in the file are bounded by its size: a large world file
/// (the stretch world is 160 MB, ~9M nodes) is not an alias bomb.
const MAX_EXPANDED: usize = 5_000_000;

enum Frame<'t> {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node<'t>>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry<'t>>,
        key: Option<(Cow<'t, str>, Pos)>,
    },
}

struct Builder<'t> {
    stack: Vec<Frame<'t>>,
    anchors: HashMap<usize, (Node<'t>, usize)>,
    root: Option<Node<'t>>,
    /// Nodes copied in by aliases so far.
    expanded: usize,
}

impl<'t> Builder<'t> {
    /// The path of the node being read, for syntax errors.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path = format!("{path}[{}]", items.len()),
                Frame::Map {
                    key: Some((k, _)), ..
                } => path = push_key(&path, k),
                Frame::Map { key: None, .. } => {}
            }
        }
        path
    }

    fn problem(&self, pos: Pos, message: impl Into<String>) -> Problem {
        Problem::new(pos, &self.path(), message)
    }

    /// Places a finished node into its parent (or as the document root). `expanded` is the
    /// number of nodes an alias copies in (0 for a node written out).
    fn place(&mut self, node: Node<'t>, anchor: usize, expanded: usize) -> Res<()> {
        self.expanded += expanded;
        if self.expanded > MAX_EXPANDED {
            return Err(self.problem(node.pos, "document too large (alias expansion)"));
        }
        if anchor != 0 {
            let count = Self::count(&node);
            self.anchors.insert(anchor, (node.clone(), count));
        }
        let key_expected = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        if key_expected {
            let text = match node.value {
                Value::Null => Cow::Borrowed(""),
                Value::Scalar { text, .. } => text,
                Value::Seq(_) | Value::Map(_) => {
                    return Err(self.problem(
                        node.pos,
                        "expected a scalar mapping key, found a collection",
                    ));
                }
            };
            if let Some(Frame::Map { entries, .. }) = self.stack.last()
                && let Some(first) = entries.iter().find(|e| e.key == text)
            {
                let message = format!(
                    "duplicate key `{text}` (first given at line {})",
                    first.key_pos.line
                );
                let path = push_key(&self.path(), &text);
                return Err(Problem::new(node.pos, &path, message));
            }
            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                *key = Some((text, node.pos));
            }
            return Ok(());
        }
        if self.stack.is_empty() && self.root.is_some() {
            return Err(self.problem(node.pos, "expected a single YAML document"));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => {
                if let Some((k, key_pos)) = key.take() {
                    entries.push(Entry {
                        key: k,
                        key_pos,
                        value: node,
                    });
                }
            }
        }
        Ok(())
    }

    fn count(node: &Node<'_>) -> usize {
        1 + match &node.value {
            Value::Seq(items) => items.iter().map(Self::count).sum(),
            Value::Map(entries) => entries.iter().map(|e| Self::count(&e.value)).sum(),
            _ => 0,
        }
    }

    fn event(&mut self, event: Event<'t>, span: Span) -> Res<()> {
        let pos = Pos::of(&span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let plain = style == ScalarStyle::Plain && !forced_str;
                let value = if plain && is_null_text(&text) {
                    Value::Null
                } else {
                    Value::Scalar { text, plain }
                };
                self.place(Node { pos, value }, anchor, 0)
            }
            Event::SequenceStart(_, anchor, _) => {
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
                Ok(())
            }
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                // growth slack is up to half of a large document's tree: give it back
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        pos,
                        anchor,
                        mut items,
                    }) => {
                        items.shrink_to_fit();
                        (
                            Node {
                                pos,
                                value: Value::Seq(items),
                            },
                            anchor,
                        )
                    }
                    Some(Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        ..
                    }) => {
                        entries.shrink_to_fit();
                        (
                            Node {
                                pos,
                                value: Value::Map(entries),
                            },
                            anchor,
                        )
                    }
                    None => return Err(self.problem(pos, "unbalanced collection end")),
                };
                self.place(node, anchor, 0)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                // Checked before copying, so a nest of aliases is refused before it is built.
                Some((_, count)) if self.expanded + count > MAX_EXPANDED => {
                    Err(self.problem(pos, "document too large (alias expansion)"))
                }
                Some((node, count)) => {
                    let (mut node, count) = (node.clone(), *count);
                    node.pos = pos;
                    self.place(node, 0, count)
                }
                None => Err(self.problem(pos, "alias to an unknown anchor")),
            },
            Event::UnresolvedAlias(name) => {
                Err(self.problem(pos, format!("alias *{name} has no anchor")))
            }
            _ => Ok(()),
        }
    }
}

/// Parses one YAML (or JSON) document into a located tree. `Ok(None)` for an empty document.
pub(crate) fn parse(text: &str) -> Res<Option<Node<'_>>> {
    match build(text) {
        Ok(root) => Ok(root),
        Err(Failure::Located(p)) => Err(p),
        Err(Failure::Scan(e, path)) => Err(scan_problem(text, &e, path)),
    }
}

enum Failure {
    Located(Problem),
    /// A syntax error, with the path of the node being read when it happened.
    Scan(ScanError, String),
}

fn build(text: &str) -> Result<Option<Node<'_>>, Failure> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        expanded: 0,
    };
    for item in Parser::new_from_str(text) {
        match item {
            Ok((Event::DocumentStart(..), span)) if builder.root.is_some() => {
                return Err(Failure::Located(Problem::new(
                    Pos::of(&span),
                    "",
                    "expected a single YAML document, found a second one",
                )));
            }
            Ok((event, span)) => builder.event(event, span).map_err(Failure::Located)?,
            Err(e) => return Err(Failure::Scan(e, builder.path())),
        }
    }
    Ok(builder.root.take())
}

fn scan_problem(text: &str, e: &ScanError, path: String) -> Problem {
    let m = e.marker();
    let pos = Pos {
        line: narrow(m.line()),
        column: narrow(m.col() + 1),
    };
    if let ErrorKind::UnclosedFlowCollection { open } = e.kind() {
        // The scanner reports an unclosed `[`/`{` before emitting any event inside it, so the
        // path is not known yet. Close the brackets at the end and parse again to learn it.
        let path = path_of_unclosed(text, pos).unwrap_or(path);
        return Problem::new(
            pos,
            &path,
            format!(
                "invalid YAML/JSON: `{open}` is never closed (the file is truncated or a bracket is missing)"
            ),
        );
    }
    let mut message = format!("invalid YAML/JSON: {}", e.info());
    if m.index() >= text.chars().count() {
        message.push_str(" (the file ends early: truncated?)");
    }
    Problem::new(pos, &path, message)
}

/// The path of the collection starting at `pos`, found by appending the missing closers.
fn path_of_unclosed(text: &str, pos: Pos) -> Option<String> {
    let mut repaired = text.to_string();
    for _ in 0..256 {
        match build(&repaired) {
            Ok(Some(root)) => return find_path(&root, pos, String::new()),
            Err(Failure::Scan(e, _)) => match e.kind() {
                ErrorKind::UnclosedFlowCollection { open } => {
                    repaired.push(if *open == '[' { ']' } else { '}' });
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    None
}

fn find_path(node: &Node<'_>, pos: Pos, path: String) -> Option<String> {
    if node.pos == pos && matches!(node.value, Value::Seq(_) | Value::Map(_)) {
        return Some(path);
    }
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, n)| find_path(n, pos, format!("{path}[{i}]"))),
        Value::Map(entries) => entries
            .iter()
            .find_map(|e| find_path(&e.value, pos, push_key(&path, &e.key))),
        _ => None,
    }
}
