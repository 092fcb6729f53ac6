//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`, nightly) and the bounded stable
//! smoke run (`tests/it/fuzz_smoke.rs`). Each takes arbitrary bytes and must not panic; where
//! a parser accepts its input, the result is also checked for the invariants callers rely on.

use std::collections::BTreeMap;

use crate::core::desired::desired;
use crate::core::lbc::annotations::{Annotations, Kind, parse_string_map, split_list};
use crate::core::plan::drift::drift_of;
use crate::core::plan::edit::{parse_rule, parse_source};
use crate::world::file::{load_str, load_yaml, save_string};

/// Annotation values through the LBC's parsers (string map, list, bool) for both object kinds.
/// The first byte picks which annotation key carries the rest.
pub fn annotations(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let raw = String::from_utf8_lossy(rest).into_owned();
    let suffixes = [
        "aws-load-balancer-additional-resource-tags",
        "tags",
        "load-balancer-source-ranges",
        "inbound-cidrs",
        "aws-load-balancer-manage-backend-security-group-rules",
        "manage-backend-security-group-rules",
    ];
    let suffix = suffixes[usize::from(selector) % suffixes.len()];
    for kind in [Kind::Service, Kind::Ingress] {
        let map = BTreeMap::from([(format!("{}{suffix}", kind.prefix()), raw.clone())]);
        let ann = Annotations::new(kind, &map);
        if let Ok(Some(m)) = ann.string_map(suffix) {
            assert!(m.keys().all(|k| !k.is_empty()), "empty key from {raw:?}");
        }
        if let Some(items) = ann.list(suffix) {
            assert!(
                items.iter().all(|i| !i.is_empty() && i.trim() == i),
                "untrimmed item from {raw:?}"
            );
        }
        if let Err(e) = ann.bool(suffix) {
            assert!(e.contains("strconv.ParseBool"), "{e}");
        }
    }
    let _ = parse_string_map(&raw);
    let _ = split_list(&raw);
}

/// `PROTO:PORTS:SOURCE[:DESCRIPTION]` rule strings.
pub fn rule_string(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let _ = parse_source(&raw);
    let Ok(rule) = parse_rule(&raw) else {
        return;
    };
    let (from, to) = (rule.from_port, rule.to_port);
    match rule.protocol.as_str() {
        "-1" => assert!(from.is_none() && to.is_none(), "{raw:?}"),
        "icmp" | "icmpv6" => {
            for v in [from, to].into_iter().flatten() {
                assert!((-1..=255).contains(&v), "{raw:?}");
            }
        }
        _ => {
            let (Some(f), Some(t)) = (from, to) else {
                panic!("{raw:?}: ports missing");
            };
            assert!((0..=65535).contains(&f) && f <= t && t <= 65535, "{raw:?}");
        }
    }
    // what the plan printer shows for it
    let _ = rule.to_string();
    let _ = rule.identity();
}

/// World files: loading (the fast paths must agree with the YAML reader, errors included),
/// and for a file that loads, saving it and the desired state and drift of the world (the core
/// must not panic on any world a file can describe).
pub fn world_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let loaded = load_str(&text, "fuzz");
    let reference = load_yaml(&text, "fuzz");
    match (&loaded, &reference) {
        (Ok(a), Ok(b)) => assert!(a == b, "a fast path read another world"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("a fast path and the YAML reader disagree"),
    }
    let Ok(world) = loaded else {
        return;
    };
    let _ = save_string(&world);
    let d = desired(&world);
    let _ = drift_of(&world, &d);
}
