//! A counting reverse proxy in front of moto, for tests that run the real `lbsg` binary.
//!
//! The binary cannot be given an SDK interceptor, so the two things the in-process tests get
//! from one (see `aws_common`) happen here, on loopback: every request is sent to this test's
//! own moto account (`x-moto-account-id`, so tests stay parallel-safe without a global reset),
//! and every request is logged by IAM action (`ec2:DescribeVpcs`), read from the SigV4
//! credential scope and the query-protocol `Action` parameter. moto has no request log of its
//! own; this log is what "no mutating call" is counted on. A test can also make another
//! client act at a chosen moment ([`MotoProxy::before_nth`]), e.g. between a plan and its apply.
//!
//! Faults ([`MotoProxy::inject`], [`Fault`]): per action or service, N times or until cleared,
//! the proxy answers as AWS does when it throttles, fails (500), or finds the credentials
//! expired, or it hangs up as an endpoint that is down ([`MotoProxy::set_forwarding`] does that
//! for every request). Faulted requests are logged like the others, so the log counts what
//! went on the wire.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::aws_common::fresh_account;

/// Run before forwarding the n-th request (1-based) of an action.
struct Hook {
    action: String,
    nth: usize,
    run: BoxFuture<'static, ()>,
}

/// What the proxy does to a request instead of (or besides) forwarding it. The answers are
/// the ones AWS sends, in each service's own XML, so the SDK classifies and retries them as it
/// would in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Throttling: EC2 `RequestLimitExceeded` (503), ELBv2 `Throttling` (400).
    Throttle,
    /// HTTP 500: EC2 `InternalError`, ELBv2 `InternalFailure`.
    ServerError,
    /// Forward, then answer HTTP 500 anyway: the change lands, the client does not learn it.
    LostAnswer,
    /// Expired credentials: EC2 `RequestExpired`, ELBv2 `ExpiredToken` (400).
    Expired,
    /// Close the connection without an answer, as an endpoint that went down.
    Reset,
}

/// One fault rule: which requests, from which one on, how many times.
#[derive(Debug, Clone)]
pub struct Inject {
    /// An IAM action (`ec2:DescribeVpcs`), a service (`ec2`, `elasticloadbalancing`) or `*`.
    target: String,
    fault: Fault,
    /// Matching requests let through before the fault starts.
    skip: usize,
    /// Faulted requests left; `None` until [`MotoProxy::clear_faults`].
    left: Option<usize>,
}

impl Inject {
    /// `fault` on every request to `target` until cleared.
    pub fn new(target: &str, fault: Fault) -> Self {
        Self {
            target: target.to_string(),
            fault,
            skip: 0,
            left: None,
        }
    }

    /// Only the first `n` matching requests (from the first faulted one).
    pub fn times(mut self, n: usize) -> Self {
        self.left = Some(n);
        self
    }

    /// Let the first `n` matching requests (counted from when the rule is added, faulted by
    /// another rule or not) through unharmed by this rule.
    pub fn after(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    fn matches(&self, action: &str) -> bool {
        self.target == "*"
            || self.target == action
            || action.split(':').next() == Some(self.target.as_str())
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    account: String,
    log: Arc<Mutex<Vec<String>>>,
    hook: Arc<Mutex<Option<Hook>>>,
    faults: Arc<Mutex<Vec<Inject>>>,
    injected: Arc<Mutex<Vec<(String, Fault)>>>,
    forwarding: Arc<AtomicBool>,
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
    faults: Arc<Mutex<Vec<Inject>>>,
    injected: Arc<Mutex<Vec<(String, Fault)>>>,
    forwarding: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MotoProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The connection is closed without an answer (hyper drops a connection whose service fails).
#[derive(Debug)]
struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("moto proxy: connection closed on purpose")
    }
}

impl std::error::Error for Hangup {}

impl MotoProxy {
    /// A proxy to `moto` (its endpoint URL) on a fresh account, bound to 127.0.0.1:0.
    pub async fn start(moto: &str) -> Self {
        let shared = Shared {
            upstream: moto.trim_end_matches('/').to_string(),
            account: fresh_account(),
            log: Arc::default(),
            hook: Arc::default(),
            faults: Arc::default(),
            injected: Arc::default(),
            forwarding: Arc::new(AtomicBool::new(true)),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Self {
            url,
            account: shared.account.clone(),
            log: shared.log.clone(),
            hook: shared.hook.clone(),
            faults: shared.faults.clone(),
            injected: shared.injected.clone(),
            forwarding: shared.forwarding.clone(),
            task: tokio::spawn(serve(listener, shared)),
        }
    }

    /// Add a fault rule (rules are tried in the order added; the first that applies wins).
    pub fn inject(&self, rule: Inject) {
        self.faults.lock().unwrap().push(rule);
    }

    /// Remove every fault rule: requests are forwarded again.
    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// `false`: every request is answered by closing its connection (the endpoint is down)
    /// until set back to `true`. Requests are still logged.
    pub fn set_forwarding(&self, on: bool) {
        self.forwarding.store(on, Ordering::SeqCst);
    }

    /// The faults the proxy answered with so far, by action, in arrival order.
    pub fn injected(&self) -> Vec<(String, Fault)> {
        self.injected.lock().unwrap().clone()
    }

    /// How many requests of `action` got `fault`.
    pub fn injected_count(&self, action: &str, fault: Fault) -> usize {
        self.injected()
            .iter()
            .filter(|(a, f)| a == action && *f == fault)
            .count()
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

    /// Forget the requests so far (e.g. the seeding) and the faults answered.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
        self.injected.lock().unwrap().clear();
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

async fn serve(listener: tokio::net::TcpListener, st: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let st = st.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            forward(st.clone(), req.map(Body::new))
        });
        tokio::spawn(async move {
            // A `Hangup` ends the connection here, without an answer: that is the point.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The fault the rules give this request, if any. Every matching rule counts the request
/// against its `after` (so `after(n)` means "from the (n+1)-th matching request on", whatever
/// other rules did to the first n); the first rule that is due and not used up applies.
fn fault_for(st: &Shared, action: &str) -> Option<Fault> {
    if !st.forwarding.load(Ordering::SeqCst) {
        return Some(Fault::Reset);
    }
    let mut chosen = None;
    let mut rules = st.faults.lock().unwrap();
    for rule in rules.iter_mut().filter(|r| r.matches(action)) {
        if rule.skip > 0 {
            rule.skip -= 1;
            continue;
        }
        if chosen.is_some() || rule.left == Some(0) {
            continue;
        }
        if let Some(n) = &mut rule.left {
            *n -= 1;
        }
        chosen = Some(rule.fault);
    }
    chosen
}

/// AWS's own answer for `fault` on `action` (`service:Name`), or `None` for a hang-up.
fn fault_answer(action: &str, fault: Fault, seq: u64) -> Option<Response> {
    let ec2 = action.starts_with("ec2:");
    let (status, code, message) = match (fault, ec2) {
        (Fault::Reset, _) => return None,
        (Fault::Throttle, true) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (Fault::Throttle, false) => (400, "Throttling", "Rate exceeded"),
        (Fault::ServerError | Fault::LostAnswer, true) => (
            500,
            "InternalError",
            "An internal error has occurred. Retry your request, but if the problem persists, contact us.",
        ),
        (Fault::ServerError | Fault::LostAnswer, false) => {
            (500, "InternalFailure", "An internal error has occurred.")
        }
        (Fault::Expired, true) => (400, "RequestExpired", "Request has expired."),
        (Fault::Expired, false) => (
            400,
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
    };
    let id = format!("00000000-0000-4000-8000-{seq:012}");
    let body = if ec2 {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        )
    } else {
        let kind = if status >= 500 { "Receiver" } else { "Sender" };
        format!(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
             <Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>{id}</RequestId></ErrorResponse>"
        )
    };
    Some(
        Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .header("x-amzn-requestid", id)
            .body(Body::from(body))
            .unwrap(),
    )
}

async fn forward(st: Shared, req: Request<Body>) -> Result<Response, Hangup> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Ok((StatusCode::BAD_REQUEST, "unreadable body").into_response());
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
    let fault = fault_for(&st, &action);
    if let Some(f) = fault {
        st.injected.lock().unwrap().push((action.clone(), f));
    }
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    if let Some(f) = fault.filter(|f| *f != Fault::LostAnswer) {
        return fault_answer(&action, f, seq).ok_or(Hangup);
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
        Ok(_) if fault == Some(Fault::LostAnswer) => {
            fault_answer(&action, Fault::LostAnswer, seq).ok_or(Hangup)
        }
        Ok(resp) => Ok(resp.map(Body::new)),
        // moto is gone: to the client, the endpoint is down.
        Err(_) => Err(Hangup),
    }
}
