//! The model of one IngressGroup's ALB (`pkg/ingress/model_builder.go` run): listen ports merged,
//! then the load balancer (scheme, IP type, SGs), then per listener the target groups of the
//! backends, then the optional frontend NLB. Errors come out in that order with the LBC's texts.
//!
//! Not modelled (no SG effect, or needs AWS): subnets, LB name/attributes, certificate
//! discovery, auth/condition/transform annotations, listener attributes, frontend-NLB listeners.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::lbc::model::StackModel;
use crate::core::lbc::naming::GroupId;
use crate::core::lbc::resolve::SgResolver;
use crate::world::{
    ControllerConfig, Ingress, IngressBackend, IngressClassParams, IntOrString, ObjKey, Service,
};

use super::frontend::{SgInputs, lb_security_groups};
use super::merge::{
    HTTP, enable_frontend_nlb, frontend_nlb_sg_tokens, group_tags, ip_address_type, listen_ports,
    scheme, ssl_redirect_port,
};
use super::target_group::{build_target_group, resource_id};
use super::{Member, go_list};

/// What the Ingress model builder needs besides the members.
pub struct IngressCtx<'a> {
    pub config: &'a ControllerConfig,
    /// The shared backend SG's id, or [`crate::core::lbc::model::BACKEND_SG_TOKEN`].
    pub backend_sg_id: &'a str,
    pub services: &'a BTreeMap<ObjKey, Service>,
    /// IngressClassParams of each member that has some, by Ingress (see
    /// [`super::class::member_class_params`]).
    pub class_params: &'a BTreeMap<ObjKey, IngressClassParams>,
    pub resolver: &'a dyn SgResolver,
}

/// A backend's forward targets: `(service name, port)` pairs.
type Targets = Vec<(String, IntOrString)>;

/// The services a backend forwards to. `use-annotation` reads `actions.<svc>` (only forward
/// actions to Services make target groups; a missing action annotation is tolerated as a 503).
fn forward_targets(m: &Member<'_>, backend: &IngressBackend) -> Result<Targets, String> {
    if backend.service_name.is_empty() {
        return Err("missing required \"service\" field".into());
    }
    if backend.service_port != IntOrString::Str("use-annotation".into()) {
        return Ok(vec![(
            backend.service_name.clone(),
            backend.service_port.clone(),
        )]);
    }
    let suffix = format!("actions.{}", backend.service_name);
    let Some(raw) = m.ann().get(&suffix) else {
        return Ok(Vec::new());
    };
    let action: Value = serde_json::from_str(raw).map_err(|e| {
        format!(
            "failed to parse json annotation, {}: {raw}: {e}",
            m.ann().full_key(&suffix)
        )
    })?;
    if action.get("type").and_then(Value::as_str) != Some("forward") {
        return Ok(Vec::new());
    }
    let groups = action
        .get("forwardConfig")
        .and_then(|f| f.get("targetGroups"))
        .and_then(Value::as_array);
    Ok(groups
        .into_iter()
        .flatten()
        .filter_map(|tg| {
            let name = tg.get("serviceName")?.as_str()?;
            // Ports are normalised with intstr.Parse, so "80" means port 80.
            let port = match tg.get("servicePort")? {
                Value::Number(n) => IntOrString::Int(i32::try_from(n.as_i64()?).ok()?),
                Value::String(s) => s
                    .parse()
                    .map(IntOrString::Int)
                    .unwrap_or(IntOrString::Str(s.clone())),
                _ => return None,
            };
            Some((name.to_string(), port))
        })
        .collect())
}

/// Target groups under construction, keyed by resource id (the first build of an id wins).
struct TargetGroups<'c, 'a> {
    ctx: &'c IngressCtx<'a>,
    ip_address_type: String,
    rule_source_sg: Option<String>,
    model: StackModel,
}

impl TargetGroups<'_, '_> {
    /// Build every target group a backend of member `m` forwards to.
    fn backend(&mut self, m: &Member<'_>, backend: &IngressBackend) -> Result<(), String> {
        let targets = forward_targets(m, backend)?;
        let single = targets.len() == 1;
        for (svc_name, port) in targets {
            let key = ObjKey::new(m.ing.meta.namespace.clone(), svc_name.clone());
            let Some(svc) = self.ctx.services.get(&key) else {
                // --tolerate-non-existent-backend-service (default true) covers single forwards.
                if single {
                    continue;
                }
                return Err(format!("services \"{svc_name}\" not found"));
            };
            let id = resource_id(&m.ing.meta.namespace, &m.ing.meta.name, &svc_name, &port);
            if self.model.target_groups.contains_key(&id) {
                continue;
            }
            let tg = build_target_group(
                self.ctx.config,
                m,
                svc,
                &port,
                &self.ip_address_type,
                self.rule_source_sg.as_deref(),
            )?;
            self.model.target_groups.insert(id.clone(), tg.model);
            self.model.tgb_networking.insert(id, tg.networking);
        }
        Ok(())
    }
}

/// Build the ALB model of one IngressGroup from its active members (in the LBC's member order).
pub fn build_ingress_model(
    ctx: &IngressCtx<'_>,
    group: &GroupId,
    members: &[&Ingress],
) -> Result<StackModel, String> {
    if members.is_empty() {
        return Err(format!(
            "IngressGroup {group} has no active members; the LBC builds nothing"
        ));
    }
    let cfg = ctx.config;
    let members: Vec<Member<'_>> = members
        .iter()
        .map(|ing| Member {
            ing,
            params: ctx.class_params.get(&ing.meta.key()),
        })
        .collect();

    let ports = listen_ports(&members)?;
    let scheme = scheme(&members, &cfg.default_load_balancer_scheme)?;
    let ip_type = ip_address_type(&members)?;
    let sg_inputs = SgInputs {
        config: cfg,
        backend_sg_id: ctx.backend_sg_id,
        group,
        ip_address_type: &ip_type,
        resolver: ctx.resolver,
    };
    let sgs = lb_security_groups(&sg_inputs, &members, &ports.by_port)?;
    // The LB carries the same group tags; with custom SGs their errors surface here.
    group_tags(&members, cfg)?;
    let redirect = ssl_redirect_port(&members, &ports.by_port)?;

    let mut tgs = TargetGroups {
        ctx,
        ip_address_type: ip_type.clone(),
        rule_source_sg: sgs.rule_source_sg.clone(),
        model: StackModel {
            frontend: sgs.frontend,
            lb_security_groups: sgs.lb_security_groups,
            backend_sg_allocated: sgs.backend_sg_allocated,
            rule_source_sg: sgs.rule_source_sg,
            scheme,
            ip_address_type: ip_type,
            private_link_enforcement: None,
            target_groups: BTreeMap::new(),
            tgb_networking: BTreeMap::new(),
            listeners: ports
                .by_port
                .iter()
                .map(|(p, c)| (*p, c.protocol.clone()))
                .collect(),
            frontend_nlb_security_groups: None,
        },
    };
    for (port, cfg_port) in &ports.by_port {
        // An HTTP listener that redirects to HTTPS forwards nowhere.
        if redirect.is_some() && cfg_port.protocol == HTTP {
            continue;
        }
        let on_port: Vec<&Member<'_>> = ports
            .members_by_port
            .get(port)
            .into_iter()
            .flatten()
            .map(|&i| &members[i])
            .collect();
        let defaults: Vec<&&Member<'_>> = on_port
            .iter()
            .filter(|m| m.ing.default_backend.is_some())
            .collect();
        if defaults.len() > 1 {
            let keys: Vec<String> = defaults.iter().map(|m| m.key()).collect();
            return Err(format!(
                "multiple ingress defined default backend: {}",
                go_list(&keys)
            ));
        }
        for m in &defaults {
            if let Some(b) = &m.ing.default_backend {
                tgs.backend(m, b)?;
            }
        }
        for m in &on_port {
            for rule in &m.ing.rules {
                for path in &rule.paths {
                    tgs.backend(m, &path.backend)
                        .map_err(|e| format!("ingress: {}: {e}", m.key()))?;
                }
            }
        }
    }

    if enable_frontend_nlb(&members)? {
        let tokens = frontend_nlb_sg_tokens(&members)?;
        let sgs = if tokens.is_empty() {
            tgs.model.lb_security_groups.clone()
        } else {
            ctx.resolver.resolve(&tokens)?
        };
        tgs.model.frontend_nlb_security_groups = Some(sgs);
    }
    Ok(tgs.model)
}
