//! Frame time of the TUI's heaviest screens: a table of 10,000 rows and a graph of 200 nodes
//! (target < 10 ms each). Layout is the reducer's job and is measured separately.

use criterion::{Criterion, criterion_group, criterion_main};
use lbsg::tui::{bench, ui};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn frames(c: &mut Criterion) {
    let table = bench::table_state(10_000, 160, 48);
    let graph = bench::graph_state(160, 48);
    let Ok(mut term) = Terminal::new(TestBackend::new(160, 48));
    c.bench_function("render table 10k rows 160x48", |b| {
        b.iter(|| term.draw(|f| ui::render(&table, f)).map(|_| ()))
    });
    c.bench_function("render graph 200 nodes 160x48", |b| {
        b.iter(|| term.draw(|f| ui::render(&graph, f)).map(|_| ()))
    });
    c.bench_function("layout graph 200 nodes", |b| {
        let model = bench::big_graph(graph.data.resources[0].id.clone());
        b.iter(|| lbsg::tui::layout::graph::layout(&model, 156))
    });
}

criterion_group!(benches, frames);
criterion_main!(benches);
