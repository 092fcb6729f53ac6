use petgraph::Direction;

use super::*;
use crate::core::plan::ResourceRef;
use crate::core::reach::fixtures::*;
use crate::core::reach::{WorldIndex, exposure_with};
use crate::world::{ObjKey, World};

fn edge_list(t: &Topology) -> Vec<String> {
    t.edges()
        .map(|(a, b, e)| {
            format!(
                "{} -{}-> {} {}",
                a.key,
                e.kind.name(),
                b.key,
                e.kind.label()
            )
        })
        .map(|s| s.trim_end().to_string())
        .collect()
}

fn has_edge(t: &Topology, from: &str, to: &str, kind: &str) -> bool {
    t.neighbors(from, Direction::Outgoing)
        .iter()
        .any(|(n, e)| n.key == to && e.kind.name() == kind)
}

fn web_world() -> (World, String, String) {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    if let Some(sg) = sgs(&mut w).get_mut("sg-0web") {
        sg.name = "k8s-default-web-0123456789".into();
        sg.tags = tags(&[
            ("elbv2.k8s.aws/cluster", "t"),
            ("service.k8s.aws/stack", "default/web"),
        ]);
    }
    (w, lb, tg)
}

#[test]
fn world_graph_has_the_whole_chain_with_stable_keys() {
    let (w, lb, tg) = web_world();
    let t = build(&w);
    let listener = format!(
        "{}/listener-443",
        lb.replace(":loadbalancer/", ":listener/")
    );
    let kinds = [
        ("service/default/web", NodeKind::Service),
        ("0.0.0.0/0", NodeKind::Internet),
        ("sg-0web", NodeKind::SecurityGroup),
        (BACKEND_SG, NodeKind::SecurityGroup),
        (NODE_SG, NodeKind::SecurityGroup),
        (lb.as_str(), NodeKind::LoadBalancer),
        (listener.as_str(), NodeKind::Listener),
        (tg.as_str(), NodeKind::TargetGroup),
        ("eni-0n1", NodeKind::Eni),
        ("i-0n1", NodeKind::Instance),
    ];
    for (key, kind) in kinds {
        assert_eq!(t.node(key).map(|n| n.kind), Some(kind), "{key}");
    }
    assert_eq!(
        t.node("i-0n1").map(|n| n.label.as_str()),
        Some("node-0n1 (i-0n1)")
    );
    assert_eq!(t.node(&listener).map(|n| n.label.as_str()), Some("TCP:443"));
    assert_eq!(t.node("0.0.0.0/0").map(|n| n.status), Some(Status::Exposed));
    assert_eq!(t.node("eni-0n2").map(|n| n.status), Some(Status::Ok));
    let backend = t
        .node(BACKEND_SG)
        .map(|n| n.roles.clone())
        .unwrap_or_default();
    assert!(backend.contains(&Role::Backend) && backend.contains(&Role::Frontend));
    assert!(
        t.node(NODE_SG)
            .is_some_and(|n| n.roles.contains(&Role::Target))
    );

    let edges = edge_list(&t);
    for want in [
        "0.0.0.0/0 -allows_from-> sg-0web tcp 443".to_string(),
        format!("{BACKEND_SG} -allows_from-> {NODE_SG} tcp 31443"),
        format!("{NODE_SG} -allows_from-> {NODE_SG} all traffic"),
        format!("sg-0web -attached_to-> {lb}"),
        format!("{lb} -listens_on-> {listener}"),
        format!("{listener} -forwards_to-> {tg}"),
        format!("{tg} -targets-> eni-0n1 31443"),
        format!("{NODE_SG} -attached_to-> eni-0n1"),
        "eni-0n1 -owned_by-> i-0n1".to_string(),
        format!("{lb} -owned_by-> service/default/web"),
        "sg-0web -owned_by-> service/default/web".to_string(),
    ] {
        assert!(edges.contains(&want), "missing {want}\n{edges:#?}");
    }
    assert!(!edges.iter().any(|e| e.contains("missing_rule")));
}

#[test]
fn blocked_targets_get_missing_rule_edges_and_status() {
    let (mut w, lb, tg) = web_world();
    if let Some(sg) = sgs(&mut w).get_mut(NODE_SG) {
        sg.ingress.retain(|r| r.rule.from_port != Some(31443));
    }
    let t = build(&w);
    assert!(has_edge(&t, "sg-0web", NODE_SG, "missing_rule"));
    assert!(has_edge(&t, BACKEND_SG, NODE_SG, "missing_rule"));
    let label = t
        .neighbors("sg-0web", Direction::Outgoing)
        .into_iter()
        .find(|(n, e)| n.key == NODE_SG && e.kind.name() == "missing_rule")
        .map(|(_, e)| e.kind.label());
    assert_eq!(label.as_deref(), Some("missing tcp/31443"));
    for key in [lb.as_str(), tg.as_str(), "eni-0n1", "service/default/web"] {
        assert_eq!(
            t.node(key).map(|n| n.status),
            Some(Status::Blocked),
            "{key}"
        );
    }
}

#[test]
fn resource_graph_is_one_chain() {
    let (mut w, lb, _) = web_world();
    // A second, unrelated Service and a rule on the node SG that has nothing to do with web.
    add_sg(&mut w, "sg-0other", &[rule("tcp", 80, 80, "10.9.0.0/16")]);
    add_service(&mut w, "default", "other");
    add_lb(
        &mut w,
        "other",
        "network",
        "internal",
        &["sg-0other"],
        "default/other",
    );
    add_rule(&mut w, NODE_SG, rule("tcp", 22, 22, "198.51.100.0/24"));
    let idx = WorldIndex::new(&w);
    let e = exposure_with(&idx);
    let r = ResourceRef::Service(ObjKey::new("default", "web"));
    let t = build_for(&idx, &e, &r).unwrap_or_default();
    assert!(t.node(&lb).is_some());
    assert!(t.node(&lb_arn("other")).is_none());
    assert!(t.node("sg-0other").is_none());
    assert!(t.node("service/default/other").is_none());
    // Target-SG rules that do not concern this LB are left out.
    assert!(t.node("198.51.100.0/24").is_none());
    assert!(!has_edge(&t, NODE_SG, NODE_SG, "allows_from"));
    assert!(has_edge(&t, BACKEND_SG, NODE_SG, "allows_from"));
    // The whole world has them.
    let all = build_with(&idx, &e);
    assert!(all.node("198.51.100.0/24").is_some());
    assert!(all.node("sg-0other").is_some());
    assert!(
        build_for(&idx, &e, &ResourceRef::Service(ObjKey::new("x", "y"))).is_none(),
        "unknown resources have no graph"
    );
}

#[test]
fn same_world_same_graph() {
    let (w, _, _) = web_world();
    let a = build(&w);
    let b = build(&w);
    assert_eq!(edge_list(&a), edge_list(&b));
    let keys: Vec<&str> = a.nodes().map(|n| n.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "nodes are inserted in key order");
}
