//! Controller flag validation as the LBC does it at startup (lbc-semantics §2), and a flag-named
//! view of the SG-relevant configuration.

use crate::world::{ControllerConfig, Origin};

/// Tag keys the LBC uses to track its resources; `--default-tags` and `--external-managed-tags`
/// may not use them.
pub const TRACKING_TAG_KEYS: [&str; 10] = [
    "elbv2.k8s.aws/cluster",
    "elbv2.k8s.aws/resource",
    "ingress.k8s.aws/stack",
    "ingress.k8s.aws/resource",
    "service.k8s.aws/stack",
    "service.k8s.aws/resource",
    "gateway.k8s.aws.nlb/resource",
    "gateway.k8s.aws.alb/resource",
    "gateway.k8s.aws.nlb/stack",
    "gateway.k8s.aws.alb/stack",
];

fn is_tracking_key(k: &str) -> bool {
    TRACKING_TAG_KEYS.contains(&k)
}

/// The LBC's startup validation, in its order; the first failure is the error (exact texts).
pub fn validate(cfg: &ControllerConfig) -> Result<(), String> {
    if cfg.cluster_name.is_empty() {
        return Err("kubernetes cluster name must be specified".into());
    }
    validate_default_tags(cfg)?;
    validate_external_managed_tags(cfg)?;
    validate_default_target_type(cfg)?;
    validate_default_scheme(cfg)?;
    validate_backend_security_group(cfg)?;
    validate_manage_backend_rules(cfg)
}

/// `--default-tags` may not use tracking keys.
pub fn validate_default_tags(cfg: &ControllerConfig) -> Result<(), String> {
    match cfg.default_tags.keys().find(|k| is_tracking_key(k)) {
        Some(k) => Err(format!(
            "tag key {k} cannot be specified in default-tags flag"
        )),
        None => Ok(()),
    }
}

/// `--external-managed-tags` may use neither tracking keys nor `--default-tags` keys.
pub fn validate_external_managed_tags(cfg: &ControllerConfig) -> Result<(), String> {
    if let Some(k) = cfg
        .external_managed_tags
        .iter()
        .find(|k| is_tracking_key(k))
    {
        return Err(format!(
            "tag key {k} cannot be specified in external-managed-tags flag"
        ));
    }
    match cfg
        .external_managed_tags
        .iter()
        .find(|k| cfg.default_tags.contains_key(*k))
    {
        Some(k) => Err(format!(
            "tag key {k} cannot be specified in both default-tags and external-managed-tags flag"
        )),
        None => Ok(()),
    }
}

pub fn validate_default_target_type(cfg: &ControllerConfig) -> Result<(), String> {
    match cfg.default_target_type.as_str() {
        "instance" | "ip" => Ok(()),
        v => Err(format!("invalid value {v} for default target type")),
    }
}

pub fn validate_default_scheme(cfg: &ControllerConfig) -> Result<(), String> {
    match cfg.default_load_balancer_scheme.as_str() {
        "internal" | "internet-facing" => Ok(()),
        v => Err(format!("invalid value {v} for default scheme")),
    }
}

/// `--backend-security-group`, when set, must be an SG id.
pub fn validate_backend_security_group(cfg: &ControllerConfig) -> Result<(), String> {
    let v = &cfg.backend_security_group;
    if v.is_empty() || v.starts_with("sg-") {
        Ok(())
    } else {
        Err(format!("invalid value {v} for backend security group id"))
    }
}

/// Managing backend rules for custom SGs needs the backend SG.
pub fn validate_manage_backend_rules(cfg: &ControllerConfig) -> Result<(), String> {
    if cfg.enable_manage_backend_security_group_rules && !cfg.enable_backend_security_group {
        Err(
            "backend security group must be enabled when manage backend security group rule is enabled"
                .into(),
        )
    } else {
        Ok(())
    }
}

/// A flag value as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    Str(String),
    List(Vec<String>),
    Map(Vec<(String, String)>),
    /// Feature gates with their effective values.
    Gates(Vec<(String, bool)>),
}

/// One SG-relevant flag with its value and where the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagEntry {
    /// The flag name without dashes (`enable-backend-security-group`).
    pub name: &'static str,
    pub value: FlagValue,
    pub origin: Origin,
}

/// The SG-relevant flags of a configuration, by their LBC flag names, in §2 order. Feature gates
/// are one entry (`feature-gates`) listing every gate.
pub fn sg_flags(cfg: &ControllerConfig) -> Vec<FlagEntry> {
    let map = |m: &std::collections::BTreeMap<String, String>| {
        FlagValue::Map(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let entries: Vec<(&'static str, FlagValue)> = vec![
        ("cluster-name", FlagValue::Str(cfg.cluster_name.clone())),
        (
            "enable-backend-security-group",
            FlagValue::Bool(cfg.enable_backend_security_group),
        ),
        (
            "backend-security-group",
            FlagValue::Str(cfg.backend_security_group.clone()),
        ),
        (
            "enable-manage-backend-security-group-rules",
            FlagValue::Bool(cfg.enable_manage_backend_security_group_rules),
        ),
        (
            "disable-restricted-sg-rules",
            FlagValue::Bool(cfg.disable_restricted_sg_rules),
        ),
        (
            "service-target-eni-security-group-tags",
            map(&cfg.service_target_eni_sg_tags),
        ),
        ("default-tags", map(&cfg.default_tags)),
        (
            "external-managed-tags",
            FlagValue::List(cfg.external_managed_tags.clone()),
        ),
        (
            "default-target-type",
            FlagValue::Str(cfg.default_target_type.clone()),
        ),
        (
            "default-load-balancer-scheme",
            FlagValue::Str(cfg.default_load_balancer_scheme.clone()),
        ),
        (
            "load-balancer-class",
            FlagValue::Str(cfg.load_balancer_class.clone()),
        ),
        ("ingress-class", FlagValue::Str(cfg.ingress_class.clone())),
        (
            "feature-gates",
            FlagValue::Gates(
                cfg.feature_gates
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            ),
        ),
    ];
    entries
        .into_iter()
        .map(|(name, value)| FlagEntry {
            name,
            value,
            origin: cfg.origin(name),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    fn cfg() -> ControllerConfig {
        ControllerConfig {
            cluster_name: "c".into(),
            ..ControllerConfig::default()
        }
    }

    #[test]
    fn defaults_are_valid_but_cluster_name_is_required() {
        assert_eq!(validate(&cfg()), Ok(()));
        assert_eq!(
            validate(&ControllerConfig::default()).unwrap_err(),
            "kubernetes cluster name must be specified"
        );
    }

    #[test]
    fn tag_flag_collisions() {
        let mut c = cfg();
        c.default_tags
            .insert("elbv2.k8s.aws/cluster".into(), "x".into());
        assert_eq!(
            validate(&c).unwrap_err(),
            "tag key elbv2.k8s.aws/cluster cannot be specified in default-tags flag"
        );
        let mut c = cfg();
        c.external_managed_tags = vec!["service.k8s.aws/stack".into()];
        assert_eq!(
            validate(&c).unwrap_err(),
            "tag key service.k8s.aws/stack cannot be specified in external-managed-tags flag"
        );
        let mut c = cfg();
        c.default_tags.insert("tag-a".into(), "x".into());
        c.external_managed_tags = vec!["tag-a".into()];
        assert_eq!(
            validate(&c).unwrap_err(),
            "tag key tag-a cannot be specified in both default-tags and external-managed-tags flag"
        );
    }

    #[test]
    fn enum_flags() {
        let mut c = cfg();
        c.default_target_type = "IP".into();
        assert_eq!(
            validate(&c).unwrap_err(),
            "invalid value IP for default target type"
        );
        let mut c = cfg();
        c.default_load_balancer_scheme = "public".into();
        assert_eq!(
            validate(&c).unwrap_err(),
            "invalid value public for default scheme"
        );
    }

    #[test]
    fn flag_view_reports_origin() {
        let c = ControllerConfig::from_args(&["--cluster-name=demo".to_string()]).unwrap();
        let flags = sg_flags(&c);
        let name = flags.iter().find(|f| f.name == "cluster-name").unwrap();
        assert_eq!(name.origin, Origin::Args);
        let scheme = flags
            .iter()
            .find(|f| f.name == "default-load-balancer-scheme")
            .unwrap();
        assert_eq!(scheme.origin, Origin::Default);
        assert_eq!(scheme.value, FlagValue::Str("internal".into()));
    }
}
