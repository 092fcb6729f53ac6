//! Which Ingresses the LBC owns (`pkg/ingress/group_loader.go` classifyIngress, `class_loader.go`,
//! `class_annotation_matcher.go`).
//!
//! Order of precedence: the legacy `kubernetes.io/ingress.class` annotation (compared with
//! `--ingress-class`), then `spec.ingressClassName` (or the cluster's default IngressClass when
//! unset) whose controller must be `ingress.k8s.aws/alb`; an Ingress with neither is owned only
//! when `--ingress-class` is empty.

use std::collections::BTreeMap;

use crate::world::{ControllerConfig, Ingress, IngressClass, IngressClassParams, ObjKey};

/// `spec.controller` of IngressClasses the LBC serves.
pub const ALB_CONTROLLER: &str = "ingress.k8s.aws/alb";
/// The legacy class annotation; it wins over `spec.ingressClassName`.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// With an empty `--ingress-class`, the annotation must carry this value.
const ALB_CLASS: &str = "alb";

/// How the LBC classifies one Ingress.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassMatch<'a> {
    /// Reconciled by the LBC, with the IngressClassParams its class references (if any).
    Owned(Option<&'a IngressClassParams>),
    /// Another controller's Ingress (or being deleted).
    NotOwned,
    /// The class configuration is broken (`invalid ingress class: …`). The LBC ignores such an
    /// Ingress unless it already holds a group finalizer; then loading that group fails.
    InvalidClass(String),
    /// Classification itself fails (e.g. several default IngressClasses).
    Failed(String),
}

/// Whether the legacy class annotation selects this controller.
fn annotation_matches(cfg: &ControllerConfig, value: &str) -> bool {
    (cfg.ingress_class.is_empty() && value == ALB_CLASS) || value == cfg.ingress_class
}

/// The cluster's default IngressClass name, if exactly one is marked default.
pub fn default_ingress_class(
    classes: &BTreeMap<String, IngressClass>,
) -> Result<Option<&str>, String> {
    let mut defaults = classes.values().filter(|c| c.is_default);
    match (defaults.next(), defaults.next()) {
        (_, Some(_)) => Err("multiple default IngressClasses found".into()),
        (Some(c), None) => Ok(Some(c.meta.name.as_str())),
        (None, None) => Ok(None),
    }
}

/// Classify one Ingress as the LBC's group loader does.
pub fn classify<'a>(
    cfg: &ControllerConfig,
    ing: &Ingress,
    classes: &'a BTreeMap<String, IngressClass>,
    class_params: &'a BTreeMap<String, IngressClassParams>,
) -> ClassMatch<'a> {
    if ing.meta.deleting {
        return ClassMatch::NotOwned;
    }
    if let Some(value) = ing.meta.annotations.get(CLASS_ANNOTATION) {
        return if annotation_matches(cfg, value) {
            ClassMatch::Owned(None)
        } else {
            ClassMatch::NotOwned
        };
    }
    let class_name = match &ing.ingress_class_name {
        Some(n) => n.as_str(),
        None => match default_ingress_class(classes) {
            Err(e) => return ClassMatch::Failed(e),
            Ok(Some(n)) => n,
            // No class at all: only a controller with an empty --ingress-class takes it.
            Ok(None) if cfg.ingress_class.is_empty() => return ClassMatch::Owned(None),
            Ok(None) => return ClassMatch::NotOwned,
        },
    };
    let Some(class) = classes.get(class_name) else {
        return ClassMatch::InvalidClass(format!(
            "invalid ingress class: ingressclasses.networking.k8s.io \"{class_name}\" not found"
        ));
    };
    if class.controller != ALB_CONTROLLER {
        return ClassMatch::NotOwned;
    }
    match &class.params_name {
        None => ClassMatch::Owned(None),
        Some(p) => match class_params.get(p) {
            // A namespaceSelector cannot be evaluated without Namespace labels; assume it matches.
            Some(params) => ClassMatch::Owned(Some(params)),
            None => ClassMatch::InvalidClass(format!(
                "invalid ingress class: ingressclassparams.elbv2.k8s.aws \"{p}\" not found"
            )),
        },
    }
}

/// The IngressClassParams of every owned Ingress that has some, keyed by Ingress (the shape
/// [`super::IngressCtx`] takes).
pub fn member_class_params(
    cfg: &ControllerConfig,
    ingresses: &BTreeMap<ObjKey, Ingress>,
    classes: &BTreeMap<String, IngressClass>,
    class_params: &BTreeMap<String, IngressClassParams>,
) -> BTreeMap<ObjKey, IngressClassParams> {
    ingresses
        .iter()
        .filter_map(|(k, ing)| match classify(cfg, ing, classes, class_params) {
            ClassMatch::Owned(Some(p)) => Some((k.clone(), p.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Meta;

    fn ing(class_name: Option<&str>, annotation: Option<&str>) -> Ingress {
        let mut meta = Meta {
            namespace: "ns".into(),
            name: "i".into(),
            ..Meta::default()
        };
        if let Some(a) = annotation {
            meta.annotations.insert(CLASS_ANNOTATION.into(), a.into());
        }
        Ingress {
            meta,
            ingress_class_name: class_name.map(String::from),
            ..Ingress::default()
        }
    }

    fn class(name: &str, controller: &str, params: Option<&str>, default: bool) -> IngressClass {
        IngressClass {
            meta: Meta {
                name: name.into(),
                ..Meta::default()
            },
            controller: controller.into(),
            params_name: params.map(String::from),
            is_default: default,
        }
    }

    fn classes(list: Vec<IngressClass>) -> BTreeMap<String, IngressClass> {
        list.into_iter().map(|c| (c.meta.name.clone(), c)).collect()
    }

    #[test]
    fn annotation_wins_over_class_name() {
        let cfg = ControllerConfig::default();
        let cs = classes(vec![class("alb", ALB_CONTROLLER, None, false)]);
        let ps = BTreeMap::new();
        assert_eq!(
            classify(&cfg, &ing(Some("alb"), Some("nginx")), &cs, &ps),
            ClassMatch::NotOwned
        );
        assert_eq!(
            classify(&cfg, &ing(Some("nginx"), Some("alb")), &cs, &ps),
            ClassMatch::Owned(None)
        );
    }

    #[test]
    fn ingress_class_flag_decides_annotation_and_classless_ingresses() {
        let custom = ControllerConfig {
            ingress_class: "internal-alb".into(),
            ..ControllerConfig::default()
        };
        let empty = ControllerConfig {
            ingress_class: String::new(),
            ..ControllerConfig::default()
        };
        let (cs, ps) = (BTreeMap::new(), BTreeMap::new());
        assert_eq!(
            classify(&custom, &ing(None, Some("alb")), &cs, &ps),
            ClassMatch::NotOwned
        );
        assert_eq!(
            classify(&custom, &ing(None, Some("internal-alb")), &cs, &ps),
            ClassMatch::Owned(None)
        );
        assert_eq!(
            classify(&empty, &ing(None, Some("alb")), &cs, &ps),
            ClassMatch::Owned(None)
        );
        assert_eq!(
            classify(&custom, &ing(None, None), &cs, &ps),
            ClassMatch::NotOwned
        );
        assert_eq!(
            classify(&empty, &ing(None, None), &cs, &ps),
            ClassMatch::Owned(None)
        );
    }

    #[test]
    fn class_controller_params_and_default_class() {
        let cfg = ControllerConfig::default();
        let params: BTreeMap<String, IngressClassParams> = [(
            "p".to_string(),
            IngressClassParams {
                group_name: Some("g".into()),
                ..IngressClassParams::default()
            },
        )]
        .into();
        let cs = classes(vec![
            class("alb", ALB_CONTROLLER, Some("p"), true),
            class("nginx", "k8s.io/ingress-nginx", None, false),
            class("broken", ALB_CONTROLLER, Some("missing"), false),
        ]);
        assert!(matches!(
            classify(&cfg, &ing(None, None), &cs, &params),
            ClassMatch::Owned(Some(p)) if p.group_name.as_deref() == Some("g")
        ));
        assert_eq!(
            classify(&cfg, &ing(Some("nginx"), None), &cs, &params),
            ClassMatch::NotOwned
        );
        assert!(matches!(
            classify(&cfg, &ing(Some("broken"), None), &cs, &params),
            ClassMatch::InvalidClass(e) if e.contains("\"missing\" not found")
        ));
        assert!(matches!(
            classify(&cfg, &ing(Some("gone"), None), &cs, &params),
            ClassMatch::InvalidClass(_)
        ));
        let two_defaults = classes(vec![
            class("a", ALB_CONTROLLER, None, true),
            class("b", ALB_CONTROLLER, None, true),
        ]);
        assert_eq!(
            classify(&cfg, &ing(None, None), &two_defaults, &params),
            ClassMatch::Failed("multiple default IngressClasses found".into())
        );
    }
}
