//! Benchmarks of the sans-IO core on generated worlds: world-file load, desired state, drift,
//! an edit turned into a plan (with and without its exposure diff, and as the TUI previews it),
//! reachability, the graph, the audit, and the whole start-up pipeline. `BENCHMARKS.md` records the numbers and the
//! commands.
//!
//! `cargo bench --bench core` (sizes: `LBSG_BENCH_SIZES=small,large,stretch`; default
//! `small,large`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use lbsg::core::audit::{audit, audit_with};
use lbsg::core::desired::desired;
use lbsg::core::graph::build_with;
use lbsg::core::plan::apply::{apply_to_world, overlay_of};
use lbsg::core::plan::drift::drift_of;
use lbsg::core::plan::render::render_text;
use lbsg::core::plan::{Edit, Planner, drift, plan, plan_simple};
use lbsg::core::reach::{Exposure, WorldIndex, exposure, exposure_diff, exposure_with};
use lbsg::devtools::worldgen::Size;
use lbsg::tui::bridge::Previewer;
use lbsg::tui::model::index::Index;
use lbsg::world::World;
use lbsg::world::file::load_str;

use support::{edits, fixture, sizes};

/// Fewer, longer samples for the big sizes: each iteration takes up to seconds there. Flat
/// sampling (the same iteration count in every sample) keeps a slow stage from running
/// 55 iterations, which linear sampling needs for 10 samples.
fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, size: Size) {
    match size {
        Size::Tiny | Size::Small => {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(4));
        }
        Size::Large => {
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .measurement_time(Duration::from_secs(8))
                .warm_up_time(Duration::from_secs(1));
        }
        Size::Stretch => {
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .measurement_time(Duration::from_secs(5))
                .warm_up_time(Duration::from_millis(500));
        }
    }
}

/// World-file load, as YAML (the YAML reader) and as JSON (the JSON fast path). The loaded
/// world's destruction is left out (it happens once, at exit).
fn load(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("load");
        tune(&mut g, size);
        g.bench_with_input(BenchmarkId::new("yaml", size.name()), &f.text, |b, t| {
            b.iter_with_large_drop(|| load_str(black_box(t), "bench").unwrap())
        });
        g.bench_with_input(BenchmarkId::new("json", size.name()), &f.json, |b, t| {
            b.iter_with_large_drop(|| load_str(black_box(t), "bench").unwrap())
        });
        g.finish();
    }
}

fn desired_state(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("desired");
        tune(&mut g, size);
        g.bench_function(size.name(), |b| b.iter(|| desired(black_box(&f.world))));
        g.finish();
    }
}

fn drift_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let d = desired(&f.world);
        let mut g = c.benchmark_group("drift");
        tune(&mut g, size);
        g.bench_function(BenchmarkId::new("given-desired", size.name()), |b| {
            b.iter(|| drift_of(black_box(&f.world), black_box(&d)))
        });
        g.bench_function(BenchmarkId::new("desired+drift", size.name()), |b| {
            b.iter(|| drift(black_box(&f.world)))
        });
        g.finish();
    }
}

/// `plan(world, edit)`: one edit from scratch (the world's desired state and drift, then the
/// edit's own part).
fn plan_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("plan");
        tune(&mut g, size);
        for (name, edit) in edits(&f.world) {
            plan(&f.world, &edit).expect("the bench edits are valid");
            g.bench_function(BenchmarkId::new(name, size.name()), |b| {
                b.iter(|| plan(black_box(&f.world), black_box(&edit)))
            });
        }
        g.finish();
    }
}

/// One more edit on a prepared `Planner` (what a front end does per keystroke): the plan's
/// changes alone, and the whole plan with its exposure diff. The planner's one-time reach
/// index is built before measuring (the first plan builds it).
fn planner_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let planner = Planner::new(&f.world);
        let mut g = c.benchmark_group("planner-edit");
        tune(&mut g, size);
        for (name, edit) in edits(&f.world) {
            planner.plan(&edit).expect("the bench edits are valid");
            g.bench_function(
                BenchmarkId::new(format!("changes/{name}"), size.name()),
                |b| b.iter(|| planner.changes(black_box(&edit))),
            );
            g.bench_function(
                BenchmarkId::new(format!("with-exposure/{name}"), size.name()),
                |b| b.iter(|| planner.plan(black_box(&edit))),
            );
        }
        g.finish();
    }
}

/// A plan's exposure diff, whole-world (the world and a copy with the plan applied, each
/// evaluated in full: what every plan paid before) and incremental (only the LBs the plan can
/// affect, against the planner's base).
fn exposure_diff_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let planner = Planner::new(&f.world);
        let base = planner.reach();
        let mut g = c.benchmark_group("exposure-diff");
        tune(&mut g, size);
        for (name, edit) in edits(&f.world) {
            let p = planner.changes(&edit).expect("the bench edits are valid");
            let overlay = overlay_of(&f.world, &p);
            eprintln!(
                "exposure-diff {name}/{}: {} of {} LBs evaluated again",
                size.name(),
                base.reevaluated(&overlay).len(),
                base.exposure().load_balancers.len()
            );
            g.bench_function(
                BenchmarkId::new(format!("incremental/{name}"), size.name()),
                |b| b.iter(|| base.diff(black_box(&overlay_of(&f.world, &p)))),
            );
            g.bench_function(
                BenchmarkId::new(format!("whole-world/{name}"), size.name()),
                |b| b.iter(|| exposure_diff(black_box(&f.world), &apply_to_world(&f.world, &p))),
            );
        }
        g.finish();
    }
}

/// The TUI's preview of one edit (the plan with its exposure diff, the edited resource's chain
/// before → after, the rendered text). `warm`: on a prepared previewer, what the TUI's planning
/// worker does per preview (target: under 50 ms on the large world); `prepare`: what it does
/// once per world. `whole-world`: the path previews took before the previewer (a planner per
/// preview, a copy of the world with the plan applied, and the copy's whole exposure).
fn preview_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let warm = Previewer::new(&f.world);
        let mut g = c.benchmark_group("preview");
        tune(&mut g, size);
        g.bench_function(BenchmarkId::new("prepare", size.name()), |b| {
            b.iter(|| Previewer::new(black_box(&f.world)))
        });
        for (name, edit) in edits(&f.world) {
            warm.preview(&edit).expect("the bench edits are valid");
            g.bench_function(BenchmarkId::new(format!("warm/{name}"), size.name()), |b| {
                b.iter(|| warm.preview(black_box(&edit)))
            });
            g.bench_function(
                BenchmarkId::new(format!("whole-world/{name}"), size.name()),
                |b| b.iter(|| whole_world_preview(black_box(&f.world), black_box(&edit))),
            );
        }
        g.finish();
    }
}

/// The preview as `tui::bridge::preview` computed it before the previewer (its output is
/// compared with the previewer's in `src/tui/bridge_tests.rs`).
fn whole_world_preview(world: &World, edit: &Edit) -> String {
    let planner = Planner::new(world);
    let plan = planner.plan(edit).unwrap();
    let after = apply_to_world(world, &plan);
    let mut lines = plan.exposure.lines();
    if let Some(Edit::Annotations { resource, .. }) = &plan.edit {
        let chain = |w: &World, e: &Exposure| {
            let g = lbsg::tui::model::graph::build(&Index::new(w), e, resource);
            format!(
                "{} ({} reachable, {} blocked)",
                g.exposure.text, g.reach.reachable, g.reach.blocked
            )
        };
        let before = chain(world, planner.reach().exposure());
        let after = chain(&after, &exposure(&after));
        lines.push(if before == after {
            format!("{resource}: {before} (unchanged)")
        } else {
            format!("{resource}: {before} → {after}")
        });
    }
    if lines.is_empty() {
        lines.push("no change in who can reach what".into());
    }
    render_text(world, &plan, &lines)
}

/// The reference planner (two full drifts of world copies), for comparison.
fn plan_simple_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("plan-simple");
        tune(&mut g, size);
        if let Some((name, edit)) = edits(&f.world).into_iter().next() {
            g.bench_function(BenchmarkId::new(name, size.name()), |b| {
                b.iter(|| plan_simple(black_box(&f.world), black_box(&edit)))
            });
        }
        g.finish();
    }
}

/// Reachability of every LB (the index of the world, then every listener and target), and
/// its two halves.
fn reach_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("reach");
        tune(&mut g, size);
        g.bench_function(BenchmarkId::new("index", size.name()), |b| {
            b.iter(|| WorldIndex::new(black_box(&f.world)))
        });
        let idx = WorldIndex::new(&f.world);
        g.bench_function(BenchmarkId::new("exposure-given-index", size.name()), |b| {
            b.iter(|| exposure_with(black_box(&idx)))
        });
        g.bench_function(BenchmarkId::new("full", size.name()), |b| {
            b.iter(|| exposure(black_box(&f.world)))
        });
        g.finish();
    }
}

/// The whole-world topology from an index and exposure already computed (what `lbsg graph`
/// and the TUI add on top of reachability).
fn graph_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let idx = WorldIndex::new(&f.world);
        let e = exposure_with(&idx);
        let mut g = c.benchmark_group("graph");
        tune(&mut g, size);
        g.bench_function(BenchmarkId::new("build", size.name()), |b| {
            b.iter(|| build_with(black_box(&idx), black_box(&e)))
        });
        g.finish();
    }
}

/// Every check (D01–D30, X01–X06) with the desired state, drift and exposure it reads.
fn audit_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("audit");
        tune(&mut g, size);
        g.bench_function(BenchmarkId::new("full", size.name()), |b| {
            b.iter(|| audit(black_box(&f.world)))
        });
        g.finish();
    }
}

/// The start of every front end, from a world file: load, then what the LBC would do; and the
/// whole analysis (index, reachability, graph, and the audit reusing that reachability;
/// target for the large world: under 1 s).
fn pipeline(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let mut g = c.benchmark_group("pipeline");
        tune(&mut g, size);
        for (format, text) in [("yaml", &f.text), ("json", &f.json)] {
            let id = format!("load+desired+drift/{format}");
            g.bench_function(BenchmarkId::new(id, size.name()), |b| {
                b.iter_with_large_drop(|| {
                    let w = load_str(black_box(text), "bench").unwrap();
                    let changes = Planner::new(&w).drift().changes.len();
                    (w, changes)
                })
            });
            let id = format!("load+reach+graph+audit/{format}");
            g.bench_function(BenchmarkId::new(id, size.name()), |b| {
                b.iter_with_large_drop(|| {
                    let w = load_str(black_box(text), "bench").unwrap();
                    let idx = WorldIndex::new(&w);
                    let e = exposure_with(&idx);
                    let nodes = build_with(&idx, &e).node_count();
                    let findings = audit_with(&w, &e).findings.len();
                    drop((idx, e));
                    (w, nodes, findings)
                })
            });
        }
        g.finish();
    }
}

criterion_group!(
    benches,
    load,
    desired_state,
    drift_bench,
    plan_bench,
    planner_bench,
    preview_bench,
    plan_simple_bench,
    exposure_diff_bench,
    reach_bench,
    graph_bench,
    audit_bench,
    pipeline
);
criterion_main!(benches);
