//! Per-operation call counts, so the cost of a load is visible (`lbsg snapshot --stats`).
//!
//! `calls` are lbsg's logical requests (one "describe every SG of the VPC" is one call),
//! `pages` the API requests those needed, `attempts` what went on the wire including the SDK's
//! retries, and `throttled` the attempts AWS answered with a throttling error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::errors::THROTTLING_CODES;
use super::ops::{Op, iam_prefix};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpStats {
    pub calls: u64,
    pub pages: u64,
    pub attempts: u64,
    pub throttled: u64,
}

/// Shared counters keyed by IAM action (`ec2:DescribeSecurityGroups`); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Stats(Arc<Mutex<BTreeMap<String, OpStats>>>);

impl Stats {
    fn update(&self, key: &str, f: impl FnOnce(&mut OpStats)) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(key.to_string()).or_default());
    }

    /// One logical request (which may take several pages).
    pub fn call(&self, op: Op) {
        self.update(op.action(), |s| s.calls += 1);
    }

    /// One API request (a page) of a logical request.
    pub fn page(&self, op: Op) {
        self.update(op.action(), |s| s.pages += 1);
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> BTreeMap<String, OpStats> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forget everything counted so far.
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The interceptor that counts attempts and throttling answers on the wire.
    pub fn interceptor(&self) -> StatsInterceptor {
        StatsInterceptor(self.clone())
    }

    /// The sum over every operation (for a status line: calls made, throttling seen).
    pub fn total(&self) -> OpStats {
        self.snapshot()
            .values()
            .fold(OpStats::default(), |mut t, s| {
                t.calls += s.calls;
                t.pages += s.pages;
                t.attempts += s.attempts;
                t.throttled += s.throttled;
                t
            })
    }

    /// A table for `--stats`: one line per operation, then the totals.
    pub fn render(&self) -> String {
        let snap = self.snapshot();
        let width = snap.keys().map(String::len).max().unwrap_or(9).max(9);
        let mut out = format!(
            "{:<width$} {:>6} {:>6} {:>8} {:>9}\n",
            "operation", "calls", "pages", "attempts", "throttled"
        );
        for (op, s) in &snap {
            let _ = writeln!(
                out,
                "{op:<width$} {:>6} {:>6} {:>8} {:>9}",
                s.calls, s.pages, s.attempts, s.throttled
            );
        }
        let total = self.total();
        let _ = writeln!(
            out,
            "{:<width$} {:>6} {:>6} {:>8} {:>9}",
            "total", total.calls, total.pages, total.attempts, total.throttled
        );
        out
    }
}

/// Counts every attempt the SDK makes, keyed by the operation's IAM action. Works for both the
/// EC2 and the ELBv2 client (they share the interceptor trait).
#[derive(Debug, Clone)]
pub struct StatsInterceptor(Stats);

/// The stats key of the operation an interceptor sees.
pub fn action_of(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(m) => format!("{}:{}", iam_prefix(m.service()), m.name()),
        None => "unknown:unknown".to_string(),
    }
}

impl Intercept for StatsInterceptor {
    fn name(&self) -> &'static str {
        "lbsg::Stats"
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.update(&action_of(cfg), |s| s.attempts += 1);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let throttled = ctx.response().is_some_and(|r| {
            let status = r.status().as_u16();
            let body = r.body().bytes().unwrap_or_default();
            is_throttling_response(status, body)
        });
        if throttled {
            let action = action_of(cfg);
            tracing::info!(%action, "AWS throttled a request; the SDK retries it");
            self.0.update(&action, |s| s.throttled += 1);
        }
        Ok(())
    }
}

/// Whether an error response carries a throttling code (EC2 answers 503 with
/// `RequestLimitExceeded`, ELBv2 400 with `Throttling`; both in an XML `<Code>`).
pub fn is_throttling_response(status: u16, body: &[u8]) -> bool {
    if status < 400 {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    THROTTLING_CODES
        .iter()
        .any(|code| text.contains(&format!("<Code>{code}</Code>")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders_in_key_order() {
        let s = Stats::default();
        s.call(Op::DescribeTags);
        s.page(Op::DescribeTags);
        s.page(Op::DescribeTags);
        s.call(Op::DescribeVpcs);
        s.page(Op::DescribeVpcs);
        let snap = s.snapshot();
        assert_eq!(snap["elasticloadbalancing:DescribeTags"].pages, 2);
        assert_eq!(snap["ec2:DescribeVpcs"].calls, 1);
        let text = s.render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("ec2:DescribeVpcs"), "{text}");
        assert!(
            lines[2].starts_with("elasticloadbalancing:DescribeTags"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("total") && lines[3].contains(" 2 "),
            "{text}"
        );
        s.reset();
        assert!(s.snapshot().is_empty());
    }

    #[test]
    fn throttling_answers_are_recognised() {
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        let elb = b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        let denied = b"<Response><Errors><Error><Code>UnauthorizedOperation</Code></Error></Errors></Response>";
        assert!(is_throttling_response(503, ec2));
        assert!(is_throttling_response(400, elb));
        assert!(!is_throttling_response(403, denied));
        assert!(!is_throttling_response(200, ec2));
    }
}
