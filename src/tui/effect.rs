//! IO the reducer asks for, as data. The runtime executes each and answers with an `Action`.

use std::sync::Arc;

use crate::core::plan::{Edit, Plan};
use crate::world::World;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Load (or reload) the world from the source, then analyse it. Answers `WorldLoaded` or
    /// `WorldLoadFailed`; a live source starts (or refreshes) its session and answers with
    /// `LiveWorld`s from then on.
    LoadWorld,
    /// Start a live session on another kube context; its first world (`LiveWorld` with this
    /// generation) completes the switch, `LiveFailed` ends it.
    SwitchContext { generation: u64, context: String },
    /// Abandon the switch to session `generation` (its tasks stop, its results are dropped).
    CancelSwitch { generation: u64 },
    /// Session `generation` is now the one shown: stop every other.
    Activate { generation: u64 },
    /// These load balancers are in view: load their listeners and target health first.
    Focus { lbs: Vec<String> },
    /// Plan an edit on `world` off the UI task. Answers `PlanComputed`.
    ComputePlan {
        request: u64,
        world: Arc<World>,
        edit: Edit,
    },
    /// Apply a confirmed plan through the source's sink. Answers `PlanApplied` or `PlanApplyFailed`.
    ApplyPlan {
        request: u64,
        world: Arc<World>,
        plan: Plan,
    },
}
