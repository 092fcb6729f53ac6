//! `lbsg dev …` (hidden): generated worlds for benchmarks and demos, and load statistics.

use std::process::ExitCode;
use std::time::Instant;

use super::args::{DevCommand, GenWorldArgs, SourceArgs};
use super::source;
use crate::core::desired::desired;
use crate::core::plan::drift::drift_of;
use crate::devtools::worldgen::{GenSpec, Size, generate, stats};
use crate::world::file::save_path_atomic;

pub fn run(src: &SourceArgs, cmd: &DevCommand) -> ExitCode {
    let result = match cmd {
        DevCommand::GenWorld(a) => gen_world(a),
        DevCommand::Stats => world_stats(src),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lbsg dev: {e}");
            ExitCode::from(2)
        }
    }
}

fn gen_world(a: &GenWorldArgs) -> Result<(), String> {
    let size = Size::parse(&a.size)?;
    let started = Instant::now();
    let g = generate(&GenSpec::new(a.seed, size, a.problems))?;
    save_path_atomic(&g.world, &a.out).map_err(|e| e.to_string())?;
    println!(
        "wrote {} ({} world, seed {}, {:.1} s): {}",
        a.out.display(),
        size.name(),
        a.seed,
        started.elapsed().as_secs_f64(),
        stats(&g.world)
    );
    println!("{} planted problems", g.planted.len());
    for p in &g.planted {
        println!("  {}: {}", p.kind, p.subject);
    }
    Ok(())
}

fn world_stats(src: &SourceArgs) -> Result<(), String> {
    let t = Instant::now();
    let (world, _) = source::load(src)?;
    let load = t.elapsed();
    let t = Instant::now();
    let d = desired(&world);
    let des = t.elapsed();
    let t = Instant::now();
    let plan = drift_of(&world, &d);
    let dr = t.elapsed();
    println!("{}", stats(&world));
    println!(
        "load {:.3} s, desired {:.1} ms ({} stacks), drift {:.1} ms ({} changes, {} errors)",
        load.as_secs_f64(),
        des.as_secs_f64() * 1e3,
        d.stacks.len(),
        dr.as_secs_f64() * 1e3,
        plan.changes.len(),
        plan.errors.len()
    );
    Ok(())
}
