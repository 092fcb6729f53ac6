//! IO the reducer asks for, as data. The runtime executes each and answers with an `Action`.

use std::sync::Arc;

use crate::core::plan::{Edit, Plan};
use crate::world::World;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Load (or reload) the world from the source, then analyse it. Answers `WorldLoaded` or
    /// `WorldLoadFailed`.
    LoadWorld,
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
