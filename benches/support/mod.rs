//! Fixtures shared by every benchmark file: generated worlds by size (built once per process),
//! their world-file text, and representative edits. A new bench file (graph, reachability, audit,
//! TUI frames) adds `mod support;` and a `[[bench]]` entry with `harness = false`, and measures
//! its stage on `support::fixture(size)` for each of `support::sizes()`.

#![allow(dead_code)] // each bench binary uses its own subset

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use lbsg::core::lbc::service::is_lbc_service;
use lbsg::core::plan::edit::parse_rule;
use lbsg::core::plan::{Edit, ResourceRef};
use lbsg::devtools::worldgen::{GenSpec, Size, generate, stats};
use lbsg::world::World;
use lbsg::world::file::{save_string, save_string_json};

/// Every fixture is generated from this seed, with this share of planted problems.
pub const SEED: u64 = 1;
pub const PROBLEMS: f64 = 0.05;

pub struct Fixture {
    pub size: Size,
    pub world: World,
    /// The world as a YAML world file and as a JSON one (what `load` benchmarks parse).
    pub text: String,
    pub json: String,
}

/// Sizes to measure: `LBSG_BENCH_SIZES=small,large,stretch` (default `small,large`; stretch
/// takes minutes to generate and load at every bench binary start).
pub fn sizes() -> Vec<Size> {
    let raw = std::env::var("LBSG_BENCH_SIZES").unwrap_or_else(|_| "small,large".into());
    raw.split(',')
        .filter_map(|s| Size::parse(s.trim()).ok())
        .collect()
}

static TINY: OnceLock<Fixture> = OnceLock::new();
static SMALL: OnceLock<Fixture> = OnceLock::new();
static LARGE: OnceLock<Fixture> = OnceLock::new();
static STRETCH: OnceLock<Fixture> = OnceLock::new();

/// The fixture of a size, generated on first use.
pub fn fixture(size: Size) -> &'static Fixture {
    let cell = match size {
        Size::Tiny => &TINY,
        Size::Small => &SMALL,
        Size::Large => &LARGE,
        Size::Stretch => &STRETCH,
    };
    cell.get_or_init(|| {
        let t = Instant::now();
        let g = generate(&GenSpec::new(SEED, size, PROBLEMS)).expect("generator");
        let text = save_string(&g.world);
        let json = save_string_json(&g.world);
        eprintln!(
            "fixture {}: generated in {:.1} s, {} MB world file: {}",
            size.name(),
            t.elapsed().as_secs_f64(),
            text.len() / 1_000_000,
            stats(&g.world)
        );
        Fixture {
            size,
            world: g.world,
            text,
            json,
        }
    })
}

/// Representative edits, the same recipe on every size: a source-range annotation on a
/// Service with a managed SG, the D07 fix (manage backend rules) on a Service with a custom SG,
/// an `inbound-cidrs` annotation on an Ingress, and a rule added to an application SG.
pub fn edits(world: &World) -> Vec<(&'static str, Edit)> {
    let cfg = world.controller_or_default();
    let mut out = Vec::new();
    let services = world.kube.services.as_ref().expect("services");
    let svc_ann = |k: &str| format!("service.beta.kubernetes.io/{k}");
    let managed = services.values().find(|s| {
        is_lbc_service(&cfg, s)
            && s.spec.load_balancer_source_ranges.is_empty()
            && !s
                .meta
                .annotations
                .contains_key(&svc_ann("aws-load-balancer-security-groups"))
    });
    if let Some(s) = managed {
        out.push((
            "svc-source-ranges",
            Edit::Annotations {
                resource: ResourceRef::Service(s.meta.key()),
                set: BTreeMap::from([(
                    svc_ann("load-balancer-source-ranges"),
                    "10.0.0.0/8".into(),
                )]),
                unset: Vec::new(),
            },
        ));
    }
    let unmanaged_custom = services.values().find(|s| {
        is_lbc_service(&cfg, s)
            && s.meta
                .annotations
                .get(&svc_ann("aws-load-balancer-security-groups"))
                .is_some_and(|v| v.starts_with("sg-"))
            && !s.meta.annotations.contains_key(&svc_ann(
                "aws-load-balancer-manage-backend-security-group-rules",
            ))
    });
    if let Some(s) = unmanaged_custom {
        out.push((
            "svc-manage-backend-rules",
            Edit::Annotations {
                resource: ResourceRef::Service(s.meta.key()),
                set: BTreeMap::from([(
                    svc_ann("aws-load-balancer-manage-backend-security-group-rules"),
                    "true".into(),
                )]),
                unset: Vec::new(),
            },
        ));
    }
    let grouped = world.kube.ingresses.as_ref().and_then(|m| {
        m.values().find(|i| {
            i.meta
                .annotations
                .contains_key("alb.ingress.kubernetes.io/group.name")
                && !i
                    .meta
                    .annotations
                    .contains_key("alb.ingress.kubernetes.io/inbound-cidrs")
        })
    });
    if let Some(i) = grouped {
        out.push((
            "ing-inbound-cidrs",
            Edit::Annotations {
                resource: ResourceRef::Ingress(i.meta.key()),
                set: BTreeMap::from([(
                    "alb.ingress.kubernetes.io/inbound-cidrs".to_string(),
                    "10.0.0.0/8".into(),
                )]),
                unset: Vec::new(),
            },
        ));
    }
    let app_sg = world
        .aws
        .security_groups
        .as_ref()
        .and_then(|m| m.values().find(|g| g.name.starts_with("app-")));
    if let Some(g) = app_sg {
        out.push((
            "sg-add-rule",
            Edit::Rules {
                sg: g.id.clone(),
                add: vec![parse_rule("tcp:8443:10.0.0.0/8:bench").expect("rule")],
                remove: Vec::new(),
            },
        ));
    }
    out
}
