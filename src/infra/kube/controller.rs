//! Finding the LBC Deployment and reading its configuration from its container args, with the
//! user's CLI overrides on top (each value keeps its origin: default, args or override).
//!
//! Lookup order: `kube-system/aws-load-balancer-controller`, then the Helm chart's label
//! `app.kubernetes.io/name=aws-load-balancer-controller` in every namespace. Several
//! controllers, or none, are said in notes; nothing is guessed silently.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use kube::api::{Api, ListParams};

use super::Note;
use super::client::KubeClient;
use crate::cli::args::SourceArgs;
use crate::world::controller::{ArgError, ControllerConfig, Origin};
use crate::world::kube::ObjKey;

/// The name the LBC's manifests and Helm chart give the Deployment and its container.
pub const LBC_NAME: &str = "aws-load-balancer-controller";
pub const LBC_NAMESPACE: &str = "kube-system";
pub const LBC_LABEL: &str = "app.kubernetes.io/name=aws-load-balancer-controller";

/// `--cluster-name` and `--controller-arg` from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub cluster_name: Option<String>,
    /// Controller flags, spelled as in the Deployment (`--enable-backend-security-group=false`).
    pub args: Vec<String>,
}

impl Overrides {
    pub fn from_args(args: &SourceArgs) -> Self {
        Self {
            cluster_name: args.cluster_name.clone(),
            args: args.controller_args.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cluster_name.is_none() && self.args.is_empty()
    }

    /// Apply on top of a configuration read from `base_args`: the overrides win, as later
    /// flags win for the controller, and every value they set is marked `Override`.
    pub fn apply(&self, base_args: &[String]) -> Result<ControllerConfig, ArgError> {
        let theirs = ControllerConfig::from_args(&self.args)?;
        let mut all = base_args.to_vec();
        all.extend(self.args.iter().cloned());
        let mut cfg = ControllerConfig::from_args(&all)?;
        cfg.args = base_args.to_vec();
        for name in theirs.origins.keys() {
            cfg.origins.insert(name.clone(), Origin::Override);
        }
        if let Some(name) = &self.cluster_name {
            cfg.set("cluster-name", name, Origin::Override)?;
        }
        Ok(cfg)
    }

    /// The LBC defaults with the overrides, or `None` when there are none (nothing is known).
    pub fn apply_to_default(&self) -> Result<Option<ControllerConfig>, ArgError> {
        if self.is_empty() {
            return Ok(None);
        }
        self.apply(&[]).map(Some)
    }
}

/// How the controller was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovered {
    /// `kube-system/aws-load-balancer-controller`.
    DefaultName,
    /// The only Deployment with the LBC label.
    Label,
    /// Several candidates; the first (by namespace/name, the default one first) was used.
    Several,
    NotFound,
}

#[derive(Debug, Clone)]
pub struct ControllerDiscovery {
    pub how: Discovered,
    /// The Deployment whose args were read.
    pub deployment: Option<ObjKey>,
    /// Every LBC Deployment seen, sorted, the chosen one included.
    pub candidates: Vec<ObjKey>,
    /// The container whose args were read.
    pub container: Option<String>,
    /// The configuration: args (or defaults) plus overrides; `None` when nothing is known.
    pub config: Option<ControllerConfig>,
    pub notes: Vec<Note>,
}

fn key(d: &Deployment) -> ObjKey {
    ObjKey::new(
        d.metadata.namespace.clone().unwrap_or_default(),
        d.metadata.name.clone().unwrap_or_default(),
    )
}

/// The LBC's container: named after it, or running its image, or the only container.
pub fn lbc_container(d: &Deployment) -> Option<&Container> {
    let containers = &d.spec.as_ref()?.template.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == LBC_NAME)
        .or_else(|| {
            containers
                .iter()
                .find(|c| c.image.as_deref().is_some_and(|i| i.contains(LBC_NAME)))
        })
        .or(match containers.as_slice() {
            [only] => Some(only),
            _ => None,
        })
}

/// Flags from `command` (after the binary) and `args`, with `$(VAR)` expanded from the
/// container's literal env values as the kubelet does (`$$` escapes a `$`).
pub fn container_args(c: &Container) -> Vec<String> {
    let env: BTreeMap<&str, &str> = c
        .env
        .iter()
        .flatten()
        .filter_map(|e| Some((e.name.as_str(), e.value.as_deref()?)))
        .collect();
    c.command
        .iter()
        .flatten()
        .skip(1)
        .chain(c.args.iter().flatten())
        .map(|a| expand(a, &env))
        .collect()
}

fn expand(s: &str, env: &BTreeMap<&str, &str>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Find the LBC Deployment and read its configuration. API failures become notes; only a bad
/// override (the user's own input) is an error.
pub async fn discover_controller(
    client: &KubeClient,
    overrides: &Overrides,
) -> Result<ControllerDiscovery, ArgError> {
    let mut notes = Vec::new();
    let mut found: Vec<Deployment> = Vec::new();
    let default_api: Api<Deployment> = Api::namespaced(client.client(), LBC_NAMESPACE);
    let default_found = match default_api.get_opt(LBC_NAME).await {
        Ok(Some(d)) => {
            found.push(d);
            true
        }
        Ok(None) => false,
        Err(e) => {
            notes.push(Note::new(
                "controller",
                format!(
                    "cannot read deployment {LBC_NAMESPACE}/{LBC_NAME}: {}",
                    reason(&e)
                ),
            ));
            false
        }
    };
    let all: Api<Deployment> = Api::all(client.client());
    match all.list(&ListParams::default().labels(LBC_LABEL)).await {
        Ok(list) => {
            for d in list.items {
                if !found.iter().any(|f| key(f) == key(&d)) {
                    found.push(d);
                }
            }
        }
        Err(e) => notes.push(Note::new(
            "controller",
            format!(
                "cannot list deployments labelled {LBC_LABEL} in all namespaces: {}",
                reason(&e)
            ),
        )),
    }
    // The default-named one first, the rest by namespace/name: a stable choice.
    let default_key = ObjKey::new(LBC_NAMESPACE, LBC_NAME);
    found.sort_by_key(|d| (key(d) != default_key, key(d)));
    let candidates: Vec<ObjKey> = {
        let mut c: Vec<ObjKey> = found.iter().map(key).collect();
        c.sort();
        c
    };
    let how = match (found.len(), default_found) {
        (0, _) => Discovered::NotFound,
        (1, true) => Discovered::DefaultName,
        (1, false) => Discovered::Label,
        _ => Discovered::Several,
    };
    let Some(chosen) = found.first() else {
        notes.push(Note::new(
            "controller",
            format!(
                "no AWS Load Balancer Controller found (looked for deployment \
                 {LBC_NAMESPACE}/{LBC_NAME} and label {LBC_LABEL}); its flags are {}",
                if overrides.is_empty() {
                    "unknown: pass --cluster-name and --controller-arg"
                } else {
                    "the LBC defaults plus your overrides"
                }
            ),
        ));
        return Ok(ControllerDiscovery {
            how,
            deployment: None,
            candidates,
            container: None,
            config: overrides.apply_to_default()?,
            notes,
        });
    };
    let chosen_key = key(chosen);
    if how == Discovered::Several {
        let names: Vec<String> = candidates.iter().map(ToString::to_string).collect();
        notes.push(Note::new(
            "controller",
            format!(
                "{} controller deployments found ({}); using {chosen_key}. \
                 Override its flags with --controller-arg if another one handles your resources",
                candidates.len(),
                names.join(", ")
            ),
        ));
    }
    let container = lbc_container(chosen);
    let args = match container {
        Some(c) => container_args(c),
        None => {
            notes.push(Note::new(
                "controller",
                format!(
                    "deployment {chosen_key} has no container named {LBC_NAME} or running its \
                     image; using the LBC defaults"
                ),
            ));
            Vec::new()
        }
    };
    let config = match ControllerConfig::from_args(&args) {
        Ok(_) => overrides.apply(&args)?,
        Err(e) => {
            notes.push(Note::new(
                "controller",
                format!("deployment {chosen_key}: {e}; using the LBC defaults instead of its args"),
            ));
            overrides.apply(&[])?
        }
    };
    Ok(ControllerDiscovery {
        how,
        deployment: Some(chosen_key),
        candidates,
        container: container.map(|c| c.name.clone()),
        config: Some(config),
        notes,
    })
}

fn reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn overrides_win_and_are_marked() {
        let o = Overrides {
            cluster_name: Some("prod".into()),
            args: args(&["--enable-backend-security-group=false"]),
        };
        let c = o
            .apply(&args(&["--cluster-name=dev", "--default-target-type=ip"]))
            .unwrap();
        assert_eq!(c.cluster_name, "prod");
        assert_eq!(c.origin("cluster-name"), Origin::Override);
        assert!(!c.enable_backend_security_group);
        assert_eq!(c.origin("enable-backend-security-group"), Origin::Override);
        assert_eq!(c.default_target_type, "ip");
        assert_eq!(c.origin("default-target-type"), Origin::Args);
        assert_eq!(c.origin("ingress-class"), Origin::Default);
        assert_eq!(
            c.args,
            args(&["--cluster-name=dev", "--default-target-type=ip"])
        );
        assert!(Overrides::default().apply_to_default().unwrap().is_none());
        let bad = Overrides {
            cluster_name: None,
            args: args(&["--disable-restricted-sg-rules=maybe"]),
        };
        assert!(bad.apply(&[]).is_err());
    }

    #[test]
    fn container_args_expand_env_like_the_kubelet() {
        let c: Container = serde_json::from_value(json!({
            "name": "controller",
            "command": ["/controller", "--ingress-class=alb"],
            "args": ["--cluster-name=$(CLUSTER)", "--x=$$(CLUSTER)", "--y=$(MISSING)", "--z=a$b"],
            "env": [{"name": "CLUSTER", "value": "demo"},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
        }))
        .unwrap();
        assert_eq!(
            container_args(&c),
            args(&[
                "--ingress-class=alb",
                "--cluster-name=demo",
                "--x=$(CLUSTER)",
                "--y=$(MISSING)",
                "--z=a$b"
            ])
        );
    }

    #[test]
    fn the_lbc_container_is_found_by_name_image_or_being_alone() {
        let dep = |containers: serde_json::Value| -> Deployment {
            serde_json::from_value(json!({
                "metadata": {"name": "d", "namespace": "n"},
                "spec": {"selector": {}, "template": {"spec": {"containers": containers}}}
            }))
            .unwrap()
        };
        let by_image = dep(json!([{"name": "sidecar"},
            {"name": "controller", "image": "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.0"}]));
        assert_eq!(
            lbc_container(&by_image).map(|c| c.name.as_str()),
            Some("controller")
        );
        let alone = dep(json!([{"name": "manager"}]));
        assert_eq!(
            lbc_container(&alone).map(|c| c.name.as_str()),
            Some("manager")
        );
        let neither = dep(json!([{"name": "a"}, {"name": "b"}]));
        assert!(lbc_container(&neither).is_none());
    }
}
