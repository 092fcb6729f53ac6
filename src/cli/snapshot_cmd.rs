//! `lbsg snapshot --out FILE [--stats]`: the current world as a world file.

use std::process::ExitCode;

use super::args::{SnapshotArgs, SourceArgs};
use super::source::{self, WorldOrigin};
use crate::world::file::save_path_atomic;

pub fn run_snapshot(src: &SourceArgs, a: &SnapshotArgs) -> ExitCode {
    let (world, origin) = match source::load(src) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lbsg snapshot: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = save_path_atomic(&world, &a.out) {
        eprintln!("lbsg snapshot: {e}");
        return ExitCode::from(2);
    }
    eprintln!("lbsg snapshot: wrote {}", a.out.display());
    if a.stats {
        match &origin {
            WorldOrigin::Live(live) => match &live.1.aws {
                Some(aws) => print!("{}", aws.stats().render()),
                None => println!("no AWS calls were made (--no-aws)"),
            },
            _ => println!("no API calls were made: the world came from a file or the demo"),
        }
    }
    ExitCode::SUCCESS
}
