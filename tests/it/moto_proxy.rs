//! A counting reverse proxy in front of moto, for tests that run the real `lbsg` binary.
//!
//! The binary cannot be given an SDK interceptor, so the two things the in-process tests get
//! from one (see `aws_common`) happen here, on loopback: every request is sent to this test's
//! own moto account (`x-moto-account-id`, so tests stay parallel-safe without a global reset),
//! and every request is logged by IAM action (`ec2:DescribeVpcs`), read from the SigV4
//! credential scope and the query-protocol `Action` parameter. moto has no request log of its
//! own; this log is what "no mutating call" is counted on. A test can also make another
//! client act at a chosen moment ([`MotoProxy::before_nth`]), e.g. between a plan and its apply.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::aws_common::fresh_account;

/// Run before forwarding the n-th request (1-based) of an action.
struct Hook {
    action: String,
    nth: usize,
    run: BoxFuture<'static, ()>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    account: String,
    log: Arc<Mutex<Vec<String>>>,
    hook: Arc<Mutex<Option<Hook>>>,
    client: Client<HttpConnector, Body>,
}

/// The running proxy. Dropping it stops it.
pub struct MotoProxy {
    /// Point `AWS_ENDPOINT_URL` (or an SDK client) here.
    pub url: String,
    /// The moto account every request through this proxy lands in.
    pub account: String,
    log: Arc<Mutex<Vec<String>>>,
    hook: Arc<Mutex<Option<Hook>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MotoProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MotoProxy {
    /// A proxy to `moto` (its endpoint URL) on a fresh account, bound to 127.0.0.1:0.
    pub async fn start(moto: &str) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hook = Arc::new(Mutex::new(None));
        let shared = Shared {
            upstream: moto.trim_end_matches('/').to_string(),
            account: fresh_account(),
            log: log.clone(),
            hook: hook.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let account = shared.account.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            account,
            log,
            hook,
            task,
        }
    }

    /// When the `nth` request (1-based, counted from now on the log) of `action` arrives, run
    /// `f` to completion before forwarding it. Requests `f` sends through this proxy are
    /// logged like any other.
    pub fn before_nth(
        &self,
        action: &str,
        nth: usize,
        f: impl Future<Output = ()> + Send + 'static,
    ) {
        let seen = self.actions().iter().filter(|a| *a == action).count();
        *self.hook.lock().unwrap() = Some(Hook {
            action: action.to_string(),
            nth: seen + nth,
            run: Box::pin(f),
        });
    }

    /// Every request so far, by IAM action, in arrival order.
    pub fn actions(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Forget the requests so far (e.g. the seeding).
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Requests per action.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for a in self.actions() {
            *out.entry(a).or_default() += 1;
        }
        out
    }

    /// Requests that are not reads. Anything not named Describe…/Get…/List… counts, so an
    /// action nobody expected is reported rather than missed.
    pub fn mutating(&self) -> Vec<String> {
        self.actions().into_iter().filter(|a| !is_read(a)).collect()
    }
}

pub fn is_read(action: &str) -> bool {
    let name = action.rsplit(':').next().unwrap_or_default();
    ["Describe", "Get", "List"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The signing service of a SigV4 `Authorization` header (`…/us-east-1/ec2/aws4_request`).
fn service_of(auth: Option<&HeaderValue>) -> String {
    auth.and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string()
}

/// The `Action` parameter of a query-protocol request (form body, or the URL's query).
fn action_of(body: &[u8], uri: &Uri) -> String {
    let find = |s: &str| {
        s.split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_string)
    };
    find(&String::from_utf8_lossy(body))
        .or_else(|| uri.query().and_then(find))
        .unwrap_or_else(|| "unknown".into())
}

async fn forward(State(st): State<Shared>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let action = format!(
        "{}:{}",
        service_of(parts.headers.get("authorization")),
        action_of(&bytes, &parts.uri)
    );
    let seen = {
        let mut log = st.log.lock().unwrap();
        log.push(action.clone());
        log.iter().filter(|a| **a == action).count()
    };
    let due = {
        let mut hook = st.hook.lock().unwrap();
        match hook.as_ref() {
            Some(h) if h.action == action && h.nth == seen => hook.take(),
            _ => None,
        }
    };
    if let Some(h) = due {
        h.run.await;
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{}{path}", st.upstream).parse().unwrap();
    parts.headers.remove("host");
    parts.headers.insert(
        "x-moto-account-id",
        HeaderValue::from_str(&st.account).unwrap(),
    );
    let upstream = axum::http::Request::from_parts(parts, Body::from(bytes));
    match st.client.request(upstream).await {
        Ok(resp) => resp.map(Body::new),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("moto proxy: {e}")).into_response(),
    }
}
