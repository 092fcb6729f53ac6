//! Listener and target-group protocols of a Service's NLB: TCP+UDP merging, TLS, QUIC
//! (lbc-semantics §2 `EnableTCPUDPListener`, §3.1, §7.2). Target rules depend on the TG protocol.

use std::collections::BTreeSet;

use super::{port_protocol, service_annotations, target_port};
use crate::world::{ControllerConfig, IntOrString, Service, ServicePort};

const TCP_UDP_KEY: &str = "aws-load-balancer-enable-tcp-udp-listener";
const SSL_CERT_KEY: &str = "aws-load-balancer-ssl-cert";
const SSL_PORTS_KEY: &str = "aws-load-balancer-ssl-ports";
const QUIC_PORTS_KEY: &str = "aws-load-balancer-quic-enabled-ports";
const BACKEND_PROTOCOL_KEY: &str = "aws-load-balancer-backend-protocol";

/// One service port that becomes a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPort {
    /// The (first) service port of the listener.
    pub port: ServicePort,
    /// A TCP and a UDP port with the same number merged into one TCP_UDP listener.
    pub tcp_udp: bool,
}

/// The Service-wide settings that decide listener protocols.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerConfig {
    has_certificates: bool,
    tls_ports: BTreeSet<String>,
    quic_ports: BTreeSet<String>,
    backend_protocol: String,
}

/// Whether TCP+UDP merging applies: the annotation when it parses, else the gate.
fn tcp_udp_enabled(cfg: &ControllerConfig, svc: &Service) -> bool {
    match service_annotations(svc).bool(TCP_UDP_KEY) {
        Ok(Some(v)) => v,
        _ => cfg.feature_gates.enabled("EnableTCPUDPListener"),
    }
}

/// The listener ports in spec order (with merging, grouped by port number in first-seen order),
/// and the listener config. Fails like the LBC on bad merges or unused `ssl-ports` entries.
pub fn listener_ports(
    cfg: &ControllerConfig,
    svc: &Service,
) -> Result<(Vec<ListenerPort>, ListenerConfig), String> {
    if !tcp_udp_enabled(cfg, svc) {
        let lcfg = listener_config(svc)?;
        let ports = svc
            .spec
            .ports
            .iter()
            .map(|p| ListenerPort {
                port: p.clone(),
                tcp_udp: false,
            })
            .collect();
        return Ok((ports, lcfg));
    }
    let mut groups: Vec<Vec<&ServicePort>> = Vec::new();
    for p in &svc.spec.ports {
        match groups.iter_mut().find(|g| g[0].port == p.port) {
            Some(g) => g.push(p),
            None => groups.push(vec![p]),
        }
    }
    for g in groups.iter().filter(|g| g.len() > 1) {
        validate_merge(g)?;
    }
    let lcfg = listener_config(svc)?;
    let ports = groups
        .iter()
        .map(|g| ListenerPort {
            port: g[0].clone(),
            tcp_udp: g.len() > 1,
        })
        .collect();
    Ok((ports, lcfg))
}

fn validate_merge(ports: &[&ServicePort]) -> Result<(), String> {
    if ports.len() != 2 {
        let shown: Vec<String> = ports.iter().map(|p| go_port_debug(p)).collect();
        return Err(format!(
            "can only merge two ports, not {} ([{}])",
            ports.len(),
            shown.join(" ")
        ));
    }
    for p in ports {
        let proto = port_protocol(p);
        if proto != "TCP" && proto != "UDP" {
            return Err(format!("unsupported protocol for merging: {proto}"));
        }
    }
    if port_protocol(ports[0]) == port_protocol(ports[1]) {
        return Err(format!(
            "protocols can't match for merging: {}",
            port_protocol(ports[0])
        ));
    }
    Ok(())
}

/// Go's `%+v` of a `corev1.ServicePort` (appProtocol is not modelled, so always `<nil>`).
fn go_port_debug(p: &ServicePort) -> String {
    let tp = match target_port(p) {
        IntOrString::Int(i) => format!("{{Type:0 IntVal:{i} StrVal:}}"),
        IntOrString::Str(s) => format!("{{Type:1 IntVal:0 StrVal:{s}}}"),
    };
    format!(
        "{{Name:{} Protocol:{} AppProtocol:<nil> Port:{} TargetPort:{tp} NodePort:{}}}",
        p.name.as_deref().unwrap_or(""),
        port_protocol(p),
        p.port,
        p.node_port.unwrap_or(0)
    )
}

fn listener_config(svc: &Service) -> Result<ListenerConfig, String> {
    let ann = service_annotations(svc);
    let tls_ports = ann.list(SSL_PORTS_KEY).unwrap_or_default();
    let unused: Vec<&String> = tls_ports
        .iter()
        .filter(|t| {
            !svc.spec
                .ports
                .iter()
                .any(|p| p.name.as_deref() == Some(t.as_str()) || p.port.to_string() == **t)
        })
        .collect();
    if !unused.is_empty() {
        let shown: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "Unused port in ssl-ports annotation [{}]",
            shown.join(" ")
        ));
    }
    Ok(ListenerConfig {
        has_certificates: !ann.list(SSL_CERT_KEY).unwrap_or_default().is_empty(),
        tls_ports: tls_ports.into_iter().collect(),
        quic_ports: ann
            .list(QUIC_PORTS_KEY)
            .unwrap_or_default()
            .into_iter()
            .collect(),
        backend_protocol: ann.get(BACKEND_PROTOCOL_KEY).unwrap_or("").to_string(),
    })
}

impl ListenerConfig {
    fn names(&self, set: &BTreeSet<String>, port: &ServicePort) -> bool {
        port.name.as_ref().is_some_and(|n| set.contains(n)) || set.contains(&port.port.to_string())
    }

    /// `(listener protocol, target-group protocol)` of one listener port.
    pub fn protocols(&self, lp: &ListenerPort) -> Result<(String, String), String> {
        let base = if lp.tcp_udp {
            "TCP_UDP"
        } else {
            port_protocol(&lp.port)
        };
        let (mut listener, mut tg) = (base.to_string(), base.to_string());
        if tg != "UDP"
            && tg != "TCP_UDP"
            && self.has_certificates
            && (self.tls_ports.is_empty() || self.names(&self.tls_ports, &lp.port))
        {
            if self.backend_protocol == "ssl" {
                tg = "TLS".to_string();
            }
            listener = "TLS".to_string();
        }
        if self.names(&self.quic_ports, &lp.port) {
            let upgraded = match listener.as_str() {
                "UDP" => "QUIC",
                "TCP_UDP" => "TCP_QUIC",
                other => return Err(format!("Unsupported QUIC upgrade for protocol {other}")),
            };
            listener = upgraded.to_string();
            tg = upgraded.to_string();
        }
        Ok((listener, tg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::service::test_service;

    fn port(name: &str, n: i32, proto: &str) -> ServicePort {
        ServicePort {
            name: Some(name.into()),
            protocol: Some(proto.into()),
            port: n,
            target_port: Some(IntOrString::Int(8000 + n)),
            node_port: Some(30000 + n),
        }
    }

    fn svc(ann: &[(&str, &str)], ports: Vec<ServicePort>) -> Service {
        test_service(ann, ports)
    }

    fn protos(cfg: &ControllerConfig, s: &Service) -> Result<Vec<(i32, String, String)>, String> {
        let (ports, lcfg) = listener_ports(cfg, s)?;
        ports
            .iter()
            .map(|lp| lcfg.protocols(lp).map(|(l, t)| (lp.port.port, l, t)))
            .collect()
    }

    #[test]
    fn tls_only_on_listed_ports_and_tg_tls_only_with_ssl_backend() {
        let cfg = ControllerConfig::default();
        let ports = vec![port("http", 80, "TCP"), port("https", 443, "TCP")];
        let s = svc(
            &[(SSL_CERT_KEY, "arn:c"), (SSL_PORTS_KEY, "https")],
            ports.clone(),
        );
        assert_eq!(
            protos(&cfg, &s),
            Ok(vec![
                (80, "TCP".into(), "TCP".into()),
                (443, "TLS".into(), "TCP".into())
            ])
        );
        let s = svc(
            &[(SSL_CERT_KEY, "arn:c"), (BACKEND_PROTOCOL_KEY, "ssl")],
            ports,
        );
        assert_eq!(
            protos(&cfg, &s),
            Ok(vec![
                (80, "TLS".into(), "TLS".into()),
                (443, "TLS".into(), "TLS".into())
            ])
        );
    }

    #[test]
    fn unused_ssl_port_is_an_error() {
        let s = svc(
            &[(SSL_PORTS_KEY, "443, web")],
            vec![port("http", 80, "TCP")],
        );
        assert_eq!(
            protos(&ControllerConfig::default(), &s),
            Err("Unused port in ssl-ports annotation [443 web]".into())
        );
    }

    #[test]
    fn tcp_udp_merge_and_quic_upgrade() {
        let s = svc(
            &[(TCP_UDP_KEY, "true"), (QUIC_PORTS_KEY, "443")],
            vec![
                port("a", 443, "UDP"),
                port("b", 443, "TCP"),
                port("c", 53, "UDP"),
            ],
        );
        assert_eq!(
            protos(&ControllerConfig::default(), &s),
            Ok(vec![
                (443, "TCP_QUIC".into(), "TCP_QUIC".into()),
                (53, "UDP".into(), "UDP".into())
            ])
        );
        // without merging both 443 ports stay separate listeners
        let s = svc(&[], vec![port("a", 443, "UDP"), port("b", 443, "TCP")]);
        assert_eq!(
            protos(&ControllerConfig::default(), &s).map(|p| p.len()),
            Ok(2)
        );
    }

    #[test]
    fn merge_errors() {
        let on = [(TCP_UDP_KEY, "true")];
        let s = svc(&on, vec![port("a", 80, "TCP"), port("b", 80, "TCP")]);
        assert_eq!(
            protos(&ControllerConfig::default(), &s),
            Err("protocols can't match for merging: TCP".into())
        );
        let s = svc(&on, vec![port("a", 80, "SCTP"), port("b", 80, "TCP")]);
        assert_eq!(
            protos(&ControllerConfig::default(), &s),
            Err("unsupported protocol for merging: SCTP".into())
        );
        let s = svc(
            &on,
            vec![
                port("a", 80, "TCP"),
                port("b", 80, "UDP"),
                port("c", 80, "UDP"),
            ],
        );
        let e = protos(&ControllerConfig::default(), &s);
        assert!(
            matches!(&e, Err(m) if m.starts_with("can only merge two ports, not 3 ([{Name:a Protocol:TCP AppProtocol:<nil> Port:80 TargetPort:{Type:0 IntVal:8080 StrVal:} NodePort:30080} "))
        );
        let s = svc(&[(QUIC_PORTS_KEY, "80")], vec![port("a", 80, "TCP")]);
        assert_eq!(
            protos(&ControllerConfig::default(), &s),
            Err("Unsupported QUIC upgrade for protocol TCP".into())
        );
    }
}
