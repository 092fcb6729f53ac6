//! Live inventory: one `kube::runtime` watcher per kind, with the runtime's default backoff,
//! feeding a reflector store of *trimmed World objects* (each object is converted once, as it
//! arrives, so the raw API objects are never kept). A kind that fails (403, CRD not installed,
//! API down) degrades only itself: its section stays unknown, or keeps its last good list, and
//! a note says why (see `kinds`). Consumers get coalesced [`KubeView`]s through a `watch`
//! channel; `snapshot` runs the same watchers once to completion.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::networking::v1 as networking;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{Lookup, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch as tokio_watch;
use tokio::task::JoinHandle;

use super::client::{KubeClient, Scope};
use super::kinds::{KindId, KindStatus, classify, notes};
use super::{Note, convert, crds};
use crate::world::kube::*;

/// What to watch and how.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub kinds: BTreeSet<KindId>,
    /// Server-side `timeoutSeconds` of each watch request (the watcher then resumes).
    pub watch_timeout_secs: u32,
    /// `limit` of each list page.
    pub page_size: u32,
    /// A problem not reported again within this long is over: while it lasts, the watcher's
    /// backoff (at most ~30 s, plus jitter) reports it again well within this.
    pub problem_ttl: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            kinds: KindId::ALL.into_iter().collect(),
            watch_timeout_secs: 290,
            page_size: 500,
            problem_ttl: Duration::from_secs(90),
        }
    }
}

/// One coherent look at the cluster side.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeView {
    /// The kube context these objects came from (results of an old context are dropped by it).
    pub context: String,
    pub side: KubeSide,
    pub kinds: BTreeMap<KindId, KindStatus>,
    pub notes: Vec<Note>,
    /// Counts every change seen; a consumer can skip views it already has.
    pub generation: u64,
}

// The reflector stores hold World types; they identify objects by their `meta`.
macro_rules! lookup {
    ($t:ty, $kind:literal, $group:literal, $version:literal, $plural:literal) => {
        impl Lookup for $t {
            type DynamicType = ();
            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn name(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(&self.meta.name))
            }
            fn namespace(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(self.meta.namespace.as_str())).filter(|n| !n.is_empty())
            }
            fn resource_version(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(&self.meta.resource_version))
            }
            fn uid(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Borrowed(&self.meta.uid))
            }
        }
    };
}

lookup!(Service, "Service", "", "v1", "services");
lookup!(Ingress, "Ingress", "networking.k8s.io", "v1", "ingresses");
lookup!(
    IngressClass,
    "IngressClass",
    "networking.k8s.io",
    "v1",
    "ingressclasses"
);
lookup!(
    IngressClassParams,
    "IngressClassParams",
    "elbv2.k8s.aws",
    "v1beta1",
    "ingressclassparams"
);
lookup!(
    TargetGroupBinding,
    "TargetGroupBinding",
    "elbv2.k8s.aws",
    "v1beta1",
    "targetgroupbindings"
);
lookup!(Node, "Node", "", "v1", "nodes");
lookup!(
    EndpointSlice,
    "EndpointSlice",
    "discovery.k8s.io",
    "v1",
    "endpointslices"
);
lookup!(Pod, "Pod", "", "v1", "pods");
lookup!(Event, "Event", "", "v1", "events");

/// The reflector stores, one per watched kind.
#[derive(Default)]
struct Stores {
    services: Option<Store<Service>>,
    ingresses: Option<Store<Ingress>>,
    ingress_classes: Option<Store<IngressClass>>,
    ingress_class_params: Option<Store<IngressClassParams>>,
    target_group_bindings: Option<Store<TargetGroupBinding>>,
    nodes: Option<Store<Node>>,
    endpoint_slices: Option<Store<EndpointSlice>>,
    pods: Option<Store<Pod>>,
    events: Option<Store<Event>>,
}

/// State shared by the watcher tasks and the readers.
struct Shared {
    status: Mutex<BTreeMap<KindId, KindStatus>>,
    changes: tokio_watch::Sender<u64>,
    problem_ttl: Duration,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, BTreeMap<KindId, KindStatus>> {
        // A panicking writer cannot leave a status half-written: every update is one assignment.
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changes.send_modify(|g| *g += 1);
    }

    fn on_event<T>(&self, kind: KindId, event: &watcher::Event<T>, objects: usize) {
        {
            let mut all = self.status();
            let st = all.entry(kind).or_insert_with(KindStatus::new);
            st.objects = objects;
            match event {
                // `Init` comes before the list request, so it says nothing about success.
                watcher::Event::Init => return,
                watcher::Event::InitApply(_) => {}
                watcher::Event::InitDone => st.synced = true,
                watcher::Event::Apply(_) | watcher::Event::Delete(_) => {}
            }
            st.problem = None;
            st.problem_at = None;
        }
        self.bump();
    }

    fn on_error(&self, kind: KindId, err: &watcher::Error) {
        let Some(problem) = classify(err) else {
            tracing::debug!(%kind, error = %err, "watch resync");
            return;
        };
        tracing::warn!(%kind, error = %err, "watcher error");
        {
            let mut all = self.status();
            let st = all.entry(kind).or_insert_with(KindStatus::new);
            st.problem = Some(problem);
            st.problem_at = Some(Instant::now());
        }
        self.bump();
    }

    /// Statuses with problems past their time-to-live dropped.
    fn current(&self) -> BTreeMap<KindId, KindStatus> {
        let mut all = self.status().clone();
        for st in all.values_mut() {
            if st
                .problem_at
                .is_some_and(|t| t.elapsed() > self.problem_ttl)
            {
                st.problem = None;
                st.problem_at = None;
            }
        }
        all
    }
}

/// The same watcher event, carrying the converted object; `None` when the object is filtered out.
fn map_event<K, T>(
    ev: watcher::Event<K>,
    convert: fn(&K) -> Option<T>,
) -> Option<watcher::Event<T>> {
    Some(match ev {
        watcher::Event::Apply(k) => watcher::Event::Apply(convert(&k)?),
        watcher::Event::Delete(k) => watcher::Event::Delete(convert(&k)?),
        watcher::Event::InitApply(k) => watcher::Event::InitApply(convert(&k)?),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitDone => watcher::Event::InitDone,
    })
}

fn spawn_kind<K, T>(
    kind: KindId,
    api: Api<K>,
    config: watcher::Config,
    convert: fn(&K) -> Option<T>,
    shared: Arc<Shared>,
) -> (Store<T>, JoinHandle<()>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    T: Lookup<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let mut writer: Writer<T> = Writer::new(());
    let store = writer.as_reader();
    let task = tokio::spawn(async move {
        let mut stream = pin!(watcher(api, config).default_backoff());
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    let Some(ev) = map_event(ev, convert) else {
                        continue;
                    };
                    writer.apply_watcher_event(&ev);
                    let objects = writer.as_reader().len();
                    shared.on_event(kind, &ev, objects);
                }
                Err(e) => shared.on_error(kind, &e),
            }
        }
    });
    (store, task)
}

fn icp(o: &DynamicObject) -> Option<IngressClassParams> {
    crds::ingress_class_params(o)
        .inspect_err(|e| tracing::warn!(error = %e, "unreadable IngressClassParams"))
        .ok()
}

fn tgb(o: &DynamicObject) -> Option<TargetGroupBinding> {
    crds::target_group_binding(o)
        .inspect_err(|e| tracing::warn!(error = %e, "unreadable TargetGroupBinding"))
        .ok()
}

/// Live watchers over one context. Dropping it stops every watcher at once, without waiting
/// for the old cluster (a context switch never hangs on an unreachable API server).
pub struct KubeWatch {
    reader: Arc<Reader>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Read access to the stores and statuses, shareable with the view publisher task.
struct Reader {
    context: String,
    scope: Scope,
    stores: Stores,
    shared: Arc<Shared>,
}

impl Drop for KubeWatch {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(|e| e.into_inner());
        for t in tasks.iter() {
            t.abort();
        }
    }
}

impl KubeWatch {
    /// Start one watcher per kind in `options`. Must run inside a tokio runtime.
    pub fn start(client: &KubeClient, options: &WatchOptions) -> Self {
        let (changes, _) = tokio_watch::channel(0u64);
        let shared = Arc::new(Shared {
            status: Mutex::new(
                options
                    .kinds
                    .iter()
                    .map(|k| (*k, KindStatus::new()))
                    .collect(),
            ),
            changes,
            problem_ttl: options.problem_ttl,
        });
        let config = watcher::Config::default()
            .timeout(options.watch_timeout_secs)
            .page_size(options.page_size);
        let c = client.client();
        let scoped_dyn = |ar: &kube::api::ApiResource| match client.scope() {
            Scope::All => Api::<DynamicObject>::all_with(c.clone(), ar),
            Scope::Namespace(ns) => Api::<DynamicObject>::namespaced_with(c.clone(), ns, ar),
        };
        let mut stores = Stores::default();
        let mut tasks = Vec::new();
        for kind in &options.kinds {
            let sh = shared.clone();
            let cfg = config.clone();
            macro_rules! run {
                ($field:ident, $api:expr, $convert:expr) => {{
                    let (store, task) = spawn_kind(*kind, $api, cfg, $convert, sh);
                    stores.$field = Some(store);
                    tasks.push(task);
                }};
            }
            match kind {
                KindId::Services => {
                    run!(services, client.scoped::<core::Service>(), |s| Some(
                        convert::service(s)
                    ))
                }
                KindId::Ingresses => {
                    run!(ingresses, client.scoped::<networking::Ingress>(), |i| Some(
                        convert::ingress(i)
                    ))
                }
                KindId::IngressClasses => run!(
                    ingress_classes,
                    Api::<networking::IngressClass>::all(c.clone()),
                    |i| Some(convert::ingress_class(i))
                ),
                KindId::IngressClassParams => run!(
                    ingress_class_params,
                    Api::<DynamicObject>::all_with(
                        c.clone(),
                        &crds::ingress_class_params_resource()
                    ),
                    icp
                ),
                KindId::TargetGroupBindings => run!(
                    target_group_bindings,
                    scoped_dyn(&crds::target_group_binding_resource()),
                    tgb
                ),
                KindId::Nodes => {
                    run!(nodes, Api::<core::Node>::all(c.clone()), |n| Some(
                        convert::node(n)
                    ))
                }
                KindId::EndpointSlices => run!(
                    endpoint_slices,
                    client.scoped::<discovery::EndpointSlice>(),
                    |s| Some(convert::endpoint_slice(s))
                ),
                KindId::Pods => run!(pods, client.scoped::<core::Pod>(), |p| Some(convert::pod(
                    p
                ))),
                KindId::Events => run!(events, client.scoped::<core::Event>(), convert::lbc_event),
            }
        }
        Self {
            reader: Arc::new(Reader {
                context: client.context().to_string(),
                scope: client.scope().clone(),
                stores,
                shared,
            }),
            tasks: Mutex::new(tasks),
        }
    }

    pub fn context(&self) -> &str {
        &self.reader.context
    }

    /// A receiver that changes on every stored event and every status change.
    pub fn changes(&self) -> tokio_watch::Receiver<u64> {
        self.reader.shared.changes.subscribe()
    }

    pub fn kinds(&self) -> BTreeMap<KindId, KindStatus> {
        self.reader.shared.current()
    }

    /// Wait until every kind is listed or known not to be listable; `false` on timeout.
    pub async fn wait_settled(&self, timeout: Duration) -> bool {
        let mut rx = self.changes();
        let settled = async {
            loop {
                if self.kinds().values().all(KindStatus::settled) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, settled).await.is_ok()
            && self.kinds().values().all(KindStatus::settled)
    }

    /// The cluster side as stored now. A section is `Some` only once its kind was listed.
    pub fn view(&self) -> KubeView {
        self.reader.view()
    }

    /// Coalesced views: after a change, wait `debounce` for more, then publish one view.
    /// The task stops with this `KubeWatch`.
    pub fn views(&self, debounce: Duration) -> tokio_watch::Receiver<Arc<KubeView>> {
        let (tx, rx) = tokio_watch::channel(Arc::new(self.view()));
        let mut changes = self.changes();
        let reader = self.reader.clone();
        let task = tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                tokio::time::sleep(debounce).await;
                changes.borrow_and_update();
                if tx.send(Arc::new(reader.view())).is_err() {
                    break;
                }
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        rx
    }
}

impl Reader {
    fn view(&self) -> KubeView {
        let generation = *self.shared.changes.borrow();
        let kinds = self.shared.current();
        let synced = |k: KindId| kinds.get(&k).is_some_and(|s| s.synced);
        let s = &self.stores;
        let side = KubeSide {
            services: keyed(&s.services, synced(KindId::Services), |o| o.meta.key()),
            ingresses: keyed(&s.ingresses, synced(KindId::Ingresses), |o| o.meta.key()),
            ingress_classes: keyed(&s.ingress_classes, synced(KindId::IngressClasses), |o| {
                o.meta.name.clone()
            }),
            ingress_class_params: keyed(
                &s.ingress_class_params,
                synced(KindId::IngressClassParams),
                |o| o.meta.name.clone(),
            ),
            target_group_bindings: keyed(
                &s.target_group_bindings,
                synced(KindId::TargetGroupBindings),
                |o| o.meta.key(),
            ),
            nodes: keyed(&s.nodes, synced(KindId::Nodes), |o| o.meta.name.clone()),
            pods: keyed(&s.pods, synced(KindId::Pods), |o| o.meta.key()),
            endpoint_slices: keyed(&s.endpoint_slices, synced(KindId::EndpointSlices), |o| {
                o.meta.key()
            }),
            events: keyed(&s.events, synced(KindId::Events), |o| o.meta.key())
                .map(|m| m.into_values().collect()),
        };
        KubeView {
            context: self.context.clone(),
            side,
            notes: notes(&kinds, &self.scope),
            kinds,
            generation,
        }
    }
}

/// A store's objects by `key`, or `None` (unknown) while the kind has not been listed.
fn keyed<T, K: Ord>(
    store: &Option<Store<T>>,
    synced: bool,
    key: impl Fn(&T) -> K,
) -> Option<BTreeMap<K, T>>
where
    T: Lookup<DynamicType = ()> + Clone + 'static,
{
    let store = store.as_ref().filter(|_| synced)?;
    Some(
        store
            .state()
            .into_iter()
            .map(|o| (key(&o), (*o).clone()))
            .collect(),
    )
}
