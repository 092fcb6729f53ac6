//! The Service model build: composes the layers in the LBC's order, so the first failing step
//! gives the LBC's error (`Failed build model due to <err>`).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::networking::{self, LegacyInput};
use super::ownership::TARGET_TYPE_INSTANCE;
use super::{frontend, lb_attrs, lb_sgs, listeners, service_annotations, target_group};
use crate::core::lbc::model::StackModel;
use crate::core::lbc::resolve::SgResolver;
use crate::world::{ControllerConfig, Service, Subnet};

const TARGET_NODE_LABELS_KEY: &str = "aws-load-balancer-target-node-labels";
const MULTI_CLUSTER_KEY: &str = "aws-load-balancer-multi-cluster-target-group";

/// The NLB that already carries this Service's stack tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingLb {
    pub scheme: String,
    /// Its current SGs; empty = created without SGs (it can never gain any).
    pub security_groups: Vec<String>,
    pub ip_address_type: String,
}

/// Everything outside the Service that the build reads.
pub struct ServiceCtx<'a> {
    pub config: &'a ControllerConfig,
    /// The shared backend SG's id, or [`crate::core::lbc::model::BACKEND_SG_TOKEN`] when it does
    /// not exist yet.
    pub backend_sg_id: &'a str,
    /// The subnets the NLB uses.
    pub lb_subnets: &'a [Subnet],
    /// Associated VPC CIDR blocks (IPv4 / IPv6) only.
    pub vpc_cidrs: &'a [String],
    pub vpc_ipv6_cidrs: &'a [String],
    pub existing_lb: Option<ExistingLb>,
    /// Resolves custom SG names/ids of `aws-load-balancer-security-groups`.
    pub resolver: &'a dyn SgResolver,
}

/// What the LBC would build for this Service: the LB's SGs, the managed SG, each target group
/// (id `<ns>/<svc>:<port>`) and its TGB networking. Errors are the LBC's exact messages.
/// Only Services [`super::is_lbc_service`] accepts should be passed in.
pub fn build_service_model(ctx: &ServiceCtx<'_>, svc: &Service) -> Result<StackModel, String> {
    let cfg = ctx.config;
    let ann = service_annotations(svc);
    let scheme = lb_attrs::scheme(
        &ann,
        ctx.existing_lb.as_ref(),
        &cfg.default_load_balancer_scheme,
    )?;
    let ip_type = lb_attrs::ip_address_type(&ann)?;
    let sgs = lb_sgs::decide(ctx, svc, &ip_type)?;
    // The LB's own tags: the same check as the managed SG's, reached on the SG-less path too.
    frontend::resource_tags(cfg, &ann)?;
    let private_link = lb_attrs::private_link_enforcement(&ann)?;

    let (ports, lcfg) = listeners::listener_ports(cfg, svc)?;
    let mut listeners = BTreeMap::new();
    let mut target_groups = BTreeMap::new();
    let mut tgb_networking = BTreeMap::new();
    for lp in &ports {
        let (listener_protocol, tg_protocol) = lcfg.protocols(lp)?;
        let id = format!("{}/{}:{}", svc.meta.namespace, svc.meta.name, lp.port.port);
        // A second listener on the same port number reuses the first target group.
        if let Entry::Vacant(slot) = target_groups.entry(id) {
            let tg = target_group::build(cfg, svc, &lp.port, &tg_protocol, &ip_type)?;
            if tg.model.target_type == TARGET_TYPE_INSTANCE {
                ann.string_map(TARGET_NODE_LABELS_KEY)?;
            }
            let net = if sgs.lb_security_groups.is_empty() {
                networking::legacy(&LegacyInput {
                    svc,
                    tg_port: &tg.model.port,
                    hc_port: &tg.health_check_port,
                    tg_protocol: &tg_protocol,
                    tg_ip_address_type: &tg.model.ip_address_type,
                    preserve_client_ip: tg.preserve_client_ip,
                    scheme: &scheme,
                    lb_subnets: ctx.lb_subnets,
                    vpc_cidrs: ctx.vpc_cidrs,
                    vpc_ipv6_cidrs: ctx.vpc_ipv6_cidrs,
                })?
            } else {
                networking::sg_mode(
                    sgs.rule_source_sg.as_deref(),
                    &tg.model.port,
                    &tg.health_check_port,
                    &tg_protocol,
                    cfg.disable_restricted_sg_rules,
                )
            };
            ann.bool(MULTI_CLUSTER_KEY)?;
            tgb_networking.insert(slot.key().clone(), net);
            slot.insert(tg.model);
        }
        // The LBC keeps the first listener resource of a port number.
        listeners.entry(lp.port.port).or_insert(listener_protocol);
    }

    Ok(StackModel {
        frontend: sgs.frontend,
        lb_security_groups: sgs.lb_security_groups,
        backend_sg_allocated: sgs.backend_sg_allocated,
        rule_source_sg: sgs.rule_source_sg,
        scheme,
        ip_address_type: ip_type,
        private_link_enforcement: private_link,
        listeners,
        target_groups,
        tgb_networking,
        frontend_nlb_security_groups: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::model::{BACKEND_SG_TOKEN, Frontend};
    use crate::core::lbc::service::test_service;
    use crate::world::{IntOrString, ServicePort};

    /// A resolver that must not be reached.
    struct NoResolver;
    impl SgResolver for NoResolver {
        fn resolve(&self, names_or_ids: &[String]) -> Result<Vec<String>, String> {
            Err(format!("unexpected resolve {names_or_ids:?}"))
        }
    }

    fn svc(ann: &[(&str, &str)], ports: &[(i32, &str)]) -> Service {
        let ports = ports
            .iter()
            .map(|(n, proto)| ServicePort {
                name: Some(format!("{proto}-{n}")),
                protocol: Some((*proto).into()),
                port: *n,
                target_port: Some(IntOrString::Int(8000 + n)),
                node_port: Some(30000 + n),
            })
            .collect();
        test_service(ann, ports)
    }

    fn build(
        cfg: &ControllerConfig,
        existing: Option<ExistingLb>,
        s: &Service,
    ) -> Result<StackModel, String> {
        let subnets = [Subnet {
            id: "subnet-1".into(),
            cidr: "10.0.0.0/24".into(),
            ..Subnet::default()
        }];
        let ctx = ServiceCtx {
            config: cfg,
            backend_sg_id: BACKEND_SG_TOKEN,
            lb_subnets: &subnets,
            vpc_cidrs: &[],
            vpc_ipv6_cidrs: &[],
            existing_lb: existing,
            resolver: &NoResolver,
        };
        build_service_model(&ctx, s)
    }

    #[test]
    fn same_port_twice_without_merging_keeps_the_first_listener_and_tg() {
        let s = svc(&[], &[(80, "TCP"), (80, "UDP")]);
        let m = build(&ControllerConfig::default(), None, &s);
        let Ok(m) = m else {
            panic!("build failed: {m:?}");
        };
        assert_eq!(m.listeners.get(&80).map(String::as_str), Some("TCP"));
        assert_eq!(m.target_groups.len(), 1);
        assert_eq!(
            m.target_groups
                .get("ns/web:80")
                .map(|t| t.protocol.as_str()),
            Some("TCP")
        );
        // the managed SG still admits both protocols on the listener port
        let Frontend::Managed(sg) = &m.frontend else {
            panic!("expected a managed SG");
        };
        let protos: Vec<&str> = sg
            .ingress_rules
            .iter()
            .map(|r| r.protocol.as_str())
            .collect();
        assert_eq!(protos, ["tcp", "udp"]);
        assert_eq!(m.lb_security_groups, ["$managed_sg", BACKEND_SG_TOKEN]);
    }

    #[test]
    fn tag_errors_also_fail_the_sg_less_path() {
        let cfg = ControllerConfig {
            external_managed_tags: vec!["owner".into()],
            ..ControllerConfig::default()
        };
        let s = svc(
            &[("aws-load-balancer-additional-resource-tags", "owner=x")],
            &[(80, "TCP")],
        );
        let legacy = ExistingLb {
            scheme: "internal".into(),
            ..ExistingLb::default()
        };
        assert_eq!(
            build(&cfg, Some(legacy), &s).map(|m| m.frontend),
            Err("external managed tag key owner cannot be specified on Service".into())
        );
    }
}
