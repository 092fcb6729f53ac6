//! The Service (NLB) path of the LBC: which Services it handles, which SGs the NLB gets, the
//! managed SG's rules, and the TargetGroupBinding networking of each target group
//! (lbc-semantics §2–§5.4, §7.2, §7.3). One file per layer; [`build_service_model`] composes them.

pub mod build;
pub mod frontend;
pub mod lb_attrs;
pub mod lb_sgs;
pub mod listeners;
pub mod networking;
pub mod ownership;
pub mod target_group;

pub use build::{ExistingLb, ServiceCtx, build_service_model};
pub use ownership::is_lbc_service;

use super::annotations::{Annotations, Kind};
use crate::world::{IntOrString, Service, ServicePort};

/// The Service's annotations under the `service.beta.kubernetes.io/` prefix.
pub fn service_annotations(svc: &Service) -> Annotations<'_> {
    Annotations::new(Kind::Service, &svc.meta.annotations)
}

/// The port's protocol as the LBC sees it: an unset protocol is `""`, not `TCP`.
pub(crate) fn port_protocol(port: &ServicePort) -> &str {
    port.protocol.as_deref().unwrap_or("")
}

/// The port's `targetPort`; unset means the API server default, the service port.
pub(crate) fn target_port(port: &ServicePort) -> IntOrString {
    port.target_port
        .clone()
        .unwrap_or(IntOrString::Int(port.port))
}

/// Go `intstr.Parse`: a decimal number becomes an int (truncated to 32 bits), anything else a name.
pub(crate) fn parse_int_or_string(raw: &str) -> IntOrString {
    match raw.parse::<i64>() {
        Ok(v) => IntOrString::Int(v as i32),
        Err(_) => IntOrString::Str(raw.to_string()),
    }
}

/// Go `IntOrString.IntValue()`: a name that is not a number counts as 0.
pub(crate) fn int_value(p: &IntOrString) -> i64 {
    match p {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::Str(s) => s.parse().unwrap_or(0),
    }
}

/// The health-check port literal that means "the traffic port".
pub const TRAFFIC_PORT: &str = "traffic-port";

pub(crate) fn is_traffic_port(p: &IntOrString) -> bool {
    matches!(p, IntOrString::Str(s) if s == TRAFFIC_PORT)
}

/// Test fixture: a `LoadBalancer` Service `ns/web` with the given annotation suffixes and ports.
#[cfg(test)]
pub(crate) fn test_service(ann: &[(&str, &str)], ports: Vec<ServicePort>) -> Service {
    let mut s = Service::default();
    s.meta.namespace = "ns".into();
    s.meta.name = "web".into();
    s.spec.type_ = "LoadBalancer".into();
    s.spec.ports = ports;
    for (k, v) in ann {
        s.meta.annotations.insert(
            format!("{}{k}", super::annotations::SVC_PREFIX),
            (*v).to_string(),
        );
    }
    s
}
