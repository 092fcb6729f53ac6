//! The TUI's test world: the demo world, with findings supplied by hand as the audit reports
//! them for the demo's planted situations (assets/demo/README.md), until `core::audit` lands.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::plan::{Edit, ResourceRef};
use crate::world::*;

use super::action::Loaded;
use super::bridge;
use super::config::UiConfig;
use super::model::{self, Analysis, Finding, Remedy, Severity};
use super::source::SourceInfo;
use super::state::State;

pub const WEB_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/k8s-default-web-5d3dbb718c/5a262d475dc04173";
pub const MANAGE: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";

/// The demo world (`assets/demo/world.yaml`), as `lbsg --demo` shows it.
pub fn world() -> World {
    match super::source::parse_world(super::source::DEMO_WORLD, "demo world") {
        Ok(w) => w,
        Err(e) => panic!("the demo world does not load: {e}"),
    }
}

/// Findings the audit would report on [`world`].
pub fn findings() -> Vec<Finding> {
    let invoices = ResourceRef::Service(ObjKey::new("billing", "invoices"));
    vec![
        Finding {
            id: "D07".into(),
            severity: Severity::High,
            title: "Custom frontend SG, backend rules not managed: targets unreachable".into(),
            resource: invoices.to_string(),
            evidence: vec![
                "no rule on sg-0nodes admits sg-0invoiceslb or sg-0backend on tcp/30643".into(),
            ],
            remedy: Some(Remedy {
                summary: "set manage-backend-security-group-rules to true".into(),
                edit: Some(Edit::Annotations {
                    resource: invoices,
                    set: BTreeMap::from([(MANAGE.to_string(), "true".to_string())]),
                    unset: Vec::new(),
                }),
            }),
        },
        Finding {
            id: "D14".into(),
            severity: Severity::High,
            title: "Custom SG name does not resolve: no load balancer".into(),
            resource: "service/search/search-api".into(),
            evidence: vec!["sg-0searchfe has GroupName search-frontend but no Name tag".into()],
            remedy: Some(Remedy {
                summary: "tag sg-0searchfe Name=search-frontend, or use its id".into(),
                edit: None,
            }),
        },
        Finding {
            id: "X01".into(),
            severity: Severity::Medium,
            title: "Internet-facing load balancer open to 0.0.0.0/0".into(),
            resource: "service/default/web".into(),
            evidence: vec!["sg-0web admits 0.0.0.0/0 on tcp/443".into()],
            remedy: None,
        },
        Finding {
            id: "D19".into(),
            severity: Severity::Medium,
            title: "Internal load balancer whose SG is open to 0.0.0.0/0".into(),
            resource: "service/internal-tools/grafana".into(),
            evidence: vec!["sg-0grafana admits 0.0.0.0/0 on tcp/80".into()],
            remedy: Some(Remedy {
                summary: "limit the source ranges to the VPC (10.0.0.0/16)".into(),
                edit: Some(Edit::Annotations {
                    resource: ResourceRef::Service(ObjKey::new("internal-tools", "grafana")),
                    set: BTreeMap::from([(
                        "service.beta.kubernetes.io/load-balancer-source-ranges".to_string(),
                        "10.0.0.0/16".to_string(),
                    )]),
                    unset: Vec::new(),
                }),
            }),
        },
        Finding {
            id: "D27".into(),
            severity: Severity::Low,
            title: "Leftover managed SG: its stack no longer exists".into(),
            resource: "sg-0gone".into(),
            evidence: vec![
                "tagged service.k8s.aws/stack=retired/gone; not attached, not referenced".into(),
            ],
            remedy: Some(Remedy {
                summary: "delete sg-0gone".into(),
                edit: None,
            }),
        },
    ]
}

/// A fixed clock for reproducible screens: 2025-06-02 14:55:10Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_748_876_110)
}

pub fn loaded(w: World, with_findings: bool) -> Loaded {
    let mut analysis: Analysis = bridge::analyse(&w);
    if with_findings {
        analysis.findings = Some(findings());
    }
    let data = model::build(&w, &analysis);
    Loaded {
        world: Arc::new(w),
        data: Arc::new(data),
        at: now(),
        context: None,
    }
}

pub fn info() -> SourceInfo {
    SourceInfo {
        kind: "demo",
        context: "demo".into(),
        feeds: vec!["world"],
        sink: "memory only (demo)".into(),
        contexts: Vec::new(),
    }
}

/// A state with [`world`] loaded, sized `w`×`h`.
pub fn state(width: u16, height: u16, readonly: bool) -> State {
    let mut s = State::new(Arc::new(UiConfig::default()), info(), readonly, now());
    s.width = width;
    s.height = height;
    super::update::install(&mut s, loaded(world(), true));
    s
}
