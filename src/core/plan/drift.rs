//! Drift: the plan the LBC would carry out on the world as it is, with no edit.
//! (Filled in once the desired state of a whole world is assembled.)

use super::Plan;
use crate::world::World;

/// What the LBC would change in AWS if it reconciled everything now.
pub fn drift(_world: &World) -> Plan {
    Plan::default()
}
