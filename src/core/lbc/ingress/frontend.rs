//! The ALB's security groups (lbc-semantics §4.2) and the rules of its managed SG (§5.5)
//! (`pkg/ingress/model_build_load_balancer.go` buildLoadBalancerSecurityGroups,
//! `model_build_managed_sg.go`).

use std::collections::BTreeMap;

use crate::core::lbc::manage_rules;
use crate::core::lbc::model::ManagedSg;
use crate::core::lbc::naming::{GroupId, MANAGED_SG_DESCRIPTION, ingress_sg_name};
use crate::core::lbc::resolve::SgResolver;
use crate::world::{ControllerConfig, Rule, Source};

use super::Member;
use super::merge::{ListenPortConfig, frontend_nlb_sg_tokens, frontend_sg_tokens, group_tags};

/// `dualstack` and `dualstack-without-public-ipv4` ALBs get IPv6 rules.
pub fn is_ipv6_supported(ip_address_type: &str) -> bool {
    matches!(
        ip_address_type,
        "dualstack" | "dualstack-without-public-ipv4"
    )
}

/// Inbound rules of the managed SG: per listen port, `tcp` port-port from every IPv4 CIDR, every
/// IPv6 CIDR (dual-stack only; silently dropped otherwise) and every prefix list. The LBC walks
/// ports in Go map order; here they come in ascending order (compare as a set).
pub fn managed_sg_rules(
    ports: &BTreeMap<i32, ListenPortConfig>,
    ip_address_type: &str,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (&port, cfg) in ports {
        let rule = |source: Source| Rule::new("tcp", port, port, source, "");
        rules.extend(
            cfg.inbound_cidr_v4
                .iter()
                .map(|c| rule(Source::Cidr(c.clone()))),
        );
        if is_ipv6_supported(ip_address_type) {
            rules.extend(
                cfg.inbound_cidr_v6
                    .iter()
                    .map(|c| rule(Source::CidrV6(c.clone()))),
            );
        }
        rules.extend(
            cfg.prefix_lists
                .iter()
                .map(|p| rule(Source::PrefixList(p.clone()))),
        );
    }
    rules
}

pub use crate::core::lbc::model::LbSgDecision as LbSecurityGroups;

/// Inputs of the ALB SG decision.
pub struct SgInputs<'a> {
    pub config: &'a ControllerConfig,
    /// The shared backend SG's id (or [`crate::core::lbc::model::BACKEND_SG_TOKEN`]).
    pub backend_sg_id: &'a str,
    pub group: &'a GroupId,
    pub ip_address_type: &'a str,
    pub resolver: &'a dyn SgResolver,
}

/// No `security-groups` on any member ⇒ managed SG (+ backend SG unless disabled). Otherwise the
/// resolved custom SGs, plus the backend SG when manage-backend-security-group-rules is on.
pub fn lb_security_groups(
    inputs: &SgInputs<'_>,
    members: &[Member<'_>],
    ports: &BTreeMap<i32, ListenPortConfig>,
) -> Result<LbSecurityGroups, String> {
    let cfg = inputs.config;
    let tokens = frontend_sg_tokens(members)?;
    if tokens.is_empty() {
        let managed = ManagedSg {
            name: ingress_sg_name(&cfg.cluster_name, inputs.group),
            description: MANAGED_SG_DESCRIPTION.to_string(),
            tags: group_tags(members, cfg)?,
            ingress_rules: managed_sg_rules(ports, inputs.ip_address_type),
        };
        return Ok(LbSecurityGroups::managed(
            managed,
            cfg.enable_backend_security_group,
            inputs.backend_sg_id,
        ));
    }
    // The flag is parsed and the names resolved before the backend-SG check, as in the LBC.
    let anns: Vec<_> = members.iter().map(Member::ann).collect();
    let manage = manage_rules::ingress_flag(&anns, cfg.enable_manage_backend_security_group_rules)?;
    let ids = inputs.resolver.resolve(&tokens)?;
    LbSecurityGroups::custom(
        ids,
        manage,
        cfg.enable_backend_security_group,
        inputs.backend_sg_id,
        "backendSG feature is required to manage worker node SG rules when frontendSG manually specified",
    )
}

/// SGs of the frontend NLB from `frontend-nlb-security-groups` (resolved); `None` = the NLB
/// reuses the ALB's SG list (`pkg/ingress/model_build_frontend_nlb.go`).
pub fn frontend_nlb_security_groups(
    members: &[Member<'_>],
    resolver: &dyn SgResolver,
) -> Result<Option<Vec<String>>, String> {
    let tokens = frontend_nlb_sg_tokens(members)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    resolver.resolve(&tokens).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::model::{Frontend, MANAGED_SG_TOKEN};
    use crate::world::{Ingress, Meta};

    struct Fixed(Result<Vec<String>, String>);
    impl SgResolver for Fixed {
        fn resolve(&self, _: &[String]) -> Result<Vec<String>, String> {
            self.0.clone()
        }
    }

    fn ing(ann: &[(&str, &str)]) -> Ingress {
        Ingress {
            meta: Meta {
                namespace: "ns".into(),
                name: "i".into(),
                annotations: ann
                    .iter()
                    .map(|(k, v)| (format!("alb.ingress.kubernetes.io/{k}"), v.to_string()))
                    .collect(),
                ..Meta::default()
            },
            ..Ingress::default()
        }
    }

    fn port_cfg(v4: &[&str], v6: &[&str], pl: &[&str]) -> BTreeMap<i32, ListenPortConfig> {
        let s = |x: &[&str]| x.iter().map(|c| c.to_string()).collect();
        [(
            443,
            ListenPortConfig {
                protocol: "HTTPS".into(),
                inbound_cidr_v4: s(v4),
                inbound_cidr_v6: s(v6),
                prefix_lists: s(pl),
                ssl_policy: None,
            },
        )]
        .into()
    }

    #[test]
    fn v6_rules_only_on_dual_stack() {
        let ports = port_cfg(&["0.0.0.0/0"], &["::/0"], &["pl-1"]);
        let v4 = managed_sg_rules(&ports, "ipv4");
        assert_eq!(v4.len(), 2);
        assert!(
            v4.iter()
                .all(|r| r.protocol == "tcp" && r.from_port == Some(443))
        );
        let ds = managed_sg_rules(&ports, "dualstack-without-public-ipv4");
        assert!(ds.iter().any(|r| r.source == Source::CidrV6("::/0".into())));
    }

    fn inputs<'a>(cfg: &'a ControllerConfig, group: &'a GroupId, r: &'a Fixed) -> SgInputs<'a> {
        SgInputs {
            config: cfg,
            backend_sg_id: "sg-backend",
            group,
            ip_address_type: "ipv4",
            resolver: r,
        }
    }

    #[test]
    fn managed_without_backend_sg_uses_itself_as_source() {
        let cfg = ControllerConfig {
            cluster_name: "demo".into(),
            enable_backend_security_group: false,
            ..ControllerConfig::default()
        };
        let group = GroupId::Explicit("public-alb".into());
        let r = Fixed(Err("unused".into()));
        let i = ing(&[]);
        let out = lb_security_groups(
            &inputs(&cfg, &group, &r),
            &[Member {
                ing: &i,
                params: None,
            }],
            &port_cfg(&["0.0.0.0/0"], &[], &[]),
        )
        .unwrap();
        assert_eq!(out.lb_security_groups, vec![MANAGED_SG_TOKEN]);
        assert_eq!(out.rule_source_sg.as_deref(), Some(MANAGED_SG_TOKEN));
        assert!(!out.backend_sg_allocated);
        assert!(
            matches!(out.frontend, Frontend::Managed(m) if m.name == "k8s-publicalb-3d16e96840")
        );
    }

    #[test]
    fn custom_sgs_with_and_without_manage_rules() {
        let cfg = ControllerConfig::default();
        let group = GroupId::Explicit("g".into());
        let r = Fixed(Ok(vec!["sg-1".into()]));
        let plain = ing(&[("security-groups", "web")]);
        let out = lb_security_groups(
            &inputs(&cfg, &group, &r),
            &[Member {
                ing: &plain,
                params: None,
            }],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(out.lb_security_groups, vec!["sg-1"]);
        assert_eq!(out.rule_source_sg, None);
        let managed = ing(&[
            ("security-groups", "web"),
            ("manage-backend-security-group-rules", "true"),
        ]);
        let out = lb_security_groups(
            &inputs(&cfg, &group, &r),
            &[Member {
                ing: &managed,
                params: None,
            }],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(out.lb_security_groups, vec!["sg-1", "sg-backend"]);
        assert!(out.backend_sg_allocated);
        let no_backend = ControllerConfig {
            enable_backend_security_group: false,
            ..ControllerConfig::default()
        };
        let e = lb_security_groups(
            &inputs(&no_backend, &group, &r),
            &[Member {
                ing: &managed,
                params: None,
            }],
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "backendSG feature is required to manage worker node SG rules when frontendSG manually specified"
        );
    }
}
