//! Large synthetic screens for the render benchmark (`benches/tui_render.rs`) and the frame-time
//! test: a table of 10,000 resources and a graph of 200 nodes. Only view models are built; no
//! world is needed to draw.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::plan::ResourceRef;
use crate::world::{ObjKey, World};

use super::action::Loaded;
use super::config::UiConfig;
use super::model::graph::{
    EdgeStatus, Exposure, ExposureLevel, GEdge, GNode, GraphModel, NodeLink, NodeStatus, ReachCount,
};
use super::model::{ResourceRow, Severity, ViewData};
use super::source::SourceInfo;
use super::state::State;
use super::update;

fn info() -> SourceInfo {
    SourceInfo {
        kind: "demo",
        context: "bench".into(),
        feeds: vec!["world"],
        sink: "memory".into(),
        contexts: Vec::new(),
    }
}

fn row(i: usize) -> ResourceRow {
    let id = ResourceRef::Service(ObjKey::new(
        format!("ns-{:04}", i / 100),
        format!("svc-{i:05}"),
    ));
    ResourceRow {
        kind: "svc",
        namespace: id.key().namespace.clone(),
        name: id.key().name.clone(),
        lb: format!("k8s-ns{:04}-svc{i:05}-0123456789", i / 100),
        lb_kind: "NLB".into(),
        scheme: if i.is_multiple_of(3) {
            "internet-facing"
        } else {
            "internal"
        }
        .into(),
        listeners: "tcp/443".into(),
        exposure: Exposure {
            level: if i.is_multiple_of(3) {
                ExposureLevel::Internet
            } else {
                ExposureLevel::Internal
            },
            text: "internet tcp/443".into(),
        },
        reach: ReachCount {
            reachable: 3,
            blocked: i % 7,
            unknown: 0,
        },
        findings: if i.is_multiple_of(5) {
            vec![(Severity::High, "D07".into())]
        } else {
            Vec::new()
        },
        id,
    }
}

fn node(key: String, col: usize, status: NodeStatus) -> GNode {
    GNode {
        title: key.clone(),
        subtitle: "subtitle text of a node".into(),
        key,
        col,
        status,
        link: NodeLink::None,
        detail: vec!["detail".into()],
    }
}

/// A 200-node graph: 40 frontend SGs, 20 LBs, 20 backend SGs, 120 targets.
pub fn big_graph(root: ResourceRef) -> GraphModel {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let edge = |from: String, to: String, status| GEdge {
        from,
        to,
        status,
        label: String::new(),
    };
    for i in 0..40 {
        nodes.push(node(format!("sg:fe{i:03}"), 0, NodeStatus::Ok));
        edges.push(edge(
            format!("sg:fe{i:03}"),
            format!("lb:{:03}", i / 2),
            EdgeStatus::Attached,
        ));
    }
    for i in 0..20 {
        nodes.push(node(format!("lb:{i:03}"), 1, NodeStatus::Exposed));
        nodes.push(node(format!("sg:be{i:03}"), 2, NodeStatus::Neutral));
        edges.push(edge(
            format!("lb:{i:03}"),
            format!("sg:be{i:03}"),
            EdgeStatus::Attached,
        ));
    }
    for i in 0..120usize {
        let status = if i.is_multiple_of(4) {
            EdgeStatus::Blocked
        } else {
            EdgeStatus::Allowed
        };
        nodes.push(node(format!("eni:{i:04}"), 3, NodeStatus::Ok));
        edges.push(edge(
            format!("sg:be{:03}", i / 6),
            format!("eni:{i:04}"),
            status,
        ));
    }
    GraphModel {
        root,
        nodes,
        edges,
        notes: Vec::new(),
        exposure: Exposure {
            level: ExposureLevel::Internet,
            text: "internet tcp/443".into(),
        },
        reach: ReachCount::default(),
        lbs: Vec::new(),
    }
}

/// A state showing a table of `rows` resources, at `width`×`height`.
pub fn table_state(rows: usize, width: u16, height: u16) -> State {
    let mut s = State::new(Arc::new(UiConfig::default()), info(), false, UNIX_EPOCH);
    s.width = width;
    s.height = height;
    let resources: Vec<ResourceRow> = (0..rows).map(row).collect();
    let root = resources[0].id.clone();
    let mut data = ViewData {
        resources,
        ..ViewData::default()
    };
    data.graphs.insert(root.clone(), big_graph(root));
    update::install(
        &mut s,
        Loaded {
            world: Arc::new(World::default()),
            data: Arc::new(data),
            at: SystemTime::UNIX_EPOCH,
            context: None,
        },
    );
    s
}

/// The same state with the 200-node graph open (laid out by the reducer).
pub fn graph_state(width: u16, height: u16) -> State {
    let mut s = table_state(10, width, height);
    let root = s.data.resources[0].id.clone();
    update::nav::open_graph(&mut s, root);
    s
}
