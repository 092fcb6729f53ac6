//! The kinds lbsg watches and where each one stands: listed, forbidden, not installed or
//! failing. A problem degrades only its own kind; [`notes`] phrase what it means for the
//! section (unknown, or the last list kept).

use std::collections::BTreeMap;
use std::time::Instant;

use kube::runtime::watcher;
use serde::Serialize;

use super::Note;
use super::client::Scope;

/// The kinds lbsg watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindId {
    Services,
    Ingresses,
    IngressClasses,
    IngressClassParams,
    TargetGroupBindings,
    Nodes,
    EndpointSlices,
    Pods,
    Events,
}

impl KindId {
    pub const ALL: [KindId; 9] = [
        KindId::Services,
        KindId::Ingresses,
        KindId::IngressClasses,
        KindId::IngressClassParams,
        KindId::TargetGroupBindings,
        KindId::Nodes,
        KindId::EndpointSlices,
        KindId::Pods,
        KindId::Events,
    ];

    /// The resource name, as kubectl and RBAC spell it.
    pub fn resource(self) -> &'static str {
        match self {
            KindId::Services => "services",
            KindId::Ingresses => "ingresses",
            KindId::IngressClasses => "ingressclasses",
            KindId::IngressClassParams => "ingressclassparams",
            KindId::TargetGroupBindings => "targetgroupbindings",
            KindId::Nodes => "nodes",
            KindId::EndpointSlices => "endpointslices",
            KindId::Pods => "pods",
            KindId::Events => "events",
        }
    }

    /// The API group, as an RBAC rule spells it (`""` is the core group).
    pub fn api_group(self) -> &'static str {
        match self {
            KindId::Services | KindId::Nodes | KindId::Pods | KindId::Events => "",
            KindId::Ingresses | KindId::IngressClasses => "networking.k8s.io",
            KindId::IngressClassParams | KindId::TargetGroupBindings => "elbv2.k8s.aws",
            KindId::EndpointSlices => "discovery.k8s.io",
        }
    }

    /// Whether the kind comes from the LBC's CRDs, whose absence is normal.
    pub fn is_crd(self) -> bool {
        matches!(
            self,
            KindId::IngressClassParams | KindId::TargetGroupBindings
        )
    }

    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            KindId::IngressClasses | KindId::IngressClassParams | KindId::Nodes
        )
    }
}

impl std::fmt::Display for KindId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.resource())
    }
}

/// Why a kind is not (fully) live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", content = "message", rename_all = "kebab-case")]
pub enum Problem {
    /// 403 on list or watch.
    Forbidden(String),
    /// 404 on list: the resource is not served (for the LBC's CRDs: not installed).
    NotInstalled,
    /// Anything else (API unreachable, 5xx…); the watcher keeps retrying with backoff.
    Failing(String),
}

/// Where one kind stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindStatus {
    /// A complete list has been stored (the section is known).
    pub synced: bool,
    pub objects: usize,
    pub problem: Option<Problem>,
    #[serde(skip)]
    pub(super) problem_at: Option<Instant>,
}

impl KindStatus {
    pub(super) fn new() -> Self {
        Self {
            synced: false,
            objects: 0,
            problem: None,
            problem_at: None,
        }
    }

    /// Listed, or known not to be listable: waiting longer would not change the answer.
    pub fn settled(&self) -> bool {
        self.synced
            || matches!(
                self.problem,
                Some(Problem::Forbidden(_) | Problem::NotInstalled)
            )
    }
}

fn api_problem(err: &kube::Error) -> Problem {
    match err {
        kube::Error::Api(s) if s.code == 403 => Problem::Forbidden(s.message.clone()),
        kube::Error::Api(s) if s.code == 404 => Problem::NotInstalled,
        other => Problem::Failing(other.to_string()),
    }
}

/// `None`: a normal part of watching (410 Gone → relist; a watch stream that ended or broke →
/// resume from the last resourceVersion). The watcher recovers by itself.
pub(super) fn classify(err: &watcher::Error) -> Option<Problem> {
    match err {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) => {
            Some(api_problem(e))
        }
        watcher::Error::WatchError(s) if s.code == 410 => None,
        watcher::Error::WatchError(s) if s.code == 403 => {
            Some(Problem::Forbidden(s.message.clone()))
        }
        watcher::Error::WatchError(s) => Some(Problem::Failing(s.message.clone())),
        watcher::Error::WatchFailed(_) => None,
        watcher::Error::NoResourceVersion => Some(Problem::Failing(
            "the API server sent an object without metadata.resourceVersion".into(),
        )),
    }
}

/// One note per kind that is not live, phrased with what it means for the section.
pub fn notes(kinds: &BTreeMap<KindId, KindStatus>, scope: &Scope) -> Vec<Note> {
    let mut out = Vec::new();
    for (kind, st) in kinds {
        let where_ = if kind.namespaced() {
            match scope {
                Scope::All => " in all namespaces".to_string(),
                Scope::Namespace(ns) => format!(" in namespace {ns}"),
            }
        } else {
            String::new()
        };
        let consequence = if st.synced {
            "showing the last list, not live"
        } else {
            "unknown, not empty"
        };
        let message = match &st.problem {
            Some(Problem::Forbidden(msg)) => {
                let role = if kind.namespaced() && matches!(scope, Scope::Namespace(_)) {
                    "Role"
                } else {
                    "ClusterRole"
                };
                format!(
                    "forbidden to list/watch {kind}{where_} ({msg}); {consequence}. To fix, \
                     grant it in a {role}: apiGroups [\"{}\"], resources [\"{kind}\"], verbs \
                     [\"list\", \"watch\"]",
                    kind.api_group()
                )
            }
            Some(Problem::NotInstalled) if kind.is_crd() => format!(
                "the {} CRD (elbv2.k8s.aws/v1beta1) is not installed; {consequence}",
                kind
            ),
            Some(Problem::NotInstalled) => {
                format!("the API server does not serve {kind}; {consequence}")
            }
            Some(Problem::Failing(msg)) => format!("{msg}; retrying; {consequence}"),
            None if !st.synced => format!("still loading; {consequence}"),
            None => continue,
        };
        out.push(Note::new(kind.resource(), message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_means_listed_or_unlistable() {
        let mut st = KindStatus::new();
        assert!(!st.settled());
        st.problem = Some(Problem::Failing("503".into()));
        assert!(!st.settled(), "a transient failure may still succeed");
        st.problem = Some(Problem::NotInstalled);
        assert!(st.settled());
        st.problem = None;
        st.synced = true;
        assert!(st.settled());
    }

    #[test]
    fn notes_say_what_a_problem_means_for_the_section() {
        let mut kinds = BTreeMap::new();
        let mut forbidden = KindStatus::new();
        forbidden.problem = Some(Problem::Forbidden("no".into()));
        kinds.insert(KindId::Pods, forbidden);
        let mut absent = KindStatus::new();
        absent.problem = Some(Problem::NotInstalled);
        kinds.insert(KindId::TargetGroupBindings, absent);
        let mut fine = KindStatus::new();
        fine.synced = true;
        kinds.insert(KindId::Services, fine);
        let notes = notes(&kinds, &Scope::Namespace("shop".into()));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(notes[0].subject, "targetgroupbindings");
        assert!(notes[0].message.contains("not installed"));
        assert!(notes[1].message.contains("in namespace shop"));
        assert!(notes[1].message.contains("unknown, not empty"));
        // The fix, as an RBAC rule: a namespaced scope needs only a Role.
        assert!(
            notes[1].message.contains(
                "Role: apiGroups [\"\"], resources [\"pods\"], verbs [\"list\", \"watch\"]"
            ),
            "{}",
            notes[1].message
        );
        assert!(!notes[1].message.contains("ClusterRole"));
        assert_eq!(KindId::EndpointSlices.api_group(), "discovery.k8s.io");
    }

    #[test]
    fn a_410_and_a_broken_stream_are_not_problems() {
        let gone = kube::core::Status {
            code: 410,
            message: "too old resource version".into(),
            ..Default::default()
        };
        assert_eq!(classify(&watcher::Error::WatchError(Box::new(gone))), None);
        let forbidden = kube::core::Status {
            code: 403,
            message: "nope".into(),
            ..Default::default()
        };
        assert_eq!(
            classify(&watcher::Error::InitialListFailed(kube::Error::Api(
                Box::new(forbidden)
            ))),
            Some(Problem::Forbidden("nope".into()))
        );
    }
}
