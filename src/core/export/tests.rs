use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::core::graph::{self, Topology};
use crate::core::reach::fixtures::*;

/// The web chain with a blocked target rule and an SG name full of characters exporters must
/// escape.
fn tricky() -> Topology {
    let mut w = base();
    web(&mut w);
    if let Some(sg) = sgs(&mut w).get_mut("sg-0web") {
        sg.name = r#"we"b \ <front> #1 {x} [y]; end"#.into();
    }
    if let Some(sg) = sgs(&mut w).get_mut(NODE_SG) {
        sg.ingress.retain(|r| r.rule.from_port != Some(31443));
        sg.ingress.push(rule("tcp", 22, 22, "::/0"));
    }
    add_rule(&mut w, "sg-0web", rule("icmp", 3, 4, "10.0.0.0/8"));
    graph::build(&w)
}

fn run_dot(src: &str) -> std::process::Output {
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        panic!("graphviz `dot` not found: install graphviz (scripts/test does)");
    };
    if let Some(stdin) = child.stdin.as_mut() {
        stdin.write_all(src.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn dot_is_deterministic_and_graphviz_parses_it() {
    let a = dot::render(&tricky());
    let b = dot::render(&tricky());
    assert_eq!(a, b, "byte-identical across runs");
    assert!(a.starts_with("digraph lbsg {\n  rankdir=LR;"));
    assert!(
        a.contains(r#"we\"b \\ <front>"#),
        "quotes and backslashes escaped"
    );
    assert!(a.contains("style=dashed"), "missing rules are dashed");
    let out = run_dot(&a);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dot failed: {err}\n{a}");
    assert!(!err.contains("syntax error"), "{err}");
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg"), "no SVG produced");
    assert!(svg.contains("missing tcp/31443"));
    // A broken input is rejected, so the check above can fail.
    assert!(!run_dot("digraph { \"a -> }").status.success());
}

#[test]
fn mermaid_ids_are_sanitised_and_labels_quoted() {
    let a = mermaid::render(&tricky());
    assert_eq!(a, mermaid::render(&tricky()));
    assert!(a.starts_with("flowchart LR\n"));
    for line in a.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("n_") {
            let id: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '[')
                .collect();
            assert!(
                id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "id {id:?} in {line:?}"
            );
        }
    }
    assert!(
        a.contains(r#"we#quot;b \ #lt;front#gt; #35;1 {x} [y]; end"#),
        "{a}"
    );
    assert!(a.contains("n_sg_0web -.->|\"missing tcp/31443\"| n_sg_0node"));
    assert!(a.contains("subgraph col2[\"load balancer SGs\"]"));
    assert!(a.contains("classDef blocked"));
    assert!(
        a.lines()
            .any(|l| l.starts_with("  class ") && l.ends_with(" blocked"))
    );
}

#[test]
fn mermaid_ids_never_collide() {
    let mut w = base();
    add_sg(
        &mut w,
        "sg-x",
        &[
            rule("tcp", 1, 1, "10.0.0.0/24"),
            rule("tcp", 1, 1, "10.0.0.0-24"),
        ],
    );
    // `10.0.0.0-24` is not a CIDR but a world file may hold it; it sanitises like `10.0.0.0/24`.
    let m = mermaid::render(&graph::build(&w));
    assert!(m.contains("n_10_0_0_0_24[\"10.0.0.0-24\"]"), "{m}");
    assert!(m.contains("n_10_0_0_0_24_2[\"10.0.0.0/24\"]"), "{m}");
}

#[test]
fn json_round_trips_every_node_and_edge() {
    let t = tricky();
    let s = json::render(&t);
    assert_eq!(s, json::render(&tricky()));
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["schema"], "lbsg.graph/v1");
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(t.node_count()));
    assert_eq!(v["edges"].as_array().map(Vec::len), Some(t.edge_count()));
    let missing = v["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == "missing_rule")
        .cloned()
        .unwrap_or_default();
    assert_eq!(missing["traffic"], "tcp/31443");
    assert_eq!(missing["status"], "blocked");
    let sg = v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["key"] == "sg-0web")
        .cloned()
        .unwrap_or_default();
    assert_eq!(sg["kind"], "security_group");
    assert_eq!(sg["column"], 2);
    assert_eq!(sg["roles"], serde_json::json!(["frontend"]));
}

#[test]
fn format_names_parse() {
    assert_eq!(Format::parse("DOT"), Some(Format::Dot));
    assert_eq!(Format::parse("mermaid"), Some(Format::Mermaid));
    assert_eq!(Format::parse("json"), Some(Format::Json));
    assert_eq!(Format::parse("svg"), None);
}

#[test]
#[ignore = "writes /tmp/reach/tricky.{dot,mmd,json} for eyeballing"]
fn dump_samples() {
    let t = tricky();
    std::fs::write("/tmp/reach/tricky.dot", dot::render(&t)).unwrap();
    std::fs::write("/tmp/reach/tricky.mmd", mermaid::render(&t)).unwrap();
    std::fs::write("/tmp/reach/tricky.json", json::render(&t)).unwrap();
}

#[test]
fn demo_graphs_render_with_graphviz() {
    use crate::core::plan::ResourceRef;
    use crate::core::reach::{WorldIndex, exposure_with};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/world.yaml");
    let w = match crate::world::file::load_path(std::path::Path::new(path)) {
        Ok(w) => w,
        Err(e) => panic!("demo world: {e}"),
    };
    let idx = WorldIndex::new(&w);
    let e = exposure_with(&idx);
    let whole = graph::build_with(&idx, &e);
    let out = run_dot(&dot::render(&whole));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The D07 chain: the LB's custom SG has a missing-rule edge to the node SG.
    let r = ResourceRef::parse("service/billing/invoices").unwrap();
    let chain = graph::build_for(&idx, &e, &r).unwrap();
    let d = dot::render(&chain);
    assert!(d.contains("\"sg-0invoiceslb\" -> \"sg-0nodes\" [tooltip=\"missing_rule\", label=\"missing tcp/30643\""), "{d}");
    assert!(run_dot(&d).status.success());
    assert!(chain.node_count() < whole.node_count());
    // Every resource's chain renders.
    for key in e.resources.keys() {
        let r = ResourceRef::parse(key).unwrap();
        let t = graph::build_for(&idx, &e, &r).unwrap();
        let out = run_dot(&dot::render(&t));
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(mermaid::render(&t).starts_with("flowchart LR"));
    }
}

#[test]
#[ignore = "writes /tmp/reach/demo*.dot for eyeballing"]
fn dump_demo() {
    use crate::core::plan::ResourceRef;
    use crate::core::reach::{WorldIndex, exposure_with};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/world.yaml");
    let w = crate::world::file::load_path(std::path::Path::new(path)).unwrap();
    let idx = WorldIndex::new(&w);
    let e = exposure_with(&idx);
    std::fs::write(
        "/tmp/reach/demo.dot",
        dot::render(&graph::build_with(&idx, &e)),
    )
    .unwrap();
    for r in [
        "service/billing/invoices",
        "service/legacy/old-gateway",
        "ingress/portal/portal-web",
    ] {
        let t = graph::build_for(&idx, &e, &ResourceRef::parse(r).unwrap()).unwrap();
        std::fs::write(
            format!("/tmp/reach/{}.dot", r.replace('/', "_")),
            dot::render(&t),
        )
        .unwrap();
    }
}
