use super::*;
use crate::core::plan::drift;

fn small(problems: f64) -> Generated {
    generate(&GenSpec::new(7, Size::Small, problems)).unwrap()
}

#[test]
fn healthy_small_world_has_the_preset_counts_and_empty_drift() {
    let g = small(0.0);
    assert!(g.planted.is_empty());
    let s = stats(&g.world);
    let c = Size::Small.counts();
    assert_eq!(s.nodes, c.nodes);
    assert_eq!(s.lb_services, c.lb_services);
    assert_eq!(s.ingresses, c.ingresses);
    assert_eq!(s.enis, c.enis);
    assert_eq!(s.security_groups, c.security_groups);
    assert_eq!(s.inbound_rules, c.inbound_rules);
    let d = drift(&g.world);
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
    assert!(d.errors.is_empty(), "{:#?}", d.errors);
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
}

#[test]
fn a_seed_gives_one_world() {
    let a = small(0.1);
    let b = small(0.1);
    assert_eq!(a.world, b.world);
    assert_eq!(a.planted, b.planted);
    let c = generate(&GenSpec::new(8, Size::Small, 0.1)).unwrap();
    assert_ne!(a.world, c.world);
}

#[test]
fn the_world_file_round_trip_keeps_it_healthy() {
    let g = small(0.0);
    let text = crate::world::file::save_string(&g.world);
    let back = crate::world::file::load_str(&text, "generated").unwrap();
    assert_eq!(stats(&back), stats(&g.world));
    let d = drift(&back);
    assert!(d.changes.is_empty() && d.errors.is_empty(), "{d:#?}");
}

#[test]
fn planted_problems_are_all_there_and_the_lbc_sees_the_ones_it_acts_on() {
    let g = small(0.2);
    let kinds: std::collections::BTreeSet<ProblemKind> = g.planted.iter().map(|p| p.kind).collect();
    assert_eq!(kinds.len(), ProblemKind::ALL.len(), "{:?}", g.planted);
    let d = drift(&g.world);
    for p in g.planted.iter().filter(|p| p.kind.shows_in_drift()) {
        let seen = d.changes.iter().any(|c| c.kind.subject() == p.subject)
            || d.errors
                .iter()
                .any(|e| e.message.contains(&p.subject) || e.resource == p.subject);
        assert!(seen, "{p:?} not in drift: {d:#?}");
    }
    // nothing the generator did not plant shows up as drift
    for c in &d.changes {
        let subject = c.kind.subject();
        assert!(
            g.planted.iter().any(|p| p.subject == subject),
            "unexpected change {c:?}"
        );
    }
}

#[test]
fn generated_worlds_stay_within_aws_target_quotas() {
    for size in [Size::Tiny, Size::Small] {
        let g = generate(&GenSpec::new(3, size, 0.05)).unwrap();
        let t = quota::target_counts(&g.world);
        assert!(t.excess().is_empty(), "{size:?}: {:?}", t.excess());
        assert!(t.total > 0);
    }
    // some instance-mode LBs are pinned to a node group, and their bindings select it
    let g = small(0.0);
    let pinned: Vec<_> = g
        .world
        .kube
        .target_group_bindings
        .iter()
        .flat_map(|m| m.values())
        .filter(|b| b.node_selector.contains_key("eks.amazonaws.com/nodegroup"))
        .collect();
    assert!(!pinned.is_empty());
    assert!(
        pinned
            .iter()
            .all(|b| b.target_type.as_deref() == Some("instance"))
    );
}
