//! Which SGs the NLB gets and which SG is the source of target rules (lbc-semantics §4.1).

use super::build::ServiceCtx;
use super::{frontend, service_annotations};
use crate::core::lbc::manage_rules;
use crate::world::Service;

const DISABLE_NLB_SG_KEY: &str = "aws-load-balancer-disable-nlb-sg";
const SECURITY_GROUPS_KEY: &str = "aws-load-balancer-security-groups";

pub use crate::core::lbc::model::LbSgDecision;

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
    let tokens = ann.list(SECURITY_GROUPS_KEY).unwrap_or_default();
    if tokens.is_empty() {
        let sg = frontend::managed_sg(cfg, svc, ip_address_type)?;
        return Ok(LbSgDecision::managed(
            sg,
            cfg.enable_backend_security_group,
            ctx.backend_sg_id,
        ));
    }
    // The flag is parsed and names resolved before the backend-SG-enabled check.
    let manage = manage_rules::service_flag(&ann, cfg.enable_manage_backend_security_group_rules)?;
    let ids = ctx.resolver.resolve(&tokens)?;
    LbSgDecision::custom(
        ids,
        manage,
        cfg.enable_backend_security_group,
        ctx.backend_sg_id,
        "backendSG feature is required to manage worker node SG rules when frontendSG is manually specified",
    )
}
