//! The LBC's own configuration, parsed from its container args with the LBC's defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a configuration value came from, shown next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Default,
    Args,
    Override,
}

/// The LBC feature gates (`--feature-gates=K=V,…`) with the controller's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureGates(pub BTreeMap<String, bool>);

impl Default for FeatureGates {
    fn default() -> Self {
        let defaults = [
            ("NLBSecurityGroup", true),
            ("EnableRGTAPI", false),
            ("EnableTCPUDPListener", false),
            ("EnableDefaultTagsLowPriority", false),
            ("EnableIPTargetType", true),
            ("ServiceTypeLoadBalancerOnly", false),
        ];
        FeatureGates(defaults.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }
}

impl FeatureGates {
    pub fn enabled(&self, gate: &str) -> bool {
        self.0.get(gate).copied().unwrap_or(false)
    }
}

/// The controller flags that matter for security groups (lbc-semantics §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    pub cluster_name: String,
    pub vpc_id: Option<String>,
    pub region: Option<String>,
    pub enable_backend_security_group: bool,
    pub backend_security_group: String,
    pub enable_manage_backend_security_group_rules: bool,
    pub disable_restricted_sg_rules: bool,
    pub default_target_type: String,
    pub default_load_balancer_scheme: String,
    pub default_tags: BTreeMap<String, String>,
    pub external_managed_tags: Vec<String>,
    pub feature_gates: FeatureGates,
    pub load_balancer_class: String,
    pub ingress_class: String,
    pub service_target_eni_sg_tags: BTreeMap<String, String>,
    /// The args as given (empty when only defaults apply).
    pub args: Vec<String>,
    /// Origin of each value, by flag name (without dashes); absent = default.
    pub origins: BTreeMap<String, Origin>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            cluster_name: String::new(),
            vpc_id: None,
            region: None,
            enable_backend_security_group: true,
            backend_security_group: String::new(),
            enable_manage_backend_security_group_rules: false,
            disable_restricted_sg_rules: false,
            default_target_type: "instance".into(),
            default_load_balancer_scheme: "internal".into(),
            default_tags: BTreeMap::new(),
            external_managed_tags: Vec::new(),
            feature_gates: FeatureGates::default(),
            load_balancer_class: "service.k8s.aws/nlb".into(),
            ingress_class: "alb".into(),
            service_target_eni_sg_tags: BTreeMap::new(),
            args: Vec::new(),
            origins: BTreeMap::new(),
        }
    }
}

/// A controller arg lbsg could not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("controller arg {arg}: {problem}")]
pub struct ArgError {
    pub arg: String,
    pub problem: String,
}

/// Go `strconv.ParseBool`.
pub fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `k=v,k2=v2` as the LBC's flags take it (pflag StringToString).
fn parse_kv_list(v: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for piece in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, val) = piece.split_once('=')?;
        out.insert(k.trim().to_string(), val.trim().to_string());
    }
    Some(out)
}

const BOOL_FLAGS: &[&str] = &[
    "enable-backend-security-group",
    "enable-manage-backend-security-group-rules",
    "disable-restricted-sg-rules",
];

impl ControllerConfig {
    /// Parse the controller's container args (`--flag=value`, `--flag value`, bare booleans).
    /// Flags that do not concern security groups are kept in `args` and otherwise ignored.
    pub fn from_args(args: &[String]) -> Result<Self, ArgError> {
        let mut cfg = ControllerConfig {
            args: args.to_vec(),
            ..ControllerConfig::default()
        };
        let mut i = 0;
        while i < args.len() {
            let raw = &args[i];
            i += 1;
            let Some(flag) = raw.strip_prefix("--").or_else(|| raw.strip_prefix('-')) else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.to_string(), None),
            };
            let value = match value {
                Some(v) => v,
                None if BOOL_FLAGS.contains(&name.as_str()) => "true".to_string(),
                None => match args.get(i) {
                    Some(next) if !next.starts_with('-') => {
                        i += 1;
                        next.clone()
                    }
                    _ => String::new(),
                },
            };
            cfg.set(&name, &value, Origin::Args)?;
        }
        Ok(cfg)
    }

    /// Set one flag by name (without dashes), recording where it came from.
    pub fn set(&mut self, name: &str, value: &str, origin: Origin) -> Result<(), ArgError> {
        let err = |problem: &str| ArgError {
            arg: format!("--{name}={value}"),
            problem: problem.to_string(),
        };
        let as_bool = || parse_go_bool(value).ok_or_else(|| err("expected true or false"));
        match name {
            "cluster-name" => self.cluster_name = value.to_string(),
            "aws-vpc-id" => self.vpc_id = Some(value.to_string()).filter(|v| !v.is_empty()),
            "aws-region" => self.region = Some(value.to_string()).filter(|v| !v.is_empty()),
            "enable-backend-security-group" => self.enable_backend_security_group = as_bool()?,
            "backend-security-group" => self.backend_security_group = value.to_string(),
            "enable-manage-backend-security-group-rules" => {
                self.enable_manage_backend_security_group_rules = as_bool()?
            }
            "disable-restricted-sg-rules" => self.disable_restricted_sg_rules = as_bool()?,
            "default-target-type" => self.default_target_type = value.to_string(),
            "default-load-balancer-scheme" => self.default_load_balancer_scheme = value.to_string(),
            "default-tags" => {
                self.default_tags =
                    parse_kv_list(value).ok_or_else(|| err("expected key=value pairs"))?
            }
            "external-managed-tags" => {
                self.external_managed_tags = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "feature-gates" => {
                let gates = parse_kv_list(value).ok_or_else(|| err("expected Gate=true|false"))?;
                for (k, v) in gates {
                    let b = parse_go_bool(&v).ok_or_else(|| err("gate value must be a bool"))?;
                    self.feature_gates.0.insert(k, b);
                }
            }
            "load-balancer-class" => self.load_balancer_class = value.to_string(),
            "ingress-class" => self.ingress_class = value.to_string(),
            "service-target-eni-security-group-tags" => {
                self.service_target_eni_sg_tags =
                    parse_kv_list(value).ok_or_else(|| err("expected key=value pairs"))?
            }
            _ => return Ok(()),
        }
        self.origins.insert(name.to_string(), origin);
        Ok(())
    }

    /// Where a flag's value came from.
    pub fn origin(&self, name: &str) -> Origin {
        self.origins.get(name).copied().unwrap_or(Origin::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags_in_every_go_spelling() {
        let c = ControllerConfig::from_args(&args(&[
            "--cluster-name=demo",
            "--enable-backend-security-group",
            "false",
            "-disable-restricted-sg-rules",
            "--feature-gates=NLBSecurityGroup=false,EnableTCPUDPListener=true",
            "--default-tags",
            "team=a, env=prod",
            "--aws-vpc-id=vpc-0abc",
        ]))
        .unwrap();
        assert_eq!(c.cluster_name, "demo");
        // a bare bool flag is true; the following "false" is a positional, not its value
        assert!(c.enable_backend_security_group);
        assert!(c.disable_restricted_sg_rules);
        assert!(!c.feature_gates.enabled("NLBSecurityGroup"));
        assert!(c.feature_gates.enabled("EnableTCPUDPListener"));
        assert!(c.feature_gates.enabled("EnableIPTargetType"));
        assert_eq!(c.default_tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(c.vpc_id.as_deref(), Some("vpc-0abc"));
        assert_eq!(c.origin("cluster-name"), Origin::Args);
        assert_eq!(c.origin("default-target-type"), Origin::Default);
    }

    #[test]
    fn rejects_bad_bool() {
        let e =
            ControllerConfig::from_args(&args(&["--disable-restricted-sg-rules=yes"])).unwrap_err();
        assert!(e.to_string().contains("disable-restricted-sg-rules"));
    }
}
