//! One ALB target group and its TGB (`pkg/ingress/model_build_target_group.go`), reduced to what
//! decides target rules, plus the validations that can fail the build.
//!
//! Backend-level settings are read from the Service's annotations merged over the Ingress's
//! (Service keys win); IngressClassParams `targetType` wins over both.

use std::collections::BTreeMap;

use crate::core::lbc::annotations::{Annotations, Kind};
use crate::core::lbc::model::TargetGroupModel;
use crate::world::{ControllerConfig, IntOrString, NetworkingRule, Service, ServicePort, Tags};

use super::frontend::is_ipv6_supported;
use super::merge::{class_tags, overlay};
use super::networking::{TRAFFIC_PORT, tgb_networking};
use super::{Member, go_parse_int, int32_annotation};

/// LBC resource id of an Ingress target group: `<ingNs>/<ingName>-<svc>:<port>`.
pub fn resource_id(
    ing_namespace: &str,
    ing_name: &str,
    svc_name: &str,
    port: &IntOrString,
) -> String {
    format!("{ing_namespace}/{ing_name}-{svc_name}:{port}")
}

/// The Service port a backend refers to (by name, or by `port` number).
pub fn lookup_service_port<'s>(
    svc: &'s Service,
    port: &IntOrString,
) -> Result<&'s ServicePort, String> {
    svc.spec
        .ports
        .iter()
        .find(|p| match port {
            IntOrString::Str(n) => p.name.as_deref() == Some(n.as_str()),
            IntOrString::Int(i) => p.port == *i,
        })
        .ok_or_else(|| format!("unable to find port {port} on service {}", svc.meta.key()))
}

/// `targetPort` as the API server defaults it (unset = the service port).
fn target_port(p: &ServicePort) -> IntOrString {
    p.target_port.clone().unwrap_or(IntOrString::Int(p.port))
}

/// `target-control-port.<svcName>.<svcPort>` (svcPort as referenced by the backend).
pub fn target_control_port(
    ann: &Annotations<'_>,
    svc_name: &str,
    port: &IntOrString,
) -> Result<Option<i32>, String> {
    int32_annotation(ann, &format!("target-control-port.{svc_name}.{port}"))
}

/// `intstr.Parse`: a decimal number becomes an int (wrapping to 32 bits as Go does), else text.
fn intstr_parse(raw: &str) -> IntOrString {
    match go_parse_int(raw, 64) {
        Ok(i) => IntOrString::Int(i as i32),
        Err(_) => IntOrString::Str(raw.to_string()),
    }
}

/// `healthcheck-port`: `traffic-port`, a number used as is (also for instance targets), or a
/// Service port name resolved to its NodePort (instance) or numeric targetPort (ip).
fn health_check_port(
    ann: &Annotations<'_>,
    svc: &Service,
    target_type: &str,
) -> Result<IntOrString, String> {
    let traffic = IntOrString::Str(TRAFFIC_PORT.into());
    let Some(raw) = ann.get("healthcheck-port") else {
        return Ok(traffic);
    };
    if raw == TRAFFIC_PORT {
        return Ok(traffic);
    }
    let parsed = intstr_parse(raw);
    if matches!(parsed, IntOrString::Int(_)) {
        return Ok(parsed);
    }
    let p = lookup_service_port(svc, &parsed)
        .map_err(|e| format!("failed to resolve healthCheckPort: {e}"))?;
    if target_type == "instance" {
        return Ok(IntOrString::Int(p.node_port.unwrap_or(0)));
    }
    match target_port(p) {
        IntOrString::Int(i) => Ok(IntOrString::Int(i)),
        IntOrString::Str(_) => {
            Err("cannot use named healthCheckPort for IP TargetType when service's targetPort is a named port".into())
        }
    }
}

/// One of a fixed set of values, else the LBC's error.
fn one_of(
    ann: &Annotations<'_>,
    suffix: &str,
    default: &str,
    allowed: &[&str],
    err: impl Fn(&str) -> String,
) -> Result<String, String> {
    let v = ann.get(suffix).unwrap_or(default);
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(err(v))
    }
}

fn target_type(
    ann: &Annotations<'_>,
    m: &Member<'_>,
    cfg: &ControllerConfig,
) -> Result<String, String> {
    let mut raw = ann
        .get("target-type")
        .unwrap_or(&cfg.default_target_type)
        .to_string();
    if let Some(t) = m
        .params
        .and_then(|p| p.target_type.as_deref())
        .filter(|t| !t.is_empty())
    {
        raw = t.to_string();
    }
    match raw.as_str() {
        "instance" => Ok(raw),
        "ip" if cfg.feature_gates.enabled("EnableIPTargetType") => Ok(raw),
        "ip" => Err("unsupported targetType: ip when EnableIPTargetType is false".into()),
        _ => Err(format!("unknown targetType: {raw}")),
    }
}

/// Target-group tags only matter here for their errors (external managed keys).
fn check_backend_tags(m: &Member<'_>, svc: &Service, cfg: &ControllerConfig) -> Result<(), String> {
    let svc_tags = Annotations::new(Kind::Ingress, &svc.meta.annotations)
        .string_map("tags")?
        .unwrap_or_default();
    let ing_tags = m.ann().string_map("tags")?.unwrap_or_default();
    let merged: Tags = overlay(&svc_tags, &ing_tags);
    if let Some(k) = merged
        .keys()
        .find(|k| cfg.external_managed_tags.contains(k))
    {
        return Err(format!(
            "failed build tags for Ingress {} and Service {}: external managed tag key {k} cannot be specified",
            m.key(),
            svc.meta.key()
        ));
    }
    class_tags(m, cfg).map(|_| ())
}

/// What one target group contributes to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltTargetGroup {
    pub model: TargetGroupModel,
    pub networking: Option<Vec<NetworkingRule>>,
}

/// Build the target group of backend `svc:port` of member `m`, in the LBC's validation order.
pub fn build_target_group(
    cfg: &ControllerConfig,
    m: &Member<'_>,
    svc: &Service,
    port: &IntOrString,
    lb_ip_address_type: &str,
    rule_source_sg: Option<&str>,
) -> Result<BuiltTargetGroup, String> {
    let svc_port = lookup_service_port(svc, port)?;
    let mut merged = m.ing.meta.annotations.clone();
    merged.extend(
        svc.meta
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let ann = Annotations::new(Kind::Ingress, &merged);

    let target_type = target_type(&ann, m, cfg)?;
    let protocol = one_of(&ann, "backend-protocol", "HTTP", &["HTTP", "HTTPS"], |v| {
        format!("backend protocol must be within [HTTP, HTTPS]: {v}")
    })?;
    one_of(
        &ann,
        "backend-protocol-version",
        "HTTP1",
        &["HTTP1", "HTTP2", "GRPC"],
        |v| format!("backend protocol version must be within [HTTP1, HTTP2, GRPC]: {v}"),
    )?;
    let hc_port = health_check_port(&ann, svc, &target_type)?;
    one_of(
        &ann,
        "healthcheck-protocol",
        &protocol,
        &["HTTP", "HTTPS"],
        |_| "healthCheckProtocol must be within [HTTP, HTTPS]".to_string(),
    )?;
    for suffix in [
        "healthcheck-interval-seconds",
        "healthcheck-timeout-seconds",
        "healthy-threshold-count",
        "unhealthy-threshold-count",
    ] {
        int32_annotation(&ann, suffix)?;
    }
    ann.string_map("target-group-attributes")?;
    check_backend_tags(m, svc, cfg)?;
    let ip_address_type = if svc.spec.ip_families.iter().any(|f| f == "IPv6") {
        if !is_ipv6_supported(lb_ip_address_type) {
            return Err("unsupported IPv6 configuration, lb not dual-stack".into());
        }
        "ipv6"
    } else {
        "ipv4"
    };
    let instance = target_type == "instance";
    // The TG port is not in the data path: NodePort, numeric targetPort, or 1 for a named one.
    let tg_port = match (instance, target_port(svc_port)) {
        (true, _) => svc_port.node_port.unwrap_or(0),
        (false, IntOrString::Int(i)) => i,
        (false, IntOrString::Str(_)) => 1,
    };
    let control_port = target_control_port(&ann, &svc.meta.name, port)?;
    if instance && control_port.is_some() {
        return Err("target control port is not supported for instance target target group".into());
    }
    if tg_port == 0 {
        return Err(if instance {
            "TargetGroup port is empty. When using Instance targets, your service be must of type 'NodePort' or 'LoadBalancer'".into()
        } else {
            "TargetGroup port is empty. Are you using the correct service type?".into()
        });
    }
    // The Service's value wins over the Ingress's (`merged` lets it); ip targets ignore it.
    let node_selector = if instance {
        ann.string_map("target-node-labels")?.unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    // multi-cluster-target-group: the Ingress's value, else the Service's (parse errors fail).
    if m.ann().bool("multi-cluster-target-group")? != Some(true) {
        Annotations::new(Kind::Ingress, &svc.meta.annotations)
            .bool("multi-cluster-target-group")?;
    }

    let traffic_port = if instance {
        IntOrString::Int(svc_port.node_port.unwrap_or(0))
    } else {
        target_port(svc_port)
    };
    let networking = tgb_networking(
        rule_source_sg,
        &traffic_port,
        &hc_port,
        control_port,
        cfg.disable_restricted_sg_rules,
    );
    Ok(BuiltTargetGroup {
        model: TargetGroupModel {
            target_type,
            port: IntOrString::Int(tg_port),
            protocol,
            ip_address_type: ip_address_type.to_string(),
            health_check_port: hc_port.to_string(),
            service: svc.meta.key(),
            service_port: port.clone(),
            node_selector,
        },
        networking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Ingress, Meta, ServiceSpec};

    fn svc(ann: &[(&str, &str)], target: IntOrString) -> Service {
        Service {
            meta: Meta {
                namespace: "ns".into(),
                name: "web".into(),
                annotations: ann
                    .iter()
                    .map(|(k, v)| (format!("alb.ingress.kubernetes.io/{k}"), v.to_string()))
                    .collect(),
                ..Meta::default()
            },
            spec: ServiceSpec {
                ports: vec![ServicePort {
                    name: Some("http".into()),
                    protocol: None,
                    port: 80,
                    target_port: Some(target),
                    node_port: Some(30080),
                }],
                ..ServiceSpec::default()
            },
            lb_hostnames: vec![],
        }
    }

    fn ing(ann: &[(&str, &str)]) -> Ingress {
        let mut i = Ingress::default();
        i.meta.namespace = "ns".into();
        i.meta.name = "ing".into();
        i.meta.annotations = ann
            .iter()
            .map(|(k, v)| (format!("alb.ingress.kubernetes.io/{k}"), v.to_string()))
            .collect();
        i
    }

    #[test]
    fn service_annotations_win_and_named_hc_port_resolves() {
        let cfg = ControllerConfig::default();
        let s = svc(
            &[("target-type", "ip"), ("healthcheck-port", "http")],
            IntOrString::Int(8080),
        );
        let i = ing(&[("target-type", "instance")]);
        let m = Member {
            ing: &i,
            params: None,
        };
        let tg = build_target_group(
            &cfg,
            &m,
            &s,
            &IntOrString::Str("http".into()),
            "ipv4",
            Some("sg-b"),
        )
        .unwrap();
        assert_eq!(tg.model.target_type, "ip");
        assert_eq!(tg.model.health_check_port, "8080");
        // hc port equal to the traffic port still gets its own rule
        assert_eq!(tg.networking.map(|n| n.len()), Some(2));
    }

    #[test]
    fn build_errors_match_the_lbc() {
        let cfg = ControllerConfig::default();
        let i = ing(&[("target-type", "ip")]);
        let m = Member {
            ing: &i,
            params: None,
        };
        let named = svc(
            &[("healthcheck-port", "http")],
            IntOrString::Str("web".into()),
        );
        assert_eq!(
            build_target_group(&cfg, &m, &named, &IntOrString::Int(80), "ipv4", None).unwrap_err(),
            "cannot use named healthCheckPort for IP TargetType when service's targetPort is a named port"
        );
        assert_eq!(
            build_target_group(&cfg, &m, &named, &IntOrString::Int(81), "ipv4", None).unwrap_err(),
            "unable to find port 81 on service ns/web"
        );
        let inst = ing(&[("target-control-port.web.80", "3000")]);
        let m = Member {
            ing: &inst,
            params: None,
        };
        assert_eq!(
            build_target_group(
                &cfg,
                &m,
                &svc(&[], IntOrString::Int(8080)),
                &IntOrString::Int(80),
                "ipv4",
                None
            )
            .unwrap_err(),
            "target control port is not supported for instance target target group"
        );
    }

    #[test]
    fn target_node_labels_service_wins_ip_ignores_bad_fails() {
        let cfg = ControllerConfig::default();
        let build = |ing_ann: &[(&str, &str)], svc_ann: &[(&str, &str)]| {
            let i = ing(ing_ann);
            let m = Member {
                ing: &i,
                params: None,
            };
            build_target_group(
                &cfg,
                &m,
                &svc(svc_ann, IntOrString::Int(8080)),
                &IntOrString::Int(80),
                "ipv4",
                None,
            )
            .map(|tg| tg.model.node_selector)
        };
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let on_ing = [
            ("target-type", "instance"),
            ("target-node-labels", "k1=v1, node.label/k2=v.2"),
        ];
        assert_eq!(
            build(&on_ing, &[]),
            Ok(map(&[("k1", "v1"), ("node.label/k2", "v.2")]))
        );
        assert_eq!(
            build(&on_ing, &[("target-node-labels", "svc/k=v")]),
            Ok(map(&[("svc/k", "v")]))
        );
        assert_eq!(
            build(
                &[("target-type", "ip"), ("target-node-labels", "k1=v1")],
                &[]
            ),
            Ok(BTreeMap::new())
        );
        assert_eq!(
            build(
                &[("target-type", "instance"), ("target-node-labels", "k1")],
                &[]
            ),
            Err("failed to parse stringMap annotation, alb.ingress.kubernetes.io/target-node-labels: k1".into())
        );
    }
}
