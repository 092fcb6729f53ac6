//! Which Services the LBC reconciles at all (lbc-semantics §2, last paragraph).

use super::service_annotations;
use crate::world::{ControllerConfig, Service};

pub const LB_TYPE_NLB_IP: &str = "nlb-ip";
pub const LB_TYPE_EXTERNAL: &str = "external";
pub const TARGET_TYPE_IP: &str = "ip";
pub const TARGET_TYPE_INSTANCE: &str = "instance";

pub(crate) const LB_TYPE_KEY: &str = "aws-load-balancer-type";
pub(crate) const TARGET_TYPE_KEY: &str = "aws-load-balancer-nlb-target-type";

/// Whether this LBC would build a load balancer for the Service.
///
/// Not being deleted; with gate `ServiceTypeLoadBalancerOnly` only `type: LoadBalancer` (without
/// the gate the LBC does not look at the type here); a set `spec.loadBalancerClass` must equal the
/// controller's class and then decides alone; otherwise the `aws-load-balancer-type` annotation
/// must be `nlb-ip`, or `external` with an `ip`/`instance` target type annotation.
pub fn is_lbc_service(cfg: &ControllerConfig, svc: &Service) -> bool {
    if svc.meta.deleting {
        return false;
    }
    if cfg.feature_gates.enabled("ServiceTypeLoadBalancerOnly") && svc.spec.type_ != "LoadBalancer"
    {
        return false;
    }
    if let Some(class) = &svc.spec.load_balancer_class {
        return *class == cfg.load_balancer_class;
    }
    let ann = service_annotations(svc);
    match ann.get(LB_TYPE_KEY) {
        Some(LB_TYPE_NLB_IP) => true,
        Some(LB_TYPE_EXTERNAL) => matches!(
            ann.get(TARGET_TYPE_KEY),
            Some(TARGET_TYPE_IP | TARGET_TYPE_INSTANCE)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::service::test_service;

    fn svc(ann: &[(&str, &str)], class: Option<&str>, type_: &str) -> Service {
        let mut s = test_service(ann, vec![]);
        s.spec.type_ = type_.into();
        s.spec.load_balancer_class = class.map(String::from);
        s
    }

    #[test]
    fn annotations_decide_without_a_class() {
        let cfg = ControllerConfig::default();
        assert!(is_lbc_service(
            &cfg,
            &svc(&[(LB_TYPE_KEY, "nlb-ip")], None, "LoadBalancer")
        ));
        assert!(is_lbc_service(
            &cfg,
            &svc(
                &[(LB_TYPE_KEY, "external"), (TARGET_TYPE_KEY, "instance")],
                None,
                "LoadBalancer"
            )
        ));
        // `external` needs a valid target type; values are case-sensitive
        assert!(!is_lbc_service(
            &cfg,
            &svc(&[(LB_TYPE_KEY, "external")], None, "LoadBalancer")
        ));
        assert!(!is_lbc_service(
            &cfg,
            &svc(
                &[(LB_TYPE_KEY, "external"), (TARGET_TYPE_KEY, "IP")],
                None,
                "LoadBalancer"
            )
        ));
        assert!(!is_lbc_service(&cfg, &svc(&[], None, "LoadBalancer")));
    }

    #[test]
    fn class_wins_over_annotations() {
        let cfg = ControllerConfig::default();
        assert!(is_lbc_service(
            &cfg,
            &svc(&[], Some("service.k8s.aws/nlb"), "LoadBalancer")
        ));
        assert!(!is_lbc_service(
            &cfg,
            &svc(
                &[(LB_TYPE_KEY, "nlb-ip")],
                Some("other/class"),
                "LoadBalancer"
            )
        ));
    }

    #[test]
    fn type_only_checked_under_gate_and_deleting_is_out() {
        let mut cfg = ControllerConfig::default();
        let cluster_ip = svc(&[(LB_TYPE_KEY, "nlb-ip")], None, "ClusterIP");
        assert!(is_lbc_service(&cfg, &cluster_ip));
        cfg.feature_gates
            .0
            .insert("ServiceTypeLoadBalancerOnly".into(), true);
        assert!(!is_lbc_service(&cfg, &cluster_ip));

        let mut gone = svc(&[(LB_TYPE_KEY, "nlb-ip")], None, "LoadBalancer");
        gone.meta.deleting = true;
        assert!(!is_lbc_service(&ControllerConfig::default(), &gone));
    }
}
