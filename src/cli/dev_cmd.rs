//! `lbsg dev …` (hidden): generated worlds for benchmarks and demos, and load statistics.

use std::process::ExitCode;
use std::time::Instant;

use super::args::{DevCommand, GenWorldArgs, SourceArgs};
use super::source;
use crate::core::desired::desired;
use crate::core::plan::drift::drift_of;
use crate::devtools::worldgen::{GenSpec, Size, generate, quota, stats};
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
    let mut out = format!(
        "wrote {} ({} world, seed {}, {:.1} s): {}\n{} planted problems\n",
        a.out.display(),
        size.name(),
        a.seed,
        started.elapsed().as_secs_f64(),
        stats(&g.world),
        g.planted.len()
    );
    let t = quota::target_counts(&g.world);
    out.push_str(&format!(
        "{} targets; largest: {} per target group, {} per ALB, {} per NLB and AZ\n",
        t.total, t.max_per_tg.1, t.max_per_alb.1, t.max_per_nlb_az.1
    ));
    for e in t.excess() {
        out.push_str(&format!("  over an AWS quota: {e}\n"));
    }
    let mut by_kind: std::collections::BTreeMap<_, Vec<&str>> = std::collections::BTreeMap::new();
    for p in &g.planted {
        by_kind.entry(p.kind).or_default().push(&p.subject);
    }
    for (kind, subjects) in by_kind {
        let shown: Vec<&str> = subjects.iter().take(3).copied().collect();
        let more = subjects.len().saturating_sub(shown.len());
        out.push_str(&format!("  {kind}: {}", shown.join(", ")));
        if more > 0 {
            out.push_str(&format!(" and {more} more"));
        }
        out.push('\n');
    }
    // a closed pipe (`| head`) is not an error worth a panic
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
    Ok(())
}

fn world_stats(src: &SourceArgs) -> Result<(), String> {
    let t = Instant::now();
    let (world, _) = source::load(src)?;
    let load = t.elapsed();
    let after_load = memory();
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
    if let (Some(loaded), Some(end)) = (after_load, memory()) {
        println!("memory after load: {loaded}; at the end: {end}");
    }
    Ok(())
}

/// Resident and peak resident memory from `/proc/self/status` (Linux only).
fn memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    Some(format!(
        "resident {}, peak {}",
        field("VmRSS:")?,
        field("VmHWM:")?
    ))
}
