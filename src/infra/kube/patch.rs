//! Annotation edits on a Service or Ingress: a JSON merge patch (RFC 7386) sent with
//! `fieldManager=lbsg`, carrying the `metadata.resourceVersion` the plan was computed on, so the
//! API server refuses it (409) if the object changed since. A conflict is returned as
//! [`PatchError::Conflict`] for the caller to re-read and re-plan; it is never retried here.
//! Every patch is previewed with a server-side dry run (`dryRun=All`, which runs admission
//! webhooks, the LBC's included) before the real one. `readonly` refuses before any request.

use std::collections::BTreeMap;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::convert;
use crate::core::plan::{ChangeKind, ResourceRef};
use crate::world::kube::Meta;

/// The field manager lbsg's writes are recorded under (visible in `kubectl get --show-managed-fields`).
pub const FIELD_MANAGER: &str = "lbsg";

/// One annotation patch, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRequest {
    pub resource: ResourceRef,
    /// The resourceVersion the plan was computed on.
    pub resource_version: String,
    pub set: BTreeMap<String, String>,
    pub unset: Vec<String>,
}

impl PatchRequest {
    /// The request for a plan's `PatchAnnotations` change; `None` for any other change.
    pub fn from_change(change: &ChangeKind) -> Option<Self> {
        match change {
            ChangeKind::PatchAnnotations {
                resource,
                resource_version,
                set,
                unset,
            } => Some(Self {
                resource: resource.clone(),
                resource_version: resource_version.clone(),
                set: set.clone(),
                unset: unset.clone(),
            }),
            _ => None,
        }
    }

    /// The merge patch: values to set, `null` for keys to remove, and the resourceVersion
    /// as a precondition.
    pub fn body(&self) -> Value {
        let mut annotations = Map::new();
        for k in &self.unset {
            annotations.insert(k.clone(), Value::Null);
        }
        for (k, v) in &self.set {
            annotations.insert(k.clone(), Value::String(v.clone()));
        }
        json!({
            "metadata": {
                "resourceVersion": self.resource_version,
                "annotations": annotations,
            }
        })
    }

    /// Every annotation key the patch touches, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .set
            .keys()
            .map(String::as_str)
            .chain(self.unset.iter().map(String::as_str))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// What the API server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchOutcome {
    pub resource: ResourceRef,
    pub dry_run: bool,
    /// The object's annotations after the patch (as the server computed them).
    pub annotations: BTreeMap<String, String>,
    /// Unchanged by a dry run; the new version after a real patch.
    pub resource_version: String,
    /// Who else may revert the change (Helm, Argo CD, Flux).
    pub warnings: Vec<String>,
}

/// Why a patch did not happen. Each variant says what was (not) written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("read-only mode: {resource} was not patched and nothing was sent")]
    ReadOnly { resource: String },
    #[error(
        "{resource} has no resourceVersion in the plan; lbsg never patches blindly: re-plan from the live cluster"
    )]
    NoResourceVersion { resource: String },
    #[error(
        "{resource} changed since the plan was made (planned on resourceVersion {planned}); nothing was written: re-read it and re-plan ({message})"
    )]
    Conflict {
        resource: String,
        planned: String,
        message: String,
    },
    #[error("{resource} no longer exists; nothing was written")]
    NotFound { resource: String },
    #[error("forbidden on {resource}: {message}")]
    Forbidden { resource: String, message: String },
    #[error("the API server rejected the patch of {resource} (admission or validation): {message}")]
    Rejected { resource: String, message: String },
    #[error("patching {resource} failed: {message}")]
    Failed { resource: String, message: String },
}

impl PatchError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, PatchError::Conflict { .. })
    }
}

/// Sends annotation patches; refuses everything when read-only.
#[derive(Clone)]
pub struct AnnotationPatcher {
    client: kube::Client,
    readonly: bool,
}

impl AnnotationPatcher {
    pub fn new(client: kube::Client, readonly: bool) -> Self {
        Self { client, readonly }
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// The object's current ownership (one GET), then the server-side dry run: admission and
    /// validation run, nothing is stored.
    pub async fn preview(&self, req: &PatchRequest) -> Result<PatchOutcome, PatchError> {
        self.send(req, true).await
    }

    /// Dry run first, then the real patch with the same resourceVersion precondition. The
    /// outcome carries the dry run's ownership warnings.
    pub async fn apply(&self, req: &PatchRequest) -> Result<PatchOutcome, PatchError> {
        let preview = self.preview(req).await?;
        let mut done = self.send(req, false).await?;
        done.warnings = preview.warnings;
        Ok(done)
    }

    async fn send(&self, req: &PatchRequest, dry_run: bool) -> Result<PatchOutcome, PatchError> {
        let resource = req.resource.to_string();
        if self.readonly {
            return Err(PatchError::ReadOnly { resource });
        }
        if req.resource_version.is_empty() {
            return Err(PatchError::NoResourceVersion { resource });
        }
        let api = self.api(&req.resource);
        let name = &req.resource.key().name;
        // Ownership is read before the patch: once applied, lbsg owns the fields it wrote.
        let warnings = if dry_run {
            let current = api.get(name).await.map_err(|e| classify(e, req))?;
            ownership_warnings(
                &req.resource,
                &convert::meta(&current.metadata),
                &req.keys(),
            )
        } else {
            Vec::new()
        };
        let params = PatchParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        let body = req.body();
        let obj = api
            .patch(name, &params, &Patch::Merge(&body))
            .await
            .map_err(|e| classify(e, req))?;
        let meta = convert::meta(&obj.metadata);
        Ok(PatchOutcome {
            resource: req.resource.clone(),
            dry_run,
            warnings,
            annotations: meta.annotations,
            resource_version: meta.resource_version,
        })
    }

    fn api(&self, resource: &ResourceRef) -> Api<DynamicObject> {
        let ar = match resource {
            ResourceRef::Service(_) => {
                ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&())
            }
            ResourceRef::Ingress(_) => {
                ApiResource::erase::<k8s_openapi::api::networking::v1::Ingress>(&())
            }
        };
        Api::namespaced_with(self.client.clone(), &resource.key().namespace, &ar)
    }
}

fn classify(e: kube::Error, req: &PatchRequest) -> PatchError {
    let resource = req.resource.to_string();
    match e {
        kube::Error::Api(s) => match s.code {
            409 => PatchError::Conflict {
                resource,
                planned: req.resource_version.clone(),
                message: s.message,
            },
            404 => PatchError::NotFound { resource },
            403 => PatchError::Forbidden {
                resource,
                message: s.message,
            },
            400 | 422 => PatchError::Rejected {
                resource,
                message: s.message,
            },
            _ => PatchError::Failed {
                resource,
                message: format!("{} ({})", s.message, s.code),
            },
        },
        other => PatchError::Failed {
            resource,
            message: other.to_string(),
        },
    }
}

/// GitOps tools that re-apply their own manifests, by field-manager name (most specific first).
const GITOPS_MANAGERS: &[(&str, &str)] = &[
    ("kustomize-controller", "Flux"),
    ("helm-controller", "Flux"),
    ("argocd", "Argo CD"),
    ("helm", "Helm"),
];

fn gitops_tool(manager: &str) -> Option<&'static str> {
    let m = manager.to_ascii_lowercase();
    GITOPS_MANAGERS
        .iter()
        .find(|(needle, _)| m.contains(needle))
        .map(|(_, tool)| *tool)
}

/// Warnings that a change to `keys` may be reverted: the object is labelled as Helm- or
/// Argo CD-managed, or a GitOps field manager owns one of the annotations (`managedFields`).
pub fn ownership_warnings(resource: &ResourceRef, meta: &Meta, keys: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if meta
        .labels
        .get("app.kubernetes.io/managed-by")
        .is_some_and(|v| v.eq_ignore_ascii_case("helm"))
    {
        out.push(format!(
            "{resource} is managed by Helm (label app.kubernetes.io/managed-by=Helm): \
             the next helm upgrade may revert this change; change the chart's values too"
        ));
    }
    let argo = meta
        .labels
        .get("argocd.argoproj.io/instance")
        .map(|app| format!("label argocd.argoproj.io/instance={app}"))
        .or_else(|| {
            meta.annotations
                .get("argocd.argoproj.io/tracking-id")
                .map(|id| format!("annotation argocd.argoproj.io/tracking-id={id}"))
        });
    if let Some(why) = argo {
        out.push(format!(
            "{resource} is tracked by Argo CD ({why}): a sync may revert this change; \
             change it in Git too"
        ));
    }
    for key in keys {
        for manager in meta.annotation_managers.get(*key).into_iter().flatten() {
            if let Some(tool) = gitops_tool(manager) {
                out.push(format!(
                    "annotation {key} on {resource} is owned by field manager {manager} ({tool}): \
                     it may revert this change"
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::kube::ObjKey;

    fn req() -> PatchRequest {
        PatchRequest {
            resource: ResourceRef::Service(ObjKey::new("shop", "web")),
            resource_version: "42".into(),
            set: [("a".to_string(), "1".to_string())].into(),
            unset: vec!["b".into()],
        }
    }

    #[test]
    fn body_is_a_merge_patch_with_the_planned_resource_version() {
        assert_eq!(
            req().body(),
            json!({"metadata": {"resourceVersion": "42", "annotations": {"a": "1", "b": null}}})
        );
        assert_eq!(req().keys(), vec!["a", "b"]);
    }

    #[test]
    fn from_change_takes_only_annotation_patches() {
        let change = ChangeKind::PatchAnnotations {
            resource: req().resource,
            resource_version: "42".into(),
            set: req().set,
            unset: req().unset,
        };
        assert_eq!(PatchRequest::from_change(&change), Some(req()));
        let other = ChangeKind::DeleteSecurityGroup { sg: "sg-1".into() };
        assert_eq!(PatchRequest::from_change(&other), None);
    }

    #[test]
    fn ownership_warnings_name_the_tool() {
        let r = req().resource;
        let mut meta = Meta::default();
        assert!(ownership_warnings(&r, &meta, &["a"]).is_empty());
        meta.annotation_managers.insert(
            "a".into(),
            vec!["argocd-controller".into(), "kubectl-edit".into()],
        );
        meta.annotation_managers
            .insert("z".into(), vec!["helm".into()]);
        let w = ownership_warnings(&r, &meta, &["a"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("argocd-controller (Argo CD)"));
        meta.labels
            .insert("app.kubernetes.io/managed-by".into(), "Helm".into());
        meta.labels
            .insert("argocd.argoproj.io/instance".into(), "shop".into());
        let w = ownership_warnings(&r, &meta, &["a"]);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().any(|x| x.contains("managed by Helm")));
        assert!(
            w.iter()
                .any(|x| x.contains("argocd.argoproj.io/instance=shop"))
        );
        assert_eq!(gitops_tool("helm-controller"), Some("Flux"));
    }
}
