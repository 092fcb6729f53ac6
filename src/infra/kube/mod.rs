//! The live Kubernetes side: kubeconfig contexts, watchers into the World, LBC discovery and
//! annotation patches. Everything here talks to an API server; the World types it produces are
//! plain data, so the core never sees a kube or k8s-openapi type.

pub mod client;
pub mod controller;
pub mod convert;
pub mod crds;
pub mod kinds;
pub mod patch;
pub mod snapshot;
pub mod watch;

use serde::Serialize;

pub use client::{ContextOptions, KubeClient, KubeError, Scope};
pub use controller::{ControllerDiscovery, Discovered, discover_controller};
pub use kinds::{KindId, KindStatus, Problem};
pub use patch::{AnnotationPatcher, PatchError, PatchOutcome, PatchRequest};
pub use snapshot::{KubeSnapshot, SnapshotOptions, snapshot_kube};
pub use watch::{KubeView, KubeWatch, WatchOptions};

/// Something the user must see about the cluster side: a kind that could not be read, a CRD
/// that is not installed, a controller that was not found. Never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Note {
    /// What the note is about (`pods`, `controller`, …).
    pub subject: String,
    pub message: String,
}

impl Note {
    pub fn new(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}
