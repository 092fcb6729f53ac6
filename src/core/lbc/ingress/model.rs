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

use super::frontend::{SgInputs, frontend_nlb_security_groups, lb_security_groups};
use super::merge::{
    HTTP, enable_frontend_nlb, group_tags, ip_address_type, listen_ports, scheme, ssl_redirect_port,
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

/// Where a backend forwards: `(service name, port)` pairs, and whether a missing Service is
/// tolerated (`--tolerate-non-existent-backend-service`, default true, covers a forward to a
/// single target group of a single Service: it becomes a 503 response).
struct Forward {
    targets: Vec<(String, IntOrString)>,
    tolerate_missing: bool,
}

/// The services a backend forwards to. `use-annotation` reads `actions.<svc>` (only forward
/// actions to Services make target groups; a missing action annotation is tolerated as a 503).
fn forward_targets(m: &Member<'_>, backend: &IngressBackend) -> Result<Forward, String> {
    if backend.service_name.is_empty() {
        return Err("missing required \"service\" field".into());
    }
    if backend.service_port != IntOrString::Str("use-annotation".into()) {
        return Ok(Forward {
            targets: vec![(backend.service_name.clone(), backend.service_port.clone())],
            tolerate_missing: true,
        });
    }
    let none = Forward {
        targets: Vec::new(),
        tolerate_missing: true,
    };
    let suffix = format!("actions.{}", backend.service_name);
    let Some(raw) = m.ann().get(&suffix) else {
        return Ok(none);
    };
    let action: Value = serde_json::from_str(raw).map_err(|e| {
        format!(
            "failed to parse json annotation, {}: {raw}: {e}",
            m.ann().full_key(&suffix)
        )
    })?;
    if action.get("type").and_then(Value::as_str) != Some("forward") {
        return Ok(none);
    }
    let tuples: &[Value] = action
        .get("forwardConfig")
        .and_then(|f| f.get("targetGroups"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let targets: Vec<(String, IntOrString)> = tuples
        .iter()
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
        .collect();
    let services: std::collections::BTreeSet<&str> =
        targets.iter().map(|(s, _)| s.as_str()).collect();
    let tolerate_missing = tuples.len() == 1 && services.len() == 1;
    Ok(Forward {
        targets,
        tolerate_missing,
    })
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
        let forward = forward_targets(m, backend)?;
        let svc_of = |name: &str| {
            self.ctx
                .services
                .get(&ObjKey::new(m.ing.meta.namespace.clone(), name))
        };
        // Services are loaded before any target group is built.
        if let Some((missing, _)) = forward.targets.iter().find(|(s, _)| svc_of(s).is_none()) {
            if forward.tolerate_missing {
                return Ok(());
            }
            return Err(format!("services \"{missing}\" not found"));
        }
        for (svc_name, port) in forward.targets {
            let Some(svc) = svc_of(&svc_name) else {
                continue;
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
        let sgs = frontend_nlb_security_groups(&members, ctx.resolver)?;
        tgs.model.frontend_nlb_security_groups =
            Some(sgs.unwrap_or_else(|| tgs.model.lb_security_groups.clone()));
    }
    Ok(tgs.model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::model::{Frontend, MANAGED_SG_TOKEN};
    use crate::world::{IngressPath, IngressRule, Meta, ServicePort, ServiceSpec, Source};

    struct NoResolver;
    impl SgResolver for NoResolver {
        fn resolve(&self, names: &[String]) -> Result<Vec<String>, String> {
            Ok(names.iter().map(|n| format!("sg-{n}")).collect())
        }
    }

    fn ing(name: &str, ann: &[(&str, &str)], backends: &[(&str, IntOrString)]) -> Ingress {
        Ingress {
            meta: Meta {
                namespace: "shop".into(),
                name: name.into(),
                annotations: ann
                    .iter()
                    .map(|(k, v)| (format!("alb.ingress.kubernetes.io/{k}"), v.to_string()))
                    .collect(),
                ..Meta::default()
            },
            rules: vec![IngressRule {
                host: None,
                paths: backends
                    .iter()
                    .map(|(s, p)| IngressPath {
                        path: None,
                        backend: IngressBackend {
                            service_name: s.to_string(),
                            service_port: p.clone(),
                        },
                    })
                    .collect(),
            }],
            ..Ingress::default()
        }
    }

    fn services() -> BTreeMap<ObjKey, Service> {
        [("web", 8080, 30080), ("api", 3000, 30300)]
            .into_iter()
            .map(|(name, target, node_port)| {
                let svc = Service {
                    meta: Meta {
                        namespace: "shop".into(),
                        name: name.into(),
                        ..Meta::default()
                    },
                    spec: ServiceSpec {
                        ports: vec![ServicePort {
                            name: Some("http".into()),
                            protocol: Some("TCP".into()),
                            port: 80,
                            target_port: Some(IntOrString::Int(target)),
                            node_port: Some(node_port),
                        }],
                        ..ServiceSpec::default()
                    },
                    lb_hostnames: vec![],
                };
                (svc.meta.key(), svc)
            })
            .collect()
    }

    fn build(
        cfg: &ControllerConfig,
        group: &GroupId,
        members: &[&Ingress],
    ) -> Result<StackModel, String> {
        let svcs = services();
        let params = BTreeMap::new();
        let ctx = IngressCtx {
            config: cfg,
            backend_sg_id: "sg-backend",
            services: &svcs,
            class_params: &params,
            resolver: &NoResolver,
        };
        build_ingress_model(&ctx, group, members)
    }

    fn http() -> IntOrString {
        IntOrString::Str("http".into())
    }

    #[test]
    fn group_without_backend_sg_uses_the_managed_sg_on_targets() {
        let cfg = ControllerConfig {
            cluster_name: "demo".into(),
            enable_backend_security_group: false,
            ..ControllerConfig::default()
        };
        let common = [("group.name", "public-alb"), ("target-type", "ip")];
        let store = ing(
            "storefront",
            &[
                common[0],
                common[1],
                ("inbound-cidrs", "0.0.0.0/0"),
                ("listen-ports", r#"[{"HTTP": 80}]"#),
            ],
            &[("web", http())],
        );
        let api = ing(
            "api",
            &[
                common[0],
                common[1],
                ("listen-ports", r#"[{"HTTP": 8080}]"#),
                ("healthcheck-port", "9000"),
            ],
            &[("api", http())],
        );
        let m = build(
            &cfg,
            &GroupId::Explicit("public-alb".into()),
            &[&store, &api],
        )
        .unwrap();
        let Frontend::Managed(sg) = &m.frontend else {
            panic!("managed SG expected")
        };
        assert_eq!(sg.name, "k8s-publicalb-3d16e96840");
        let rules: Vec<(Option<i32>, &Source)> = sg
            .ingress_rules
            .iter()
            .map(|r| (r.from_port, &r.source))
            .collect();
        let any = Source::Cidr("0.0.0.0/0".into());
        assert_eq!(rules, vec![(Some(80), &any), (Some(8080), &any)]);
        assert_eq!(m.lb_security_groups, vec![MANAGED_SG_TOKEN]);
        assert!(!m.backend_sg_allocated);
        let api_rules = m.tgb_networking["shop/api-api:http"].as_ref().unwrap();
        let ports: Vec<_> = api_rules.iter().map(|r| r.ports[0].port.clone()).collect();
        assert_eq!(
            ports,
            vec![Some(IntOrString::Int(3000)), Some(IntOrString::Int(9000))]
        );
        assert!(api_rules.iter().all(|r| r.from
            == vec![crate::world::NetworkingPeer::SecurityGroup(
                MANAGED_SG_TOKEN.into()
            )]));
        assert_eq!(
            m.listeners,
            [(80, "HTTP".to_string()), (8080, "HTTP".to_string())].into()
        );
    }

    #[test]
    fn custom_sgs_without_manage_rules_give_tgbs_without_networking() {
        let cfg = ControllerConfig::default();
        let i = ing(
            "a",
            &[("security-groups", "one")],
            &[("web", http()), ("gone", http())],
        );
        let m = build(
            &cfg,
            &GroupId::Implicit {
                namespace: "shop".into(),
                name: "a".into(),
            },
            &[&i],
        )
        .unwrap();
        assert_eq!(m.frontend, Frontend::Custom(vec!["sg-one".into()]));
        assert_eq!(m.lb_security_groups, vec!["sg-one"]);
        // the missing Service is tolerated (503 action): no target group for it
        assert_eq!(m.tgb_networking.len(), 1);
        assert_eq!(m.tgb_networking["shop/a-web:http"], None);
    }

    #[test]
    fn rule_backend_errors_carry_the_ingress_prefix() {
        let cfg = ControllerConfig::default();
        let i = ing("a", &[], &[("web", IntOrString::Int(81))]);
        let e = build(
            &cfg,
            &GroupId::Implicit {
                namespace: "shop".into(),
                name: "a".into(),
            },
            &[&i],
        )
        .unwrap_err();
        assert_eq!(
            e,
            "ingress: shop/a: unable to find port 81 on service shop/web"
        );
    }

    #[test]
    fn ssl_redirect_and_default_backends() {
        let cfg = ControllerConfig::default();
        let group = GroupId::Explicit("g".into());
        let ports = r#"[{"HTTP": 80}, {"HTTPS": 443}]"#;
        let mut a = ing(
            "a",
            &[
                ("group.name", "g"),
                ("listen-ports", ports),
                ("ssl-redirect", "443"),
            ],
            &[],
        );
        a.default_backend = Some(IngressBackend {
            service_name: "web".into(),
            service_port: http(),
        });
        let m = build(&cfg, &group, &[&a]).unwrap();
        assert_eq!(
            m.target_groups.keys().collect::<Vec<_>>(),
            vec!["shop/a-web:http"]
        );
        let mut b = ing("b", &[("group.name", "g"), ("listen-ports", ports)], &[]);
        b.default_backend = a.default_backend.clone();
        assert_eq!(
            build(&cfg, &group, &[&a, &b]).unwrap_err(),
            "multiple ingress defined default backend: [shop/a shop/b]"
        );
        let bad = ing("c", &[("group.name", "g"), ("ssl-redirect", "443")], &[]);
        assert_eq!(
            build(&cfg, &group, &[&bad]).unwrap_err(),
            "listener does not exist for SSLRedirect port: 443"
        );
    }

    #[test]
    fn actions_annotation_forwards_to_several_services() {
        let cfg = ControllerConfig::default();
        let action = r#"{"type":"forward","forwardConfig":{"targetGroups":[
            {"serviceName":"web","servicePort":"80","weight":50},
            {"serviceName":"api","servicePort":"http","weight":50}]}}"#;
        let i = ing(
            "a",
            &[
                ("actions.split", action),
                ("frontend-nlb-security-groups", "edge"),
                ("enable-frontend-nlb", "true"),
            ],
            &[("split", IntOrString::Str("use-annotation".into()))],
        );
        let m = build(
            &cfg,
            &GroupId::Implicit {
                namespace: "shop".into(),
                name: "a".into(),
            },
            &[&i],
        )
        .unwrap();
        assert_eq!(
            m.target_groups.keys().collect::<Vec<_>>(),
            vec!["shop/a-api:http", "shop/a-web:80"]
        );
        assert_eq!(m.frontend_nlb_security_groups, Some(vec!["sg-edge".into()]));
        // a missing Service is only tolerated for a single forward target
        let split_missing = r#"{"type":"forward","forwardConfig":{"targetGroups":[
            {"serviceName":"web","servicePort":80,"weight":50},
            {"serviceName":"gone","servicePort":80,"weight":50}]}}"#;
        let i = ing(
            "a",
            &[("actions.split", split_missing)],
            &[("split", IntOrString::Str("use-annotation".into()))],
        );
        let group = GroupId::Implicit {
            namespace: "shop".into(),
            name: "a".into(),
        };
        assert_eq!(
            build(&cfg, &group, &[&i]).unwrap_err(),
            "ingress: shop/a: services \"gone\" not found"
        );
    }
}
