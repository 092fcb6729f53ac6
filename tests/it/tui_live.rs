//! The TUI's live pipeline without a terminal: the real `LiveSource`, the real effect runtime
//! and the reducer, against the fake kube-apiserver and moto. Every wait polls the app's
//! actions with a deadline; nothing sleeps to assert.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lbsg::cli::args::SourceArgs;
use lbsg::tui::action::Action;
use lbsg::tui::config::UiConfig;
use lbsg::tui::live::{LiveOptions, LiveSource};
use lbsg::tui::runtime::Runtime;
use lbsg::tui::source::WorldSource;
use lbsg::tui::state::State;
use lbsg::tui::update;
use lbsg::world::ObjKey;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::fake_apiserver::FakeApiServer;
use crate::kube_support::{deployment, service};

const DEADLINE: Duration = Duration::from_secs(30);

/// The app without a terminal: state, reducer, runtime, and the actions channel.
pub(crate) struct App {
    pub(crate) state: State,
    pub(crate) rx: Arc<Mutex<UnboundedReceiver<Action>>>,
    /// Actions taken off `rx` by someone else (a proxy hook), not yet reduced.
    pub(crate) inbox: Arc<Mutex<VecDeque<Action>>>,
    /// Live worlds reduced so far.
    pub(crate) worlds: Arc<Mutex<usize>>,
    pub(crate) runtime: Runtime,
}

impl App {
    pub(crate) fn start(source: LiveSource) -> App {
        let info = source.info();
        let (tx, rx) = unbounded_channel();
        let runtime = Runtime::spawn(Box::new(source), tx);
        let mut state = State::new(
            Arc::new(UiConfig::default()),
            info,
            false,
            SystemTime::now(),
        );
        state.width = 120;
        state.height = 40;
        for e in update::start(&mut state) {
            runtime.run(e);
        }
        App {
            state,
            rx: Arc::new(Mutex::new(rx)),
            inbox: Arc::new(Mutex::new(VecDeque::new())),
            worlds: Arc::new(Mutex::new(0)),
            runtime,
        }
    }

    fn act(&mut self, a: Action) {
        // as the app does: an arriving world starts its planner
        self.runtime.observe(&a);
        for e in update::update(&mut self.state, a) {
            self.runtime.run(e);
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn command(&mut self, cmd: &str) {
        self.act(Action::RunCommand(cmd.to_string()));
    }

    /// Reduce actions as they arrive until `cond` holds (checked after each one).
    pub(crate) async fn until(&mut self, what: &str, mut cond: impl FnMut(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !cond(&self.state) {
            // Taken and counted under the locks a proxy hook takes, in the same order.
            let next = {
                let mut rx = self.rx.lock().unwrap();
                let mut inbox = self.inbox.lock().unwrap();
                let a = inbox.pop_front().or_else(|| rx.try_recv().ok());
                if matches!(a, Some(Action::LiveWorld { .. })) {
                    *self.worlds.lock().unwrap() += 1;
                }
                a
            };
            match next {
                Some(a) => self.act(a),
                None => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "timed out waiting for {what}; context {:?}, switching {:?}, banner {:?}, feeds {:?}",
                        self.state.source.context,
                        self.state.switching,
                        self.state.banner,
                        self.state.feeds
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

fn has_service(s: &State, ns: &str, name: &str) -> bool {
    s.world
        .as_ref()
        .and_then(|w| w.kube.services.as_ref())
        .is_some_and(|m| m.contains_key(&ObjKey::new(ns, name)))
}

pub(crate) fn fast() -> LiveOptions {
    LiveOptions {
        debounce: Duration::from_millis(50),
        settle_timeout: Duration::from_secs(10),
        aws_every: None,
        ..LiveOptions::default()
    }
}

fn controller() -> serde_json::Value {
    deployment(
        "kube-system",
        "aws-load-balancer-controller",
        json!({"app.kubernetes.io/name": "aws-load-balancer-controller"}),
        &["--cluster-name=demo"],
    )
}

/// A kubeconfig whose contexts each point at one server; the first is current.
fn kubeconfig(dir: &tempfile::TempDir, contexts: &[(&str, &str)]) -> SourceArgs {
    let mut y = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {}\nclusters:\n",
        contexts[0].0
    );
    for (name, url) in contexts {
        y.push_str(&format!("- name: {name}\n  cluster:\n    server: {url}\n"));
    }
    y.push_str("contexts:\n");
    for (name, _) in contexts {
        y.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: tester\n"
        ));
    }
    y.push_str("users:\n- name: tester\n  user:\n    token: not-a-secret\n");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, y).unwrap();
    SourceArgs {
        kubeconfig: Some(path),
        no_aws: true,
        ..SourceArgs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_world_follows_the_cluster_without_a_refresh() {
    let fake = FakeApiServer::start().await;
    fake.put(controller());
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::start(LiveSource::new(
        kubeconfig(&dir, &[("fake", &fake.url)]),
        fast(),
    ));
    app.until("the first world", |s| s.world.is_some()).await;
    assert_eq!(app.state.source.context, "fake · all namespaces");
    assert!(app.state.feeds["kube"].live);
    assert!(!has_service(&app.state, "shop", "web"));

    fake.put(service("shop", "web", json!({})));
    app.until("the created Service", |s| has_service(s, "shop", "web"))
        .await;
    fake.put(service("shop", "web", json!({"team": "blue"})));
    app.until("the updated Service", |s| {
        s.world.as_ref().is_some_and(|w| {
            w.kube.services.as_ref().unwrap()[&ObjKey::new("shop", "web")]
                .meta
                .annotations
                .get("team")
                .is_some_and(|v| v == "blue")
        })
    })
    .await;

    // A dropped watch stream, then a compacted history (410 Gone): both recover by themselves.
    fake.drop_watches();
    fake.put(service("shop", "api", json!({})));
    app.until("a Service after a dropped stream", |s| {
        has_service(s, "shop", "api")
    })
    .await;
    fake.compact();
    fake.drop_watches();
    fake.put(service("shop", "late", json!({})));
    app.until("a Service after 410 Gone", |s| {
        has_service(s, "shop", "late")
    })
    .await;

    assert!(fake.delete("services", "shop", "web"));
    app.until("the deleted Service gone", |s| {
        !has_service(s, "shop", "web")
    })
    .await;
    assert!(
        app.state.feeds["kube"].error.is_none(),
        "{:?}",
        app.state.feeds
    );
    assert!(
        fake.mutating_requests().is_empty(),
        "watching writes nothing: {:?}",
        fake.mutating_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_forbidden_kind_shows_its_note_and_the_rest_loads() {
    let fake = FakeApiServer::without_crds().await;
    fake.put(controller());
    fake.put(service("shop", "web", json!({})));
    fake.forbid("pods");
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::start(LiveSource::new(
        kubeconfig(&dir, &[("fake", &fake.url)]),
        fast(),
    ));
    app.until("the first world", |s| s.world.is_some()).await;
    assert!(has_service(&app.state, "shop", "web"));
    let notes = app.state.feeds["kube"].notes.join("\n");
    assert!(notes.contains("forbidden to list/watch pods"), "{notes}");
    assert!(
        notes.contains("TargetGroupBinding CRD") || notes.contains("targetgroupbindings CRD"),
        "{notes}"
    );
    let w = app.state.world.clone().unwrap();
    assert_eq!(w.kube.pods, None, "a forbidden kind is unknown, not empty");
    assert!(
        app.state.feeds["kube"].error.is_none(),
        "403 is a note, not a failure"
    );
}

/// Accepts connections and never answers; counts connections accepted, and closed by the client.
async fn silent_server() -> (String, Arc<Mutex<usize>>, Arc<Mutex<usize>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(0usize));
    let closed = Arc::new(Mutex::new(0usize));
    let (a, c) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                return;
            };
            *a.lock().unwrap() += 1;
            let c = c.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {}
                *c.lock().unwrap() += 1;
            });
        }
    });
    (url, accepted, closed)
}

async fn wait_count(what: &str, n: &Mutex<usize>) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while *n.lock().unwrap() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_context_switch_is_async_cancellable_and_drops_the_old() {
    let a = FakeApiServer::start().await;
    a.put(controller());
    a.put(service("shop", "from-a", json!({})));
    let b = FakeApiServer::start().await;
    b.put(controller());
    b.put(service("shop", "from-b", json!({})));
    let (silent, accepted, closed) = silent_server().await;
    let closed_port = crate::live_cli_support::closed_port_url().await;
    let dir = tempfile::tempdir().unwrap();
    let args = kubeconfig(
        &dir,
        &[
            ("a", &a.url),
            ("b", &b.url),
            ("hangs", &silent),
            ("down", &closed_port),
        ],
    );
    let mut app = App::start(LiveSource::new(args, fast()));
    app.until("context a", |s| has_service(s, "shop", "from-a"))
        .await;
    assert_eq!(
        app.state.source.contexts,
        vec!["a", "b", "down", "hangs"],
        "`:ctx` offers the kubeconfig's contexts"
    );

    // A switch to a server that never answers: the header says so, the UI stays usable, and
    // Esc cancels it, keeping context a (and closing the connection to the silent server).
    app.command("ctx hangs");
    assert_eq!(
        app.state.switching.as_ref().map(|s| s.context.as_str()),
        Some("hangs")
    );
    wait_count("the probe reaching the silent server", &accepted).await;
    app.command("lb");
    assert_eq!(app.state.view().title(), "load balancers");
    app.key(KeyCode::Esc);
    assert_eq!(app.state.switching, None);
    assert!(
        app.state
            .banner
            .as_ref()
            .is_some_and(|b| b.text.contains("still on a")),
        "{:?}",
        app.state.banner
    );
    a.put(service("shop", "still-a", json!({})));
    app.until("context a still followed", |s| {
        has_service(s, "shop", "still-a")
    })
    .await;
    wait_count(
        "the cancelled session closing its connection to the silent server",
        &closed,
    )
    .await;

    // A context that cannot be reached: the switch fails, context a stays.
    app.command("ctx down");
    app.until("the failed switch", |s| s.switching.is_none())
        .await;
    let banner = app.state.banner.clone().unwrap();
    assert!(
        banner.text.contains("cannot switch to down") && banner.text.contains("still on a"),
        "{}",
        banner.text
    );
    assert!(has_service(&app.state, "shop", "from-a"));

    // A real switch: b's world arrives and the header follows.
    app.command("ctx b");
    app.until("context b", |s| {
        s.switching.is_none() && has_service(s, "shop", "from-b")
    })
    .await;
    assert_eq!(app.state.source.context, "b · all namespaces");
    assert!(!has_service(&app.state, "shop", "from-a"));
    // The old context's changes never reach the screen: a's session is stopped, and anything
    // late from it is dropped by generation.
    let a_requests = a.requests().len();
    a.put(service("shop", "late-a", json!({})));
    b.put(service("shop", "new-b", json!({})));
    app.until("b followed", |s| {
        assert!(!has_service(s, "shop", "late-a"), "a late result of a");
        has_service(s, "shop", "new-b")
    })
    .await;
    assert!(
        a.requests().len() <= a_requests + 1,
        "the old context is still being watched: {:?}",
        &a.requests()[a_requests..]
    );
}

/// The plan dialog's state, if one is open.
fn plan_dialog(s: &State) -> Option<&lbsg::tui::state::PlanDialog> {
    match &s.overlay {
        Some(lbsg::tui::state::Overlay::Plan(p)) => Some(p),
        _ => None,
    }
}

fn plan_text(s: &State) -> String {
    plan_dialog(s)
        .and_then(|p| p.preview.as_ref())
        .map(|pv| {
            pv.lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_conflict_writes_nothing_and_shows_the_plan_made_again() {
    use axum::http::Method;
    const RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
    let fake = FakeApiServer::start().await;
    fake.put(controller());
    fake.put(service("shop", "web", json!({})));
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::start(LiveSource::new(
        kubeconfig(&dir, &[("fake", &fake.url)]),
        fast(),
    ));
    app.until("the Service", |s| has_service(s, "shop", "web"))
        .await;
    let planned = fake.get("services", "shop", "web").unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let edit = lbsg::core::plan::Edit::Annotations {
        resource: lbsg::core::plan::ResourceRef::Service(ObjKey::new("shop", "web")),
        set: [(RANGES.to_string(), "10.0.0.0/8".to_string())].into(),
        unset: Vec::new(),
    };
    for e in update::edit::start_plan(&mut app.state, edit, "source ranges".into(), None) {
        app.runtime.run(e);
    }
    app.until("the plan", |s| {
        plan_dialog(s).is_some_and(|p| p.preview.is_some())
    })
    .await;
    let at = |v: &str| format!("merge patch at resourceVersion {v}");
    assert!(
        plan_text(&app.state).contains(&at(&planned)),
        "{}",
        plan_text(&app.state)
    );

    // Another client edits the Service between the preview and the apply (at the apply's read).
    let mut theirs = Some({
        let mut svc = fake.get("services", "shop", "web").unwrap();
        svc["metadata"]["annotations"]["team"] = json!("payments");
        svc
    });
    fake.before_request(move |r| {
        if r.method == Method::GET && r.path == "/api/v1/namespaces/shop/services/web" {
            theirs.take().into_iter().collect()
        } else {
            Vec::new()
        }
    });
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    let current = || {
        fake.get("services", "shop", "web").unwrap()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string()
    };
    app.until("the plan made again on the current object", |s| {
        plan_dialog(s).is_some_and(|p| p.note.is_some() && !p.replan && p.preview.is_some())
            && plan_text(s).contains(&at(&current()))
    })
    .await;
    assert_ne!(current(), planned);
    let note = plan_dialog(&app.state).unwrap().note.clone().unwrap();
    assert!(note.contains("changed since the plan"), "{note}");
    // Nothing was written: one dry run refused at the old version, no real patch, their edit kept.
    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .collect();
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(
        patches[0].query.get("dryRun").map(String::as_str),
        Some("All")
    );
    let svc = fake.get("services", "shop", "web").unwrap();
    assert_eq!(svc["metadata"]["annotations"]["team"], "payments");
    assert!(svc["metadata"]["annotations"].get(RANGES).is_none());

    // Confirming the new plan applies it at the current version and keeps their edit.
    let now = current();
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    app.until("the apply", |s| s.overlay.is_none()).await;
    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .collect();
    assert_eq!(patches.len(), 3, "dry run + patch at the new version");
    for p in &patches[1..] {
        assert_eq!(p.body["metadata"]["resourceVersion"], json!(now));
    }
    let svc = fake.get("services", "shop", "web").unwrap();
    assert_eq!(svc["metadata"]["annotations"]["team"], "payments");
    assert_eq!(svc["metadata"]["annotations"][RANGES], "10.0.0.0/8");
}
