//! Conformance handlers: `reconcile.*` (09-reconcile.yaml).
//!
//! `reconcile.ingress` vectors describe AWS answers (`describe_error`, `authorize_error`,
//! `revoke_error`, `first_authorize_error`, …); they are injected into the core's reconcile
//! state machine and the calls it makes are reported back in the vector's shape.

use lbsg::core::lbc::aws_error::AwsError;
use lbsg::core::lbc::reconcile::{
    self, CallResult, IngressCall, MANAGED_SG_DELETE, Ownership, ReconcileOptions,
};
use lbsg::world::{Rule, SgRule, Tags};
use serde_json::{Value, json};

use crate::common::{Handler, Vector, check_error, rule_from, rules_from, rules_to, str_of};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "reconcile.rule_identity" => Some(rule_identity),
        "reconcile.diff" => Some(diff),
        "reconcile.ingress" => Some(ingress),
        "reconcile.sg_delete" => Some(sg_delete),
        _ => None,
    }
}

fn rule_identity(v: &Vector) -> Result<(), String> {
    let identity = rule_from(v.input("rule")).identity();
    check_error(v, &Ok(json!({ "identity": identity })))
}

fn diff(v: &Vector) -> Result<(), String> {
    let source = rules_from(v.input("source"));
    let target = rules_from(v.input("target"));
    let got = json!({
        "source_minus_target": rules_to(&reconcile::rules_minus(&source, &target)),
        "target_minus_source": rules_to(&reconcile::rules_minus(&target, &source)),
    });
    check_error(v, &Ok(got))
}

fn sg_rules(v: &Value) -> Vec<SgRule> {
    rules_from(v)
        .into_iter()
        .map(|rule| SgRule {
            rule,
            id: None,
            tags: Tags::new(),
        })
        .collect()
}

fn err_at(v: &Vector, key: &str) -> Option<AwsError> {
    v.input(key).as_str().map(AwsError::parse)
}

fn ports(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| format!("{}-{}", r.from_port.unwrap_or(0), r.to_port.unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ingress(v: &Vector) -> Result<(), String> {
    if let Some(code) = v.input("aws_error_code").as_str() {
        let e = AwsError::api(code, "");
        let got = json!({
            "retry_uncached": reconcile::should_retry_uncached(&e),
            "revoke_first": reconcile::should_revoke_first(&e),
        });
        return check_error(v, &Ok(got));
    }
    let desired = rules_from(v.input("desired"));
    let current = sg_rules(v.input("current"));
    let current_uncached = match v.input("current_uncached") {
        Value::Null => current.clone(),
        other => sg_rules(other),
    };
    let opts = ReconcileOptions {
        ownership: match v
            .input("ownership")
            .as_str()
            .or(v.input("selector").as_str())
        {
            Some(s) if s.contains("shared") || s.contains("tgb") => Ownership::TgbShared,
            _ => Ownership::All,
        },
        authorize_only: v.input("authorize_only").as_bool().unwrap_or(false),
    };
    let (mut authorizes, mut revokes) = (0, 0);
    let trace = reconcile::run_ingress_reconcile(desired, opts, |call| match call {
        IngressCall::Describe { uncached } => match err_at(v, "describe_error") {
            Some(e) => CallResult::Failed(e),
            None if *uncached => CallResult::Described(current_uncached.clone()),
            None => CallResult::Described(current.clone()),
        },
        IngressCall::Authorize(_) => {
            authorizes += 1;
            let first = (authorizes == 1)
                .then(|| err_at(v, "first_authorize_error"))
                .flatten();
            match first.or_else(|| err_at(v, "authorize_error")) {
                Some(e) => CallResult::Failed(e),
                None => CallResult::Done,
            }
        }
        IngressCall::Revoke(_) => {
            revokes += 1;
            let first = (revokes == 1)
                .then(|| err_at(v, "first_revoke_error"))
                .flatten();
            match first.or_else(|| err_at(v, "revoke_error")) {
                Some(e) => CallResult::Failed(e),
                None => CallResult::Done,
            }
        }
    });

    let mut authorized: Vec<Rule> = Vec::new();
    let mut revoked: Vec<Rule> = Vec::new();
    let mut sequence: Vec<String> = Vec::new();
    for (call, res) in &trace.calls {
        let failed = if matches!(res, CallResult::Failed(_)) {
            " -> error"
        } else {
            ""
        };
        match call {
            // The vectors leave the initial cached read implicit.
            IngressCall::Describe { uncached: false } => continue,
            IngressCall::Describe { uncached: true } => {
                sequence.push(format!("describe (uncached){failed}"))
            }
            IngressCall::Authorize(rs) => {
                sequence.push(format!("authorize[{}]{failed}", ports(rs)));
                authorized.extend(rs.iter().cloned());
            }
            IngressCall::Revoke(rs) => {
                let rs: Vec<Rule> = rs.iter().map(|r| r.rule.clone()).collect();
                sequence.push(format!("revoke[{}]{failed}", ports(&rs)));
                revoked.extend(rs);
            }
        }
    }
    let got = json!({
        "authorize": rules_to(&authorized),
        "revoke": rules_to(&revoked),
        "error": trace.result.is_err(),
        "error_message": trace.result.err().map(|e| e.to_string()),
        "call_sequence": sequence,
    });
    check_error(v, &Ok(got))
}

/// `DependencyViolation (direct)` / `… (wrapped)` / plain text → an error value.
fn delete_error(text: &str) -> AwsError {
    if let Some(code) = text.strip_suffix(" (wrapped)") {
        AwsError::parse(code).wrap("wrapped message")
    } else {
        AwsError::parse(text.strip_suffix(" (direct)").unwrap_or(text))
    }
}

fn sg_delete(v: &Vector) -> Result<(), String> {
    let mut got = serde_json::Map::new();
    if let Some(text) = v.input("error").as_str() {
        got.insert(
            "retry".into(),
            json!(reconcile::is_dependency_violation(&delete_error(text))),
        );
    }
    if let Some(responses) = v.input("delete_responses").as_array() {
        let mut answers = responses.iter().filter_map(str_of);
        let out = reconcile::run_sg_delete(MANAGED_SG_DELETE, || match answers.next() {
            None => Ok(()),
            Some(a) if a == "ok" => Ok(()),
            Some(a) => Err(delete_error(&a)),
        });
        got.insert("delete_attempts".into(), json!(out.attempts));
        got.insert("gc_triggered".into(), json!(out.gc_triggered));
        if let Err(e) = out.result {
            return check_error(v, &Err(e.to_string()));
        }
    }
    check_error(v, &Ok(Value::Object(got)))
}
