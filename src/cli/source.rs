//! Where a command's world comes from: the embedded demo, a world file, or (later) live APIs,
//! with the command line's controller overrides applied.

use std::path::PathBuf;

use super::args::SourceArgs;
use crate::world::file::{load_path, load_str};
use crate::world::{Origin, World};

/// The demo world, compiled into the binary.
pub const DEMO_WORLD: &str = include_str!("../../assets/demo/world.yaml");

/// Which source a world was loaded from; decides where `apply` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldOrigin {
    Demo,
    File(PathBuf),
    Live,
}

/// Load the world the flags ask for. Errors are one clear message for the user.
pub fn load(args: &SourceArgs) -> Result<(World, WorldOrigin), String> {
    let (mut world, origin) = if args.demo {
        let w = load_str(DEMO_WORLD, "demo world")
            .map_err(|e| format!("the embedded demo world is broken: {e}"))?;
        (w, WorldOrigin::Demo)
    } else if let Some(path) = &args.world {
        let w = load_path(path).map_err(|e| e.to_string())?;
        (w, WorldOrigin::File(path.clone()))
    } else {
        return Err("live mode (a kube context and AWS credentials) is not built yet in this version; use --demo or --world FILE".to_string());
    };
    apply_overrides(&mut world, args)?;
    Ok((world, origin))
}

/// `--cluster-name` and `--controller-arg` win over what the source said.
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
