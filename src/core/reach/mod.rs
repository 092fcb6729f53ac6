//! Exhaustive, exact reachability over a World (IPv4 and IPv6): address and port sets, what
//! security groups admit, and the exposure of every load balancer listener and its targets.
//!
//! Sans-IO: everything is computed from the World alone, so it works on demo, file and live
//! worlds alike, and says what it could not decide when part of the world is missing.

pub mod addr;
pub mod admit;
pub mod delta;
pub mod diff;
pub mod explain;
pub mod exposure;
pub mod index;
pub mod interval;
pub mod owners;
pub mod ports;
pub mod scale;
pub mod targets;
pub mod tg;

pub use addr::AddrSet;
pub use admit::{
    Admission, AdmittedSources, PrefixLists, Principal, RuleRef, Verdict, admits, sg_admits,
    sgs_admit,
};
pub use delta::ExposureBase;
pub use diff::{ExposureDiff, ListenerDiff, diff_exposures, exposure_diff};
pub use explain::Code;
pub use exposure::{Exposure, LbReach, ListenerReach, ResourceReach, exposure, exposure_with};
pub use index::WorldIndex;
pub use ports::{PortMap, PortSet, Proto, Traffic};
pub use tg::{Check, TargetSet, TgReach};

#[cfg(test)]
mod demo_tests;
#[cfg(test)]
mod exposure_tests;
#[cfg(test)]
pub(crate) mod fixtures;
