//! Shared plumbing for the conformance handlers: loading, rule conversion, comparison.
#![allow(dead_code)] // shared by the handlers; not every area uses every converter

use std::path::Path;

use lbsg::world::{IntOrString, NetworkingPeer, NetworkingPort, NetworkingRule, Rule, Source};
use serde_json::{Map, Value};

/// A handler runs one vector and returns `Err(one-line diff)` on a mismatch.
pub type Handler = fn(&Vector) -> Result<(), String>;

/// One vector, with the fields the runner needs; handlers read `input`/`expected` freely.
#[derive(Debug, Clone)]
pub struct Vector {
    pub id: String,
    pub scope: String,
    pub input: Value,
    pub expected: Value,
}

impl Vector {
    pub fn from_value(v: Value) -> Result<Self, String> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or_else(|| format!("missing string field `{k}`"))
        };
        Ok(Vector {
            id: s("id")?,
            scope: s("scope")?,
            input: v.get("input").cloned().unwrap_or(Value::Null),
            expected: v.get("expected").cloned().ok_or("missing `expected`")?,
        })
    }

    pub fn input(&self, key: &str) -> &Value {
        self.input.get(key).unwrap_or(&Value::Null)
    }

    pub fn expected(&self, key: &str) -> &Value {
        self.expected.get(key).unwrap_or(&Value::Null)
    }

    /// `expected.error` as a string, when the vector expects a failure.
    pub fn expected_error(&self) -> Option<&str> {
        self.expected.get("error").and_then(Value::as_str)
    }
}

/// Load one vector file; checks the schema tag.
pub fn load_file(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if doc.get("schema").and_then(Value::as_str) != Some("lbsg/lbc-vectors/v1") {
        return Err(format!(
            "{}: schema is not lbsg/lbc-vectors/v1",
            path.display()
        ));
    }
    doc.get("vectors")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("{}: no `vectors` list", path.display()))
}

/// First line of a diff, shortened for the summary.
pub fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 220 {
        format!("{}…", line.chars().take(220).collect::<String>())
    } else {
        line.to_string()
    }
}

pub fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn i32_of(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| i as i32),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(str_of).collect())
        .unwrap_or_default()
}

pub fn string_map(v: &Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), str_of(v).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn int_or_string(v: &Value) -> Option<IntOrString> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| IntOrString::Int(i as i32)),
        Value::String(s) => Some(IntOrString::Str(s.clone())),
        _ => None,
    }
}

/// A vector rule map → [`Rule`].
pub fn rule_from(v: &Value) -> Rule {
    let source = if let Some(c) = v.get("cidr").and_then(Value::as_str) {
        Source::Cidr(c.to_string())
    } else if let Some(c) = v.get("cidr_ipv6").and_then(Value::as_str) {
        Source::CidrV6(c.to_string())
    } else if let Some(p) = v.get("prefix_list").and_then(Value::as_str) {
        Source::PrefixList(p.to_string())
    } else if let Some(g) = v.get("source_sg").and_then(Value::as_str) {
        Source::Group(g.to_string())
    } else {
        Source::None
    };
    Rule {
        protocol: v.get("protocol").and_then(str_of).unwrap_or_default(),
        from_port: v.get("from_port").and_then(i32_of),
        to_port: v.get("to_port").and_then(i32_of),
        source,
        description: v.get("description").and_then(str_of).unwrap_or_default(),
    }
}

pub fn rules_from(v: &Value) -> Vec<Rule> {
    v.as_array()
        .map(|a| a.iter().map(rule_from).collect())
        .unwrap_or_default()
}

/// [`Rule`] → the vector's flow-map shape.
pub fn rule_to(r: &Rule) -> Value {
    let mut m = Map::new();
    m.insert("protocol".into(), Value::String(r.protocol.clone()));
    if let Some(f) = r.from_port {
        m.insert("from_port".into(), f.into());
    }
    if let Some(t) = r.to_port {
        m.insert("to_port".into(), t.into());
    }
    let key = match &r.source {
        Source::Cidr(_) => Some("cidr"),
        Source::CidrV6(_) => Some("cidr_ipv6"),
        Source::PrefixList(_) => Some("prefix_list"),
        Source::Group(_) => Some("source_sg"),
        Source::None => None,
    };
    if let Some(k) = key {
        m.insert(k.into(), Value::String(r.source.value().to_string()));
    }
    m.insert("description".into(), Value::String(r.description.clone()));
    Value::Object(m)
}

pub fn rules_to(rs: &[Rule]) -> Value {
    Value::Array(rs.iter().map(rule_to).collect())
}

/// Vector TGB networking (`[{from: [{sg}|{cidr}], ports: [{protocol, port}]}]`) → world type.
pub fn networking_from(v: &Value) -> Option<Vec<NetworkingRule>> {
    let arr = v.as_array()?;
    Some(
        arr.iter()
            .map(|r| NetworkingRule {
                from: r
                    .get("from")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|p| {
                                if let Some(sg) = p.get("sg").and_then(Value::as_str) {
                                    NetworkingPeer::SecurityGroup(sg.to_string())
                                } else if let Some(c) = p.get("cidr").and_then(Value::as_str) {
                                    NetworkingPeer::IpBlock(c.to_string())
                                } else {
                                    NetworkingPeer::Empty
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                ports: r
                    .get("ports")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|p| NetworkingPort {
                                protocol: p
                                    .get("protocol")
                                    .and_then(Value::as_str)
                                    .map(String::from),
                                port: p.get("port").and_then(int_or_string),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    )
}

/// World TGB networking → the vector's shape (`None` → null).
pub fn networking_to(n: &Option<Vec<NetworkingRule>>) -> Value {
    let Some(rules) = n else { return Value::Null };
    Value::Array(
        rules
            .iter()
            .map(|r| {
                let from: Vec<Value> = r
                    .from
                    .iter()
                    .map(|p| match p {
                        NetworkingPeer::SecurityGroup(s) => serde_json::json!({"sg": s}),
                        NetworkingPeer::IpBlock(c) => serde_json::json!({"cidr": c}),
                        NetworkingPeer::Empty => serde_json::json!({}),
                    })
                    .collect();
                let ports: Vec<Value> = r
                    .ports
                    .iter()
                    .map(|p| {
                        let port = match &p.port {
                            Some(IntOrString::Int(i)) => Value::from(*i),
                            Some(IntOrString::Str(s)) => Value::String(s.clone()),
                            None => Value::Null,
                        };
                        serde_json::json!({"protocol": p.protocol, "port": port})
                    })
                    .collect();
                serde_json::json!({"from": from, "ports": ports})
            })
            .collect(),
    )
}

fn looks_like_rule(v: &Value) -> bool {
    v.get("protocol").is_some() && (v.get("from_port").is_some() || v.get("to_port").is_some())
}

/// Canonical text of a value, for set comparison and diffs.
pub fn canon(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Loose scalar equality: YAML gives `'80'` and `80` for the same port; null matches absent.
fn scalar_eq(e: &Value, a: &Value) -> bool {
    match (e, a) {
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            x.to_string() == *y
        }
        _ => e == a,
    }
}

/// Does `actual` contain everything `expected` says? Objects: only the expected keys are
/// checked (a `null` expected value also matches an absent key). Arrays: element-wise, except
/// arrays of rules, which compare as multisets unless a sibling `rule_order_significant: true`.
pub fn subset_match(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match expected {
        Value::Object(em) => {
            let order_significant = em
                .get("rule_order_significant")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            for (k, ev) in em {
                if k == "rule_order_significant" {
                    continue;
                }
                let av = actual.get(k).unwrap_or(&Value::Null);
                let p = format!("{path}.{k}");
                match (ev, av) {
                    (Value::Array(ea), Value::Array(aa))
                        if !order_significant
                            && ea.iter().chain(aa.iter()).any(looks_like_rule) =>
                    {
                        compare_rule_sets(ea, aa, &p)?
                    }
                    _ => subset_match(ev, av, &p)?,
                }
            }
            Ok(())
        }
        Value::Array(ea) => {
            let Some(aa) = actual.as_array() else {
                return Err(format!(
                    "{path}: expected {} got {}",
                    canon(expected),
                    canon(actual)
                ));
            };
            if ea.len() != aa.len() {
                return Err(format!(
                    "{path}: expected {} got {}",
                    canon(expected),
                    canon(actual)
                ));
            }
            for (i, (e, a)) in ea.iter().zip(aa).enumerate() {
                subset_match(e, a, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if scalar_eq(expected, actual) => Ok(()),
        _ => Err(format!(
            "{path}: expected {} got {}",
            canon(expected),
            canon(actual)
        )),
    }
}

/// Rule lists as multisets of full rules (description included).
pub fn compare_rule_sets(expected: &[Value], actual: &[Value], path: &str) -> Result<(), String> {
    let norm = |v: &Value| canon(&rule_to(&rule_from(v)));
    let mut e: Vec<String> = expected.iter().map(norm).collect();
    let mut a: Vec<String> = actual.iter().map(norm).collect();
    e.sort();
    a.sort();
    if e == a {
        return Ok(());
    }
    let missing: Vec<&String> = e.iter().filter(|x| !a.contains(x)).collect();
    let extra: Vec<&String> = a.iter().filter(|x| !e.contains(x)).collect();
    Err(format!(
        "{path}: rules differ; missing {} extra {} (expected {} rules, got {})",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        e.len(),
        a.len()
    ))
}

/// Compare an operation's error with the vector's `expected.error`.
pub fn check_error(v: &Vector, actual: &Result<Value, String>) -> Result<(), String> {
    match (v.expected_error(), actual) {
        (Some(e), Err(a)) if e == a => Ok(()),
        (Some(e), Err(a)) => Err(format!("error text: expected {e:?} got {a:?}")),
        (Some(e), Ok(got)) => Err(format!("expected error {e:?}, got success {}", canon(got))),
        (None, Err(a)) => Err(format!("unexpected error {a:?}")),
        (None, Ok(got)) => subset_match(&v.expected, got, "expected"),
    }
}

/// A vector's controller input (conformance README "Controller input") → [`ControllerConfig`];
/// keys not given keep the LBC defaults.
pub fn controller_from(c: &Value) -> lbsg::world::ControllerConfig {
    let mut cfg = lbsg::world::ControllerConfig::default();
    let s = |k: &str| c.get(k).and_then(str_of);
    let b = |k: &str| c.get(k).and_then(Value::as_bool);
    if let Some(v) = s("cluster_name") {
        cfg.cluster_name = v;
    }
    cfg.vpc_id = s("vpc_id");
    if let Some(v) = b("enable_backend_security_group") {
        cfg.enable_backend_security_group = v;
    }
    if let Some(v) = b("enable_manage_backend_security_group_rules") {
        cfg.enable_manage_backend_security_group_rules = v;
    }
    if let Some(v) = b("disable_restricted_sg_rules") {
        cfg.disable_restricted_sg_rules = v;
    }
    for key in ["backend_security_group_flag", "backend_security_group"] {
        if let Some(v) = s(key) {
            cfg.backend_security_group = v;
        }
    }
    if let Some(v) = s("default_target_type") {
        cfg.default_target_type = v;
    }
    if let Some(v) = s("default_load_balancer_scheme") {
        cfg.default_load_balancer_scheme = v;
    }
    if let Some(v) = s("ingress_class") {
        cfg.ingress_class = v;
    }
    cfg.default_tags = string_map(c.get("default_tags").unwrap_or(&Value::Null));
    cfg.external_managed_tags = string_list(c.get("external_managed_tags").unwrap_or(&Value::Null));
    cfg.service_target_eni_sg_tags = string_map(
        c.get("service_target_eni_security_group_tags")
            .unwrap_or(&Value::Null),
    );
    if let Some(v) = b("enable_ip_target_type") {
        cfg.feature_gates.0.insert("EnableIPTargetType".into(), v);
    }
    if let Some(gates) = c.get("feature_gates").and_then(Value::as_object) {
        for (k, g) in gates {
            if let Some(on) = g.as_bool() {
                cfg.feature_gates.0.insert(k.clone(), on);
            }
        }
    }
    cfg
}

/// Serves a vector's `sg_resolution: {request, result | error}`; any other request fails, so a
/// resolution the LBC would not make is caught.
pub struct VectorResolver(pub Value);

impl lbsg::core::lbc::resolve::SgResolver for VectorResolver {
    fn resolve(&self, names_or_ids: &[String]) -> Result<Vec<String>, String> {
        let res = &self.0;
        if res.is_null() {
            return Err(format!("vector has no sg_resolution for {names_or_ids:?}"));
        }
        if let Some(req) = res.get("request") {
            let request = string_list(req);
            if request != names_or_ids {
                return Err(format!(
                    "resolver asked for {names_or_ids:?}, vector answers {request:?}"
                ));
            }
        }
        match res.get("error").and_then(str_of) {
            Some(e) => Err(e),
            None => Ok(string_list(res.get("result").unwrap_or(&Value::Null))),
        }
    }
}
