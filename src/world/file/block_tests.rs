//! The block fast path against the YAML reader: whatever it accepts, it reads as YAML does.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;
use crate::world::file::located;
use crate::world::file::{load_str, load_yaml, save_string};

/// A node without positions, to compare trees.
fn shape(n: &Node<'_>) -> String {
    match &n.value {
        Value::Null => "~".into(),
        Value::Scalar { text, plain } => format!("{}{text:?}", if *plain { "p" } else { "q" }),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|e| format!("{:?}:{}", e.key, shape(&e.value)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// When the fast path accepts `text`, the YAML reader reads the same tree from it.
fn agrees(text: &str) -> Result<bool, String> {
    let Some(fast) = parse(text) else {
        return Ok(false);
    };
    match located::parse(text) {
        Ok(Some(slow)) if shape(&slow) == shape(&fast) => Ok(true),
        Ok(Some(slow)) => Err(format!(
            "{text:?}\nfast {}\nyaml {}",
            shape(&fast),
            shape(&slow)
        )),
        other => Err(format!("{text:?}: fast path accepted, YAML gave {other:?}")),
    }
}

fn accepted(text: &str) {
    assert_eq!(agrees(text), Ok(true), "{text}");
}

#[test]
fn whole_worlds_take_the_fast_path_and_read_the_same() {
    // The hand-written demo uses flow mappings with plain scalars (`{Key: Name, Value: x}`),
    // which the JSON reader leaves to the YAML reader; lbsg's own YAML of it takes the fast path.
    // So does the hand-written paged one (`args: [proxy, sidecar]`).
    let read = |f: &str| {
        let path = format!("{}/tests/worlds/{f}.yaml", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    };
    assert_eq!(agrees(crate::cli::source::DEMO_WORLD), Ok(false));
    assert_eq!(agrees(&read("paged-and-partial")), Ok(false));
    let mut texts = vec![read("real-cli-output"), read("minimal")];
    let demo = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
    texts.push(save_string(&demo));
    let g = crate::devtools::worldgen::generate(&crate::devtools::worldgen::GenSpec::new(
        5,
        crate::devtools::worldgen::Size::Tiny,
        0.3,
    ))
    .unwrap();
    texts.push(save_string(&g.world));
    for text in &texts {
        accepted(text);
        let fast = load_str(text, "t").map_err(|e| e.to_string());
        assert_eq!(fast, load_yaml(text, "t").map_err(|e| e.to_string()));
        assert!(fast.is_ok());
    }
}

#[test]
fn kubectl_shapes_read_the_same() {
    accepted(
        r#"---
# a comment
a:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Service"}
    b: |-
      line one
        indented # not a comment

      after a blank
    c: |+
      kept

    d: ""
    e: ''
    f: 'it''s'
    g: "tab\there \u00e9 \"q\""
    h: 'Failed build model due to couldn''t find all security groups: requested
      3, found

      2 ''end''   '
  status: {}
  list: []
  flow: {"x": [1, "2", null, true], "y": {}}
  multi: {
      "x": 1
    }
  f:metadata:
    .: {}
    f:name: {}
  items:
  - name: x   # trailing comment
    port: -1
    host: http://a:b/c
    v: a,b=c
  -   indented: 1
      more: 2
  -
    below: 1
  - plain
  - "quoted"
  - ~
  -
empty:
null_value: null
tilde: ~
"quoted key": 1
'single key': 2
z: 0x1F
"#,
    );
}

#[test]
fn declines_what_yaml_might_read_differently() {
    for text in [
        "a: 1\na: 2\n",
        "a: b: c\n",
        "a:\n  multi\n  line\n",
        "a: plain\n  continued\n",
        "a: \"two\n  lines\"\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: >\n  folded\n",
        "a: |2\n   x\n",
        "a: |\n\n  leading blank\n",
        "a:\t1\n",
        "a: 1\r\n",
        "a: 1",
        "? a\n: 1\n",
        "- a\n",
        "a: 1\n- b\n",
        "a:\n  - b\n  c: 1\n",
        "a: 1\n  b: 2\n",
        "null: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
        "a: \"\\x41\"\n",
        "a: \"\\ud83d\\ude00\"\n",
        "a: {b: 1}\n",
        "a: [1,\n2]\n",
        "a: \u{7f}\n",
        "a: - b\n",
        "a: @x\n",
        "a: `x`\n",
        "a:\n- - x\n",
        "\u{feff}a: 1\n",
        "a: x\u{feff}y\n",
    ] {
        assert_eq!(agrees(text), Ok(false), "{text:?}");
    }
    let long = format!("{}: 1\n", "k".repeat(MAX_KEY + 1));
    assert_eq!(agrees(&long), Ok(false));
}

/// Lines from the corners of block YAML: indentation, indicators, quotes, comments.
fn line() -> impl Strategy<Value = String> {
    let indent = prop::sample::select(vec!["", "", " ", "  ", "   ", "    ", "      "]);
    let key = prop::sample::select(vec![
        "a", "b", "a.b/c", "f:x", ".", "null", "\"q\"", "'s'", "-a", "a b", "~",
    ]);
    let value = prop::sample::select(vec![
        "",
        " 1",
        " -1",
        " on",
        " a b",
        " http://x",
        " x:y",
        " ~",
        " null",
        " \"q\"",
        " 's'",
        " 'a''b'",
        " 'wrap",
        " on'",
        " x ' y",
        " \"a\\\"b\"",
        " a,b",
        " [1]",
        " {}",
        " []",
        " |",
        " |-",
        " |+",
        " >",
        " #x",
        " a #c",
        " a#b",
        " é",
        " [1,",
        " \"x",
        " &a x",
        " *a",
        " !t x",
        " - x",
        " {\"k\": [1, \"2\"]}",
        " '",
        " \"\"",
        " a: b",
    ]);
    let shape = prop::sample::select(vec![
        "kv", "kv", "dash", "dash-kv", "text", "comment", "blank",
    ]);
    (indent, key, value, shape).prop_map(|(i, k, v, s)| match s {
        "kv" => format!("{i}{k}:{v}"),
        "dash" => format!("{i}-{v}"),
        "dash-kv" => format!("{i}- {k}:{v}"),
        "text" => format!("{i}{}", v.trim_start()),
        "comment" => format!("{i}# c"),
        _ => String::new(),
    })
}

/// Random documents from those lines: every one the fast path accepts reads the same through
/// the YAML reader, and enough are accepted for that to mean something.
#[test]
fn whatever_the_fast_path_accepts_yaml_reads_the_same() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let first = prop::sample::select(vec!["a:", "a: 1", "a: |", "a:\n  - x", "k: v"]);
    let doc = (first, prop::collection::vec(line(), 0..10))
        .prop_map(|(first, lines)| format!("{first}\n{}\n", lines.join("\n")));
    let mut runner = TestRunner::deterministic();
    let (mut accepted, cases) = (0, 20_000);
    for _ in 0..cases {
        let text = doc.new_tree(&mut runner).unwrap().current();
        match agrees(&text) {
            Ok(yes) => accepted += usize::from(yes),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(accepted * 10 > cases, "only {accepted} of {cases} accepted");
    eprintln!("{accepted} of {cases} accepted");
}
