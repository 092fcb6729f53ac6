//! `lbsg graph [--format dot|mermaid|json] [RESOURCE]`: the topology, whole or one chain.

use std::process::ExitCode;

use super::args::{GraphArgs, GraphFormat, SourceArgs};
use super::source;
use crate::core::export::{dot, json, mermaid};
use crate::core::graph::{build_for, build_with};
use crate::core::plan::ResourceRef;
use crate::core::reach::{WorldIndex, exposure_with};

pub fn run_graph(src: &SourceArgs, a: &GraphArgs) -> ExitCode {
    let resource = match a.resource.as_deref().map(ResourceRef::parse).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lbsg graph: {e}");
            return ExitCode::from(2);
        }
    };
    let (world, _) = match source::load(src) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lbsg graph: {e}");
            return ExitCode::from(2);
        }
    };
    let idx = WorldIndex::new(&world);
    let e = exposure_with(&idx);
    let topology = match &resource {
        None => build_with(&idx, &e),
        Some(r) => match build_for(&idx, &e, r) {
            Some(t) => t,
            None => {
                eprintln!(
                    "lbsg graph: {r} is not in this world; `lbsg audit` lists the Services and Ingresses"
                );
                return ExitCode::from(2);
            }
        },
    };
    let out = match a.format {
        GraphFormat::Dot => dot::render(&topology),
        GraphFormat::Mermaid => mermaid::render(&topology),
        GraphFormat::Json => json::render(&topology),
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    ExitCode::SUCCESS
}
