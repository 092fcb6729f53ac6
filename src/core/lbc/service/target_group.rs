//! One Service port's target group as far as it decides target rules: target type, traffic and
//! health-check ports, IP address type, preserve-client-IP (lbc-semantics §3.1, §7).

use std::collections::BTreeMap;

use super::lb_attrs::IP_TYPE_DUALSTACK;
use super::ownership::{
    LB_TYPE_KEY, LB_TYPE_NLB_IP, TARGET_TYPE_INSTANCE, TARGET_TYPE_IP, TARGET_TYPE_KEY,
};
use super::{TRAFFIC_PORT, parse_int_or_string, service_annotations, target_port};
use crate::core::lbc::annotations::Annotations;
use crate::core::lbc::model::TargetGroupModel;
use crate::world::controller::parse_go_bool;
use crate::world::{ControllerConfig, IntOrString, ObjKey, Service, ServicePort};

pub(crate) const TARGET_NODE_LABELS_KEY: &str = "aws-load-balancer-target-node-labels";

pub const TG_IP_TYPE_IPV4: &str = "ipv4";
pub const TG_IP_TYPE_IPV6: &str = "ipv6";
pub const PRESERVE_CLIENT_IP_ATTR: &str = "preserve_client_ip.enabled";

const HC_PORT_KEY: &str = "aws-load-balancer-healthcheck-port";
const HC_PROTOCOL_KEY: &str = "aws-load-balancer-healthcheck-protocol";
const HC_INTERVAL_KEY: &str = "aws-load-balancer-healthcheck-interval";
const HC_TIMEOUT_KEY: &str = "aws-load-balancer-healthcheck-timeout";
const HC_HEALTHY_KEY: &str = "aws-load-balancer-healthcheck-healthy-threshold";
const HC_UNHEALTHY_KEY: &str = "aws-load-balancer-healthcheck-unhealthy-threshold";
const TG_ATTRIBUTES_KEY: &str = "aws-load-balancer-target-group-attributes";

/// A built target group plus what its TGB networking needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub model: TargetGroupModel,
    pub health_check_port: IntOrString,
    pub preserve_client_ip: bool,
}

/// `ip` or `instance`: `aws-load-balancer-type: nlb-ip` or target type `ip` ⇒ ip; anything else
/// is instance, which a ClusterIP Service cannot use.
pub fn target_type(cfg: &ControllerConfig, svc: &Service) -> Result<String, String> {
    let ann = service_annotations(svc);
    let wanted = ann.get(TARGET_TYPE_KEY).unwrap_or(&cfg.default_target_type);
    if wanted == TARGET_TYPE_IP && !cfg.feature_gates.enabled("EnableIPTargetType") {
        return Err(format!(
            "unsupported targetType: {wanted} when EnableIPTargetType is false"
        ));
    }
    if ann.get(LB_TYPE_KEY) == Some(LB_TYPE_NLB_IP) || wanted == TARGET_TYPE_IP {
        return Ok(TARGET_TYPE_IP.to_string());
    }
    if svc.spec.type_ == "ClusterIP" {
        return Err(format!(
            "unsupported service type \"ClusterIP\" for load balancer target type \"{wanted}\""
        ));
    }
    Ok(TARGET_TYPE_INSTANCE.to_string())
}

/// Instance targets of a `LoadBalancer` Service with `externalTrafficPolicy: Local` are health
/// checked on `spec.healthCheckNodePort` over HTTP; everything else on the traffic port over TCP.
fn instance_mode_local(svc: &Service, target_type: &str) -> bool {
    target_type == TARGET_TYPE_INSTANCE
        && svc.spec.external_traffic_policy.as_deref() == Some("Local")
        && svc.spec.type_ == "LoadBalancer"
}

/// The default health-check port before the annotation: `traffic-port`, or the health-check
/// NodePort (as text; `0` when unset) for instance + `externalTrafficPolicy: Local`.
pub fn default_health_check_port(svc: &Service, target_type: &str) -> String {
    if instance_mode_local(svc, target_type) {
        svc.spec.health_check_node_port.unwrap_or(0).to_string()
    } else {
        TRAFFIC_PORT.to_string()
    }
}

/// The health-check port: annotation else `default`; `traffic-port` stays symbolic, numbers are
/// used as-is, a service port name resolves to its NodePort (instance) or numeric targetPort (ip).
pub fn health_check_port(
    svc: &Service,
    target_type: &str,
    default: &str,
) -> Result<IntOrString, String> {
    let raw = service_annotations(svc).get(HC_PORT_KEY).unwrap_or(default);
    if raw == TRAFFIC_PORT {
        return Ok(IntOrString::Str(raw.to_string()));
    }
    let name = match parse_int_or_string(raw) {
        IntOrString::Int(i) => return Ok(IntOrString::Int(i)),
        IntOrString::Str(name) => name,
    };
    let Some(port) = svc
        .spec
        .ports
        .iter()
        .find(|p| p.name.as_deref().unwrap_or("") == name)
    else {
        return Err(format!(
            "failed to resolve healthCheckPort: unable to find port {name} on service {}/{}",
            svc.meta.namespace, svc.meta.name
        ));
    };
    if target_type == TARGET_TYPE_INSTANCE {
        return Ok(IntOrString::Int(port.node_port.unwrap_or(0)));
    }
    match target_port(port) {
        IntOrString::Int(i) => Ok(IntOrString::Int(i)),
        IntOrString::Str(_) => Err("cannot use named healthCheckPort for IP TargetType when service's targetPort is a named port".to_string()),
    }
}

/// The health-check protocol (case-insensitive TCP/HTTP/HTTPS); only its validity matters here.
fn check_health_check_protocol(ann: &Annotations<'_>, default: &str) -> Result<(), String> {
    let raw = ann.get(HC_PROTOCOL_KEY).unwrap_or(default);
    match raw.to_uppercase().as_str() {
        "TCP" | "HTTP" | "HTTPS" => Ok(()),
        _ => Err(format!("unsupported health check protocol {raw}")),
    }
}

/// Go `strconv.ParseInt(raw, 10, 32)` failure reason, if any.
fn go_int32_error(raw: &str) -> Option<&'static str> {
    use std::num::IntErrorKind::{NegOverflow, PosOverflow};
    match raw.parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => None,
        Ok(_) => Some("value out of range"),
        Err(e) if matches!(e.kind(), PosOverflow | NegOverflow) => Some("value out of range"),
        Err(_) => Some("invalid syntax"),
    }
}

/// The numeric health-check annotations only fail the build when they do not parse as int32.
fn check_health_check_numbers(cfg: &ControllerConfig, ann: &Annotations<'_>) -> Result<(), String> {
    // NLBHealthCheckAdvancedConfig defaults to on in the LBC.
    let advanced = cfg
        .feature_gates
        .0
        .get("NLBHealthCheckAdvancedConfig")
        .copied()
        .unwrap_or(true);
    let mut keys = vec![HC_INTERVAL_KEY];
    if advanced {
        keys.push(HC_TIMEOUT_KEY);
    }
    keys.extend([HC_HEALTHY_KEY, HC_UNHEALTHY_KEY]);
    for key in keys {
        if let Some(raw) = ann.get(key)
            && let Some(why) = go_int32_error(raw)
        {
            return Err(format!(
                "failed to parse int32 annotation, {}: {raw}: strconv.ParseInt: parsing {raw:?}: {why}",
                ann.full_key(key)
            ));
        }
    }
    Ok(())
}

/// Target-group attributes: the Service-wide annotation, overlaid with the non-empty values of
/// `…target-group-attributes.<port>`. A `preserve_client_ip.enabled` that is not a Go bool fails.
pub fn attributes(svc: &Service, port: &ServicePort) -> Result<BTreeMap<String, String>, String> {
    let ann = service_annotations(svc);
    let mut attrs = parsed_attributes(&ann, TG_ATTRIBUTES_KEY)?;
    let per_port = parsed_attributes(&ann, &format!("{TG_ATTRIBUTES_KEY}.{}", port.port))?;
    attrs.extend(per_port.into_iter().filter(|(_, v)| !v.is_empty()));
    Ok(attrs)
}

fn parsed_attributes(ann: &Annotations<'_>, key: &str) -> Result<BTreeMap<String, String>, String> {
    let attrs = ann.string_map(key)?.unwrap_or_default();
    if let Some(v) = attrs.get(PRESERVE_CLIENT_IP_ATTR) {
        preserve_flag(v)?;
    }
    Ok(attrs)
}

fn preserve_flag(v: &str) -> Result<bool, String> {
    parse_go_bool(v).ok_or_else(|| {
        format!(
            "failed to parse attribute {PRESERVE_CLIENT_IP_ATTR}={v}: strconv.ParseBool: parsing {v:?}: invalid syntax"
        )
    })
}

/// Whether the NLB preserves client IPs: the attribute when set, else on for instance targets
/// and off for ip targets.
pub fn preserve_client_ip(
    target_type: &str,
    attrs: &BTreeMap<String, String>,
) -> Result<bool, String> {
    match attrs.get(PRESERVE_CLIENT_IP_ATTR) {
        Some(v) => preserve_flag(v),
        None => Ok(target_type == TARGET_TYPE_INSTANCE),
    }
}

/// `ipv6` when the Service has the IPv6 family (the NLB must then be dualstack), else `ipv4`.
pub fn ip_address_type(svc: &Service, lb_ip_address_type: &str) -> Result<String, String> {
    if !svc.spec.ip_families.iter().any(|f| f == "IPv6") {
        return Ok(TG_IP_TYPE_IPV4.to_string());
    }
    if lb_ip_address_type != IP_TYPE_DUALSTACK {
        return Err("unsupported IPv6 configuration, lb not dual-stack".to_string());
    }
    Ok(TG_IP_TYPE_IPV6.to_string())
}

/// The port target rules open: NodePort (instance) or targetPort (ip; a name stays a name).
pub fn traffic_port(target_type: &str, port: &ServicePort) -> IntOrString {
    if target_type == TARGET_TYPE_INSTANCE {
        IntOrString::Int(port.node_port.unwrap_or(0))
    } else {
        target_port(port)
    }
}

/// `aws-load-balancer-target-node-labels`: the nodes an instance target group registers. Ip
/// targets ignore it (not even parsed).
pub fn node_selector(svc: &Service, target_type: &str) -> Result<BTreeMap<String, String>, String> {
    if target_type != TARGET_TYPE_INSTANCE {
        return Ok(BTreeMap::new());
    }
    Ok(service_annotations(svc)
        .string_map(TARGET_NODE_LABELS_KEY)?
        .unwrap_or_default())
}

/// Build the target group of one listener port, failing with the LBC's messages in its order.
pub fn build(
    cfg: &ControllerConfig,
    svc: &Service,
    port: &ServicePort,
    tg_protocol: &str,
    lb_ip_address_type: &str,
) -> Result<TargetGroup, String> {
    let ann = service_annotations(svc);
    let target_type = target_type(cfg, svc)?;
    let local = instance_mode_local(svc, &target_type);
    check_health_check_protocol(&ann, if local { "HTTP" } else { "TCP" })?;
    let hc_port = health_check_port(
        svc,
        &target_type,
        &default_health_check_port(svc, &target_type),
    )?;
    check_health_check_numbers(cfg, &ann)?;
    let attrs = attributes(svc, port)?;
    let preserve = preserve_client_ip(&target_type, &attrs)?;
    let traffic = traffic_port(&target_type, port);
    let ip_type = ip_address_type(svc, lb_ip_address_type)?;
    // The TG's own port is informational (a named targetPort becomes 1), but 0 is rejected.
    if matches!(traffic, IntOrString::Int(0)) {
        return Err(if target_type == TARGET_TYPE_IP {
            "TargetGroup port is empty. Are you using the correct service type?".to_string()
        } else {
            "TargetGroup port is empty. When using Instance targets, your service be must of type 'NodePort' or 'LoadBalancer'".to_string()
        });
    }
    // The binding is built after its target group: a malformed label map fails last.
    let node_selector = node_selector(svc, &target_type)?;
    Ok(TargetGroup {
        model: TargetGroupModel {
            target_type,
            port: traffic,
            protocol: tg_protocol.to_string(),
            ip_address_type: ip_type,
            health_check_port: hc_port.to_string(),
            service: ObjKey::new(svc.meta.namespace.clone(), svc.meta.name.clone()),
            service_port: IntOrString::Int(port.port),
            node_selector,
        },
        health_check_port: hc_port,
        preserve_client_ip: preserve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::service::test_service;

    fn svc(ann: &[(&str, &str)], ports: Vec<ServicePort>) -> Service {
        test_service(ann, ports)
    }

    fn port(name: &str, n: i32, target: IntOrString, node: Option<i32>) -> ServicePort {
        ServicePort {
            name: Some(name.into()),
            protocol: Some("TCP".into()),
            port: n,
            target_port: Some(target),
            node_port: node,
        }
    }

    #[test]
    fn named_hc_port_resolution() {
        let ports = vec![
            port("http", 80, IntOrString::Str("web".into()), Some(31000)),
            port("health", 81, IntOrString::Int(8081), Some(31001)),
        ];
        let s = svc(&[(HC_PORT_KEY, "health")], ports.clone());
        assert_eq!(
            health_check_port(&s, "instance", TRAFFIC_PORT),
            Ok(IntOrString::Int(31001))
        );
        assert_eq!(
            health_check_port(&s, "ip", TRAFFIC_PORT),
            Ok(IntOrString::Int(8081))
        );
        let s = svc(&[(HC_PORT_KEY, "http")], ports);
        assert!(matches!(
            health_check_port(&s, "ip", TRAFFIC_PORT),
            Err(e) if e.starts_with("cannot use named healthCheckPort")
        ));
        let s = svc(&[(HC_PORT_KEY, "nope")], vec![]);
        assert_eq!(
            health_check_port(&s, "ip", TRAFFIC_PORT),
            Err(
                "failed to resolve healthCheckPort: unable to find port nope on service ns/web"
                    .into()
            )
        );
    }

    #[test]
    fn etp_local_defaults_to_health_check_node_port() {
        let mut s = svc(&[], vec![]);
        s.spec.external_traffic_policy = Some("Local".into());
        s.spec.health_check_node_port = Some(32000);
        assert_eq!(default_health_check_port(&s, "instance"), "32000");
        assert_eq!(default_health_check_port(&s, "ip"), TRAFFIC_PORT);
    }

    #[test]
    fn per_port_attributes_override_and_bad_bools_fail() {
        let p = port("http", 80, IntOrString::Int(8080), Some(31000));
        let s = svc(
            &[
                (TG_ATTRIBUTES_KEY, "preserve_client_ip.enabled=true"),
                (
                    &format!("{TG_ATTRIBUTES_KEY}.80"),
                    "preserve_client_ip.enabled=false",
                ),
            ],
            vec![p.clone()],
        );
        let attrs = attributes(&s, &p).unwrap_or_default();
        assert_eq!(
            attrs.get(PRESERVE_CLIENT_IP_ATTR).map(String::as_str),
            Some("false")
        );
        assert_eq!(preserve_client_ip("instance", &attrs), Ok(false));
        assert_eq!(preserve_client_ip("instance", &BTreeMap::new()), Ok(true));
        assert_eq!(preserve_client_ip("ip", &BTreeMap::new()), Ok(false));
        let s = svc(
            &[(TG_ATTRIBUTES_KEY, "preserve_client_ip.enabled=yes")],
            vec![p.clone()],
        );
        assert_eq!(
            attributes(&s, &p),
            Err("failed to parse attribute preserve_client_ip.enabled=yes: strconv.ParseBool: parsing \"yes\": invalid syntax".into())
        );
    }

    #[test]
    fn build_rejects_missing_node_port_and_bad_numbers() {
        let cfg = ControllerConfig::default();
        let p = port("http", 80, IntOrString::Int(8080), None);
        let s = svc(&[], vec![p.clone()]);
        assert!(matches!(
            build(&cfg, &s, &p, "TCP", "ipv4"),
            Err(e) if e.starts_with("TargetGroup port is empty. When using Instance targets")
        ));
        let s = svc(
            &[(LB_TYPE_KEY, "nlb-ip"), (HC_INTERVAL_KEY, "ten")],
            vec![p.clone()],
        );
        assert_eq!(
            build(&cfg, &s, &p, "TCP", "ipv4").map(|_| ()),
            Err("failed to parse int32 annotation, service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: ten: strconv.ParseInt: parsing \"ten\": invalid syntax".into())
        );
        let s = svc(&[(LB_TYPE_KEY, "nlb-ip")], vec![p.clone()]);
        let tg = build(&cfg, &s, &p, "TCP", "ipv4");
        assert_eq!(
            tg.as_ref()
                .map(|t| (t.model.port.clone(), t.preserve_client_ip)),
            Ok((IntOrString::Int(8080), false))
        );
    }

    #[test]
    fn target_node_labels_select_nodes_for_instance_targets_only() {
        let s = svc(
            &[(TARGET_NODE_LABELS_KEY, "pool=a, node.label/zone=b.1")],
            vec![],
        );
        let want = BTreeMap::from([
            ("pool".to_string(), "a".to_string()),
            ("node.label/zone".to_string(), "b.1".to_string()),
        ]);
        assert_eq!(node_selector(&s, "instance"), Ok(want));
        assert_eq!(node_selector(&s, "ip"), Ok(BTreeMap::new()));
        let bad = svc(&[(TARGET_NODE_LABELS_KEY, "pool")], vec![]);
        assert_eq!(
            node_selector(&bad, "instance"),
            Err("failed to parse stringMap annotation, service.beta.kubernetes.io/aws-load-balancer-target-node-labels: pool".into())
        );
        assert_eq!(node_selector(&bad, "ip"), Ok(BTreeMap::new()));
        // carried into the model the binding is built from
        let p = port("http", 80, IntOrString::Int(8080), Some(31000));
        let mut labelled = svc(&[(TARGET_NODE_LABELS_KEY, "pool=a")], vec![p.clone()]);
        labelled.spec.type_ = "LoadBalancer".into();
        let tg = build(&ControllerConfig::default(), &labelled, &p, "TCP", "ipv4").unwrap();
        assert_eq!(tg.model.target_type, "instance");
        let pool_a = BTreeMap::from([("pool".to_string(), "a".to_string())]);
        assert_eq!(tg.model.node_selector, pool_a);
        let spec = crate::core::lbc::target::TgbSpec::from_model("k", &tg.model, None);
        assert_eq!(spec.node_selector, pool_a);
    }
}
