//! Which SGs the NLB gets and which SG is the source of target rules (lbc-semantics §4.1).

use super::build::ServiceCtx;
use super::{frontend, service_annotations};
use crate::core::lbc::manage_rules;
use crate::core::lbc::model::{Frontend, MANAGED_SG_TOKEN};
use crate::world::Service;

const DISABLE_NLB_SG_KEY: &str = "aws-load-balancer-disable-nlb-sg";
const SECURITY_GROUPS_KEY: &str = "aws-load-balancer-security-groups";

/// The outcome of the LB SG decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSgDecision {
    pub frontend: Frontend,
    /// In the LBC's order; [`MANAGED_SG_TOKEN`] stands for the managed SG. Empty = legacy NLB.
    pub lb_security_groups: Vec<String>,
    /// Source SG of target rules; `None` = custom SGs without manage-rules (or legacy NLB).
    pub rule_source_sg: Option<String>,
    pub backend_sg_allocated: bool,
}

impl LbSgDecision {
    fn none() -> Self {
        LbSgDecision {
            frontend: Frontend::None,
            lb_security_groups: Vec::new(),
            rule_source_sg: None,
            backend_sg_allocated: false,
        }
    }
}

/// First match wins: an existing NLB without SGs stays SG-less; gate off or `disable-nlb-sg`
/// gives none (error if the NLB has SGs); no `security-groups` ⇒ managed (+ backend SG);
/// otherwise the resolved custom SGs (+ backend SG when manage-rules).
pub fn decide(
    ctx: &ServiceCtx<'_>,
    svc: &Service,
    ip_address_type: &str,
) -> Result<LbSgDecision, String> {
    let ann = service_annotations(svc);
    let cfg = ctx.config;
    // Parsed before anything else, so a bad value fails even on the legacy path.
    let disabled = ann.bool(DISABLE_NLB_SG_KEY)?.unwrap_or(false);
    let existing_sgs = ctx.existing_lb.as_ref().map(|lb| &lb.security_groups);
    if existing_sgs.is_some_and(|sgs| sgs.is_empty()) {
        return Ok(LbSgDecision::none());
    }
    if !cfg.feature_gates.enabled("NLBSecurityGroup") || disabled {
        if existing_sgs.is_some_and(|sgs| !sgs.is_empty()) {
            return Err("conflicting security groups configuration".to_string());
        }
        return Ok(LbSgDecision::none());
    }
    let backend = ctx.backend_sg_id.to_string();
    let tokens = ann.list(SECURITY_GROUPS_KEY).unwrap_or_default();
    if tokens.is_empty() {
        let sg = frontend::managed_sg(cfg, svc, ip_address_type)?;
        let mut lb_sgs = vec![MANAGED_SG_TOKEN.to_string()];
        let (source, allocated) = if cfg.enable_backend_security_group {
            lb_sgs.push(backend.clone());
            (backend, true)
        } else {
            (MANAGED_SG_TOKEN.to_string(), false)
        };
        return Ok(LbSgDecision {
            frontend: Frontend::Managed(sg),
            lb_security_groups: lb_sgs,
            rule_source_sg: Some(source),
            backend_sg_allocated: allocated,
        });
    }
    // The flag is parsed and names resolved before the backend-SG-enabled check.
    let manage = manage_rules::service_flag(&ann, cfg.enable_manage_backend_security_group_rules)?;
    let ids = ctx.resolver.resolve(&tokens)?;
    let mut lb_sgs = ids.clone();
    let mut decision = LbSgDecision {
        frontend: Frontend::Custom(ids),
        lb_security_groups: Vec::new(),
        rule_source_sg: None,
        backend_sg_allocated: false,
    };
    if manage {
        if !cfg.enable_backend_security_group {
            return Err("backendSG feature is required to manage worker node SG rules when frontendSG is manually specified".to_string());
        }
        lb_sgs.push(backend.clone());
        decision.rule_source_sg = Some(backend);
        decision.backend_sg_allocated = true;
    }
    decision.lb_security_groups = lb_sgs;
    Ok(decision)
}
