//! A fake kube-apiserver speaking the real wire format, for tests over HTTP. One per test,
//! bound to 127.0.0.1:0. It keeps JSON objects with a global resourceVersion counter and an
//! event history, so it can do what `kube::runtime` depends on: list with resourceVersion,
//! paginated lists, watch resumed from a resourceVersion (history replayed), bookmarks,
//! `timeoutSeconds`, get, create, delete, merge patch (RFC 7386, null deletes) with
//! `fieldManager` recorded in managedFields, `dryRun=All`, 409 on a stale
//! `metadata.resourceVersion` in a patch body, 403 for chosen kinds, 410 Gone (as the real
//! server sends it: an ERROR event on the watch stream) for a compacted resourceVersion, and
//! watch streams that are dropped mid-flight. Every request is logged, and a test can make
//! "another client" write when a chosen request arrives ([`FakeApiServer::before_request`]).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

mod http;
use http::handle;

/// A resource the fake serves.
#[derive(Debug, Clone)]
pub struct Def {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// CRD lists carry apiVersion/kind on items; built-in lists do not.
    pub crd: bool,
}

impl Def {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn def(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    crd: bool,
) -> Def {
    Def {
        group,
        version,
        plural,
        kind,
        namespaced,
        crd,
    }
}

/// What every Kubernetes cluster serves (of what lbsg reads).
pub const BUILTIN: &[Def] = &[
    def("", "v1", "services", "Service", true, false),
    def("", "v1", "pods", "Pod", true, false),
    def("", "v1", "nodes", "Node", false, false),
    def("", "v1", "events", "Event", true, false),
    def("", "v1", "namespaces", "Namespace", false, false),
    def(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
        false,
    ),
    def(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        false,
    ),
    def(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        false,
    ),
    def("apps", "v1", "deployments", "Deployment", true, false),
];

/// The LBC's CRDs (served only when installed).
pub const LBC_CRDS: &[Def] = &[
    def(
        "elbv2.k8s.aws",
        "v1beta1",
        "ingressclassparams",
        "IngressClassParams",
        false,
        true,
    ),
    def(
        "elbv2.k8s.aws",
        "v1beta1",
        "targetgroupbindings",
        "TargetGroupBinding",
        true,
        true,
    ),
];

/// One logged request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The body, when it is JSON (a patch, a created object); `Null` otherwise.
    pub body: Value,
}

impl Request {
    pub fn is_mutating(&self) -> bool {
        matches!(
            self.method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        )
    }
}

#[derive(Debug, Clone)]
struct Change {
    rv: u64,
    plural: &'static str,
    namespace: String,
    type_: &'static str,
    object: Value,
}

type Key = (&'static str, String, String);

struct Store {
    defs: Vec<Def>,
    objects: BTreeMap<Key, Value>,
    rv: u64,
    history: Vec<Change>,
    /// Watches from a resourceVersion older than this get 410 Gone.
    compacted: u64,
    forbidden: BTreeSet<String>,
    log: Vec<Request>,
    uid: u64,
}

/// Run on every request before it is served; objects it returns are written first, as if
/// another client had written them just before.
type Hook = Box<dyn FnMut(&Request) -> Vec<Value> + Send>;

struct Inner {
    store: Mutex<Store>,
    hook: Mutex<Option<Hook>>,
    live: broadcast::Sender<Change>,
    /// Bumped to drop every open watch stream.
    kill: watch::Sender<u64>,
    /// While true, new watch requests wait (a partition: nothing reaches the client).
    held: watch::Sender<bool>,
}

impl Inner {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeApiServer {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApiServer {
    /// The built-in kinds and the LBC CRDs.
    pub async fn start() -> Self {
        Self::with_defs(BUILTIN.iter().chain(LBC_CRDS).cloned().collect()).await
    }

    /// Only the built-in kinds: a cluster without the LBC CRDs.
    pub async fn without_crds() -> Self {
        Self::with_defs(BUILTIN.to_vec()).await
    }

    pub async fn with_defs(defs: Vec<Def>) -> Self {
        let (live, _) = broadcast::channel(1024);
        let (kill, _) = watch::channel(0);
        let (held, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            store: Mutex::new(Store {
                defs,
                objects: BTreeMap::new(),
                rv: 1,
                history: Vec::new(),
                compacted: 0,
                forbidden: BTreeSet::new(),
                log: Vec::new(),
                uid: 0,
            }),
            hook: Mutex::new(None),
            live,
            kill,
            held,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, inner, task }
    }

    /// A kubeconfig pointing at this server, with one context named `context`.
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\n\
             clusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             contexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: tester\n\
             users:\n- name: tester\n  user:\n    token: not-a-secret\n",
            url = self.url
        )
    }

    // ---- test controls -------------------------------------------------------------------

    /// Answer 403 to every request on this resource (by plural).
    pub fn forbid(&self, plural: &str) {
        self.inner.store().forbidden.insert(plural.to_string());
    }

    /// Forget history: watches resuming from any version seen so far get 410 Gone.
    pub fn compact(&self) {
        let mut s = self.inner.store();
        s.compacted = s.rv + 1;
        s.history.clear();
    }

    /// Break every open watch stream mid-flight (the connection ends without a final chunk).
    pub fn drop_watches(&self) {
        self.inner.kill.send_modify(|g| *g += 1);
    }

    /// While held, open watches are dropped and new ones wait: changes made now reach the
    /// client only through resume (history) or relist.
    pub fn hold_watches(&self, held: bool) {
        self.inner.held.send_replace(held);
        if held {
            self.drop_watches();
        }
    }

    /// Before each request is served, call `hook` with it and write the objects it returns
    /// (as [`Self::put`] does): another client's edit landing at a chosen moment, e.g. between
    /// a plan and its apply.
    pub fn before_request(&self, hook: impl FnMut(&Request) -> Vec<Value> + Send + 'static) {
        *self.inner.hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.store().log.clone()
    }

    pub fn mutating_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(Request::is_mutating)
            .collect()
    }

    pub fn count(&self, method: Method, path_contains: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }

    pub fn resource_version(&self) -> u64 {
        self.inner.store().rv
    }

    // ---- direct object access (as if another client wrote) ---------------------------------

    /// Create or replace an object (`apiVersion`/`kind` pick the resource); emits ADDED or
    /// MODIFIED. Returns the stored object.
    pub fn put(&self, obj: Value) -> Value {
        put(&self.inner, obj)
    }

    /// Delete an object; emits DELETED. Returns whether it existed.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) -> bool {
        let mut s = self.inner.store();
        let Some(def) = s.def(plural) else {
            return false;
        };
        let key = (def.plural, namespace.to_string(), name.to_string());
        s.remove(&self.inner, &def, &key).is_some()
    }

    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let s = self.inner.store();
        let def = s.def(plural)?;
        s.objects
            .get(&(def.plural, namespace.to_string(), name.to_string()))
            .cloned()
    }
}

/// Create or replace an object (see [`FakeApiServer::put`]).
fn put(inner: &Inner, obj: Value) -> Value {
    let mut s = inner.store();
    let def = s
        .def_of(&obj)
        .unwrap_or_else(|| panic!("no resource for {obj}"));
    let ns = if def.namespaced {
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string()
    } else {
        String::new()
    };
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    let key = (def.plural, ns.clone(), name);
    let type_ = if s.objects.contains_key(&key) {
        "MODIFIED"
    } else {
        "ADDED"
    };
    s.write(inner, &def, key, obj, type_)
}

impl Store {
    fn def(&self, plural: &str) -> Option<Def> {
        self.defs.iter().find(|d| d.plural == plural).cloned()
    }

    fn def_of(&self, obj: &Value) -> Option<Def> {
        let av = obj["apiVersion"].as_str()?;
        let kind = obj["kind"].as_str()?;
        self.defs
            .iter()
            .find(|d| d.api_version() == av && d.kind == kind)
            .cloned()
    }

    fn find(&self, group: &str, version: &str, plural: &str) -> Option<Def> {
        self.defs
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Store `obj` under `key` with a new resourceVersion and emit a watch event.
    fn write(
        &mut self,
        inner: &Inner,
        def: &Def,
        key: Key,
        mut obj: Value,
        type_: &'static str,
    ) -> Value {
        let rv = self.bump();
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        let md = obj["metadata"].as_object_mut().expect("metadata");
        md.insert("resourceVersion".into(), json!(rv.to_string()));
        if def.namespaced {
            md.insert("namespace".into(), json!(key.1));
        }
        if !md.contains_key("uid") {
            self.uid += 1;
            md.insert("uid".into(), json!(format!("uid-{}", self.uid)));
        }
        self.objects.insert(key.clone(), obj.clone());
        self.emit(inner, rv, def.plural, &key.1, type_, obj.clone());
        obj
    }

    fn remove(&mut self, inner: &Inner, def: &Def, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.emit(inner, rv, def.plural, &key.1, "DELETED", obj.clone());
        Some(obj)
    }

    fn emit(
        &mut self,
        inner: &Inner,
        rv: u64,
        plural: &'static str,
        ns: &str,
        type_: &'static str,
        object: Value,
    ) {
        let change = Change {
            rv,
            plural,
            namespace: ns.to_string(),
            type_,
            object,
        };
        self.history.push(change.clone());
        // No receiver is fine: nobody is watching.
        let _ = inner.live.send(change);
    }
}
