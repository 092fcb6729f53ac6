//! Benchmarks of the sans-IO core on generated worlds: world-file load, desired state, drift,
//! and an edit turned into a plan. `BENCHMARKS.md` records the numbers and the commands.
//!
//! `cargo bench --bench core` (sizes: `LBSG_BENCH_SIZES=small,large,stretch`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lbsg::core::desired::desired;
use lbsg::core::plan::drift::drift_of;
use lbsg::core::plan::{Planner, drift, plan, plan_simple};
use lbsg::devtools::worldgen::Size;
use lbsg::world::file::load_str;

use support::{edits, fixture, sizes};

/// Fewer, longer samples for the big sizes: each iteration takes up to seconds there.
fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, size: Size) {
    match size {
        Size::Tiny | Size::Small => {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(4));
        }
        Size::Large | Size::Stretch => {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(8))
                .warm_up_time(Duration::from_secs(1));
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

/// One more edit on a prepared `Planner` (what the TUI does per keystroke).
fn planner_bench(c: &mut Criterion) {
    for size in sizes() {
        let f = fixture(size);
        let planner = Planner::new(&f.world);
        let mut g = c.benchmark_group("planner-edit");
        tune(&mut g, size);
        for (name, edit) in edits(&f.world) {
            g.bench_function(BenchmarkId::new(name, size.name()), |b| {
                b.iter(|| planner.plan(black_box(&edit)))
            });
        }
        g.finish();
    }
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

/// The start of every front end, from a world file to what the LBC would do. Graph build and
/// audit join this pipeline when they land (target for the large world: under 1 s).
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
    plan_simple_bench,
    pipeline
);
criterion_main!(benches);
