//! Where a command's world comes from: the embedded demo, a world file, or the live APIs,
//! with the command line's controller overrides applied.

use std::path::PathBuf;

use super::args::SourceArgs;
use super::live::{Live, load_live};
use crate::world::file::{load_path, load_str};
use crate::world::{Origin, World};

/// The demo world, compiled into the binary.
pub const DEMO_WORLD: &str = include_str!("../../assets/demo/world.yaml");

/// Which source a world was loaded from; decides where `apply` writes.
pub enum WorldOrigin {
    Demo,
    File(PathBuf),
    /// Live APIs, with the runtime and clients that loaded them (reused to apply).
    Live(Box<(tokio::runtime::Runtime, Live)>),
}

/// Load the world the flags ask for. Errors are one clear message for the user; notes about
/// what could not be loaded go to stderr.
pub fn load(args: &SourceArgs) -> Result<(World, WorldOrigin), String> {
    let (mut world, origin) = if args.demo {
        let w = load_str(DEMO_WORLD, "demo world")
            .map_err(|e| format!("the embedded demo world is broken: {e}"))?;
        (w, WorldOrigin::Demo)
    } else if let Some(path) = &args.world {
        let w = load_path(path).map_err(|e| e.to_string())?;
        (w, WorldOrigin::File(path.clone()))
    } else {
        let rt = runtime()?;
        let live = rt.block_on(load_live(args, &|m: &str| eprintln!("lbsg: {m}")))?;
        for n in &live.notes {
            eprintln!("lbsg: note: {n}");
        }
        (live.world.clone(), WorldOrigin::Live(Box::new((rt, live))))
    };
    if !matches!(origin, WorldOrigin::Live(_)) {
        apply_overrides(&mut world, args)?;
    }
    Ok((world, origin))
}

/// A multi-threaded runtime for the live clients.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `--cluster-name` and `--controller-arg` win over what the source said. (Live worlds get
/// them from the controller discovery, which records them as overrides.)
pub fn apply_overrides(world: &mut World, args: &SourceArgs) -> Result<(), String> {
    if args.cluster_name.is_none() && args.controller_args.is_empty() {
        return Ok(());
    }
    let mut cfg = world.controller_or_default();
    if let Some(name) = &args.cluster_name {
        cfg.set("cluster-name", name, Origin::Override)
            .map_err(|e| e.to_string())?;
        world.cluster.name = Some(name.clone());
    }
    for raw in &args.controller_args {
        let flag = raw.trim_start_matches('-');
        let (name, value) = flag.split_once('=').unwrap_or((flag, "true"));
        cfg.set(name, value, Origin::Override)
            .map_err(|e| format!("--controller-arg {raw}: {e}"))?;
    }
    world.controller = Some(cfg);
    Ok(())
}
