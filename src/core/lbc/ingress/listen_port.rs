//! One member's listener settings (`pkg/ingress/model_build_listener.go`
//! computeIngressListenPortConfigByPort): `listen-ports`, inbound CIDRs and prefix lists (from
//! IngressClassParams when it sets them, else annotations), certificates, SSL policy and the
//! mutual-authentication checks that can fail the build.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Member;

pub const HTTP: &str = "HTTP";
pub const HTTPS: &str = "HTTPS";

/// The settings of one listener port, for one member or merged over the group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenPortConfig {
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// Merged configs hold these sorted and de-duplicated (Go `sets.String.List()`).
    pub inbound_cidr_v4: Vec<String>,
    pub inbound_cidr_v6: Vec<String>,
    pub prefix_lists: Vec<String>,
    /// Only set on HTTPS ports.
    pub ssl_policy: Option<String>,
}

/// Go `net.ParseCIDR` acceptance (no zones, no leading zeros, decimal prefix within the family).
pub fn is_go_cidr(s: &str) -> bool {
    let Some((addr, mask)) = s.split_once('/') else {
        return false;
    };
    let bits = match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    !mask.is_empty()
        && mask.bytes().all(|b| b.is_ascii_digit())
        && mask.parse::<u32>().is_ok_and(|n| n <= bits)
}

/// `inbound-cidrs` (or IngressClassParams `inboundCIDRs`, which wins when non-empty), split into
/// IPv4 and IPv6 lists.
pub fn explicit_inbound_cidrs(m: &Member<'_>) -> Result<(Vec<String>, Vec<String>), String> {
    let from_params = m.params.map(|p| &p.inbound_cidrs).filter(|c| !c.is_empty());
    let raw = match from_params {
        Some(c) => c.clone(),
        None => m.ann().list("inbound-cidrs").unwrap_or_default(),
    };
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for cidr in raw {
        if !is_go_cidr(&cidr) {
            return Err(if from_params.is_some() {
                format!(
                    "invalid CIDR in IngressClassParams InboundCIDR {cidr}: invalid CIDR address: {cidr}"
                )
            } else {
                format!(
                    "invalid inbound-cidrs settings on Ingress: {}: invalid CIDR address: {cidr}",
                    m.key()
                )
            });
        }
        if cidr.contains(':') {
            v6.push(cidr);
        } else {
            v4.push(cidr);
        }
    }
    Ok((v4, v6))
}

/// IngressClassParams `prefixListsIDs`, else its legacy `PrefixListsIDs`, else the annotation.
pub fn explicit_prefix_lists(m: &Member<'_>) -> Vec<String> {
    if let Some(p) = m.params {
        if !p.prefix_list_ids.is_empty() {
            return p.prefix_list_ids.clone();
        }
        if !p.prefix_list_ids_legacy.is_empty() {
            return p.prefix_list_ids_legacy.clone();
        }
    }
    m.ann()
        .list("security-group-prefix-lists")
        .unwrap_or_default()
}

/// Explicit certificate ARNs (IngressClassParams wins); any makes the default listener HTTPS:443.
fn explicit_certificates(m: &Member<'_>) -> Vec<String> {
    match m
        .params
        .map(|p| &p.certificate_arns)
        .filter(|c| !c.is_empty())
    {
        Some(c) => c.clone(),
        None => m.ann().list("certificate-arn").unwrap_or_default(),
    }
}

/// The JSON kind Go names in `cannot unmarshal <kind>` errors.
fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

fn unmarshal_err(v: &Value, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {go_type}",
        json_kind(v)
    )
}

/// Decode `[{"HTTP": 80}, …]` as Go's `json.Unmarshal` into `[]map[string]int32` would
/// (`null` entries contribute nothing; a `null` port reads as 0).
fn decode_listen_ports(v: &Value) -> Result<Vec<(String, i32)>, String> {
    let entries = match v {
        Value::Array(a) => a,
        other => return Err(unmarshal_err(other, "[]map[string]int32")),
    };
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Value::Null => {}
            Value::Object(map) => {
                for (proto, port) in map {
                    let port = match port {
                        Value::Null => 0,
                        Value::Number(n) => n
                            .as_i64()
                            .and_then(|i| i32::try_from(i).ok())
                            .ok_or_else(|| unmarshal_err(port, "int32"))?,
                        other => return Err(unmarshal_err(other, "int32")),
                    };
                    out.push((proto.clone(), port));
                }
            }
            other => return Err(unmarshal_err(other, "map[string]int32")),
        }
    }
    Ok(out)
}

/// Port → protocol of one member (`listen-ports`, default HTTP:80 or HTTPS:443 with certificates).
/// Malformed-JSON error texts are serde's wording, not Go's.
pub fn member_listen_ports(
    m: &Member<'_>,
    prefer_tls: bool,
) -> Result<BTreeMap<i32, String>, String> {
    let Some(raw) = m.ann().get("listen-ports") else {
        return Ok(if prefer_tls {
            [(443, HTTPS.to_string())].into()
        } else {
            [(80, HTTP.to_string())].into()
        });
    };
    let fail = |e: String| format!("failed to parse listen-ports configuration: `{raw}`: {e}");
    let v: Value = serde_json::from_str(raw).map_err(|e| fail(e.to_string()))?;
    if v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
        return Err(format!("empty listen-ports configuration: `{raw}`"));
    }
    let mut out = BTreeMap::new();
    for (proto, port) in decode_listen_ports(&v).map_err(fail)? {
        if !(1..=65535).contains(&port) {
            return Err(format!("listen port must be within [1, 65535]: {port}"));
        }
        if proto != HTTP && proto != HTTPS {
            return Err(format!(
                "listen protocol must be within [{HTTP}, {HTTPS}]: {proto}"
            ));
        }
        out.insert(port, proto);
    }
    Ok(out)
}

/// Validate `mutual-authentication` the way the LBC does before it builds listeners. Trust-store
/// names are resolved through ELBv2 by the LBC; that lookup is not modelled.
fn check_mutual_authentication(m: &Member<'_>) -> Result<(), String> {
    let Some(raw) = m.ann().get("mutual-authentication") else {
        return Ok(());
    };
    let parse_err = |e: String| {
        format!(
            "failed to parse mutualAuthentication configuration from ingress annotation: `{raw}`: {e}"
        )
    };
    let entries = match serde_json::from_str::<Value>(raw).map_err(|e| parse_err(e.to_string()))? {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => {
            return Err(parse_err(unmarshal_err(
                &other,
                "[]ingress.MutualAuthenticationConfig",
            )));
        }
    };
    if entries.is_empty() {
        return Err(format!(
            "empty mutualAuthentication configuration from ingress annotation: `{raw}`"
        ));
    }
    for e in &entries {
        // Go matches struct fields case-insensitively.
        let field = |name: &str| {
            e.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let port = field("port").and_then(Value::as_i64).unwrap_or(0);
        let mode = field("mode").and_then(Value::as_str).unwrap_or("");
        let trust_store = field("trustStore").and_then(Value::as_str).unwrap_or("");
        let ignore_expiry = field("ignoreClientCertificateExpiry").is_some_and(|v| !v.is_null());
        let advertise = field("advertiseTrustStoreCaNames").and_then(Value::as_str);
        if !(1..=65535).contains(&port) {
            return Err(format!("listen port must be within [1, 65535]: {port}"));
        }
        if mode.is_empty() {
            return Err(format!(
                "mutualAuthentication mode cannot be empty for port {port}"
            ));
        }
        if !["off", "passthrough", "verify"].contains(&mode) {
            return Err(format!(
                "mutualAuthentication mode value must be among [off, passthrough, verify] for port {port} : {mode}"
            ));
        }
        if mode == "verify" && trust_store.is_empty() {
            return Err(format!(
                "trustStore is required when mutualAuthentication mode is verify for port {port}"
            ));
        }
        if mode != "verify" && !trust_store.is_empty() {
            return Err(format!(
                "Mutual Authentication mode {mode} does not support trustStore for port {port}"
            ));
        }
        if mode != "verify" && ignore_expiry {
            return Err(format!(
                "Mutual Authentication mode {mode} does not support ignoring client certificate expiry for port {port}"
            ));
        }
        if let Some(a) = advertise {
            if mode != "verify" {
                return Err(format!(
                    "Mutual Authentication mode {mode} does not support advertiseTrustStoreCaNames for port {port}"
                ));
            }
            if a != "on" && a != "off" {
                return Err(format!(
                    "advertiseTrustStoreCaNames only supports the values \"on\" and \"off\" got value {a} for port {port}"
                ));
            }
        }
    }
    Ok(())
}

/// One member's listen-port configs (errors without the `ingress: <ns>/<name>: ` prefix).
pub fn member_listen_port_configs(
    m: &Member<'_>,
) -> Result<BTreeMap<i32, ListenPortConfig>, String> {
    let prefer_tls = !explicit_certificates(m).is_empty();
    let ssl_policy = m.ann().get("ssl-policy").map(String::from);
    let prefix_lists = explicit_prefix_lists(m);
    let (v4, v6) = explicit_inbound_cidrs(m)?;
    check_mutual_authentication(m)?;
    let ports = member_listen_ports(m, prefer_tls)?;
    Ok(ports
        .into_iter()
        .map(|(port, protocol)| {
            let ssl_policy = if protocol == HTTPS {
                ssl_policy.clone()
            } else {
                None
            };
            let cfg = ListenPortConfig {
                protocol,
                inbound_cidr_v4: v4.clone(),
                inbound_cidr_v6: v6.clone(),
                prefix_lists: prefix_lists.clone(),
                ssl_policy,
            };
            (port, cfg)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_cidr_acceptance() {
        for ok in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
            "10.0.0.0/008",
            "1.2.3.4/32",
        ] {
            assert!(is_go_cidr(ok), "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "10.0.0.0/33",
            "::/129",
            "010.0.0.0/8",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "fe80::1%eth0/64",
            "x/8",
        ] {
            assert!(!is_go_cidr(bad), "{bad}");
        }
    }

    #[test]
    fn listen_ports_decoding() {
        let d = |raw: &str| decode_listen_ports(&serde_json::from_str(raw).unwrap());
        assert_eq!(
            d(r#"[{"HTTP": 80}, {"HTTPS": 443}]"#).unwrap(),
            vec![("HTTP".into(), 80), ("HTTPS".into(), 443)]
        );
        assert_eq!(
            d(r#"[{"HTTP": "80"}]"#).unwrap_err(),
            "json: cannot unmarshal string into Go value of type int32"
        );
        assert_eq!(d("[null]").unwrap(), vec![]);
        assert!(d(r#"[{"HTTP": 80.5}]"#).is_err());
    }

    fn member_with(ann: &[(&str, &str)]) -> crate::world::Ingress {
        let mut i = crate::world::Ingress::default();
        i.meta.namespace = "ns".into();
        i.meta.name = "a".into();
        for (k, v) in ann {
            i.meta
                .annotations
                .insert(format!("alb.ingress.kubernetes.io/{k}"), v.to_string());
        }
        i
    }

    #[test]
    fn mutual_authentication_is_validated() {
        let ok = member_with(&[("mutual-authentication", r#"[{"port":443,"mode":"off"}]"#)]);
        assert!(
            check_mutual_authentication(&Member {
                ing: &ok,
                params: None
            })
            .is_ok()
        );
        for (raw, err) in [
            (
                "[]",
                "empty mutualAuthentication configuration from ingress annotation: `[]`",
            ),
            (
                r#"[{"port":443,"mode":"strict"}]"#,
                "mutualAuthentication mode value must be among [off, passthrough, verify] for port 443 : strict",
            ),
            (
                r#"[{"port":443,"mode":"verify"}]"#,
                "trustStore is required when mutualAuthentication mode is verify for port 443",
            ),
        ] {
            let i = member_with(&[("mutual-authentication", raw)]);
            assert_eq!(
                check_mutual_authentication(&Member {
                    ing: &i,
                    params: None
                })
                .unwrap_err(),
                err
            );
        }
    }

    #[test]
    fn member_listen_port_defaults_and_errors() {
        let plain = member_with(&[]);
        let m = Member {
            ing: &plain,
            params: None,
        };
        assert_eq!(
            member_listen_ports(&m, false).unwrap(),
            [(80, "HTTP".to_string())].into()
        );
        assert_eq!(
            member_listen_ports(&m, true).unwrap(),
            [(443, "HTTPS".to_string())].into()
        );
        for (raw, err) in [
            ("[]", "empty listen-ports configuration: `[]`"),
            (
                r#"[{"HTTP": 0}]"#,
                "listen port must be within [1, 65535]: 0",
            ),
            (
                r#"[{"TCP": 80}]"#,
                "listen protocol must be within [HTTP, HTTPS]: TCP",
            ),
        ] {
            let i = member_with(&[("listen-ports", raw)]);
            let m = Member {
                ing: &i,
                params: None,
            };
            assert_eq!(member_listen_ports(&m, false).unwrap_err(), err);
        }
    }
}
