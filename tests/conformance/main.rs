//! Conformance runner: every vector under `../shared/conformance/` (or `$LBSG_CONFORMANCE_DIR`;
//! a clone without `../shared` beside it runs the verbatim copy in `tests/conformance/vectors`,
//! which must equal `../shared/conformance` wherever that exists) is dispatched by scope to the reconcile core. Prints a table per scope, the failing ids with a
//! one-line diff each, and `conformance: N passed, M failed`. Exits non-zero on any failure,
//! unreadable file or vector without a handler.
//!
//! `cargo test --test conformance -- [ID_OR_SCOPE_PREFIX…] [--verbose]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod backend_sg;
mod common;
mod e2e;
mod ingress;
mod naming_tags;
mod reconcile;
mod resolve;
mod service;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use common::{Handler, Vector};

fn handler_for(scope: &str) -> Option<Handler> {
    [
        naming_tags::handler,
        resolve::handler,
        reconcile::handler,
        backend_sg::handler,
        service::handler,
        ingress::handler,
        target::handler,
        e2e::handler,
    ]
    .iter()
    .find_map(|h| h(scope))
}

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance")
}

fn copy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/vectors")
}

fn vectors_dir() -> PathBuf {
    match std::env::var_os("LBSG_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None if shared_dir().is_dir() => shared_dir(),
        None => copy_dir(),
    }
}

/// Where `../shared/conformance` exists, every file of it and of the checked-in copy must be
/// byte-identical, so the copy a bare clone runs is never stale.
fn copy_problems() -> Vec<String> {
    let (shared, copy) = (shared_dir(), copy_dir());
    if !shared.is_dir() {
        return Vec::new();
    }
    let names = |d: &Path| -> std::collections::BTreeSet<std::ffi::OsString> {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect()
    };
    let mut out = Vec::new();
    for name in names(&shared).union(&names(&copy)) {
        let (a, b) = (shared.join(name), copy.join(name));
        if std::fs::read(&a).ok() != std::fs::read(&b).ok() {
            out.push(format!(
                "{} differs from {}: run scripts/sync-conformance",
                b.display(),
                a.display()
            ));
        }
    }
    out
}

/// The checked-in skip list: id → written reason.
fn skip_list() -> Result<BTreeMap<String, String>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/skip.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for item in v
        .get("skip")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let id = item.get("id").and_then(|v| v.as_str());
        let reason = item.get("reason").and_then(|v| v.as_str());
        match (id, reason) {
            (Some(id), Some(r)) if !r.trim().is_empty() => {
                out.insert(id.to_string(), r.to_string());
            }
            _ => {
                return Err(format!(
                    "{}: every skip needs an id and a reason",
                    path.display()
                ));
            }
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    // Speak just enough of libtest's protocol for cargo-nextest: one test named `conformance`.
    if all.iter().any(|a| a == "--list") {
        if !all.iter().any(|a| a == "--ignored") {
            println!("conformance: test");
        }
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = all
        .into_iter()
        .filter(|a| !a.starts_with("--") && a != "conformance")
        .collect();
    let verbose = std::env::args().any(|a| a == "--verbose");
    let dir = vectors_dir();
    println!("conformance: vectors from {}", dir.display());
    let mut problems: Vec<String> = copy_problems();
    let skips = skip_list().unwrap_or_else(|e| {
        problems.push(format!("skip list unreadable: {e}"));
        BTreeMap::new()
    });

    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect(),
        Err(e) => {
            eprintln!("conformance: cannot read {}: {e}", dir.display());
            println!("conformance: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    files.sort();

    let mut by_scope: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures: Vec<(String, String, String)> = Vec::new();
    let mut seen_ids = BTreeMap::new();
    for file in &files {
        let vectors = match common::load_file(file) {
            Ok(v) => v,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for (idx, raw) in vectors.into_iter().enumerate() {
            let v = match Vector::from_value(raw) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{} vector #{idx}: {e}", file.display()));
                    continue;
                }
            };
            if !args.is_empty()
                && !args
                    .iter()
                    .any(|a| v.id == *a || v.scope.starts_with(a.as_str()))
            {
                continue;
            }
            if let Some(prev) = seen_ids.insert(v.id.clone(), file.display().to_string()) {
                problems.push(format!("duplicate vector id {} (also in {prev})", v.id));
            }
            let tally = by_scope.entry(v.scope.clone()).or_default();
            if skips.contains_key(&v.id) {
                tally.skipped += 1;
                continue;
            }
            let outcome = match handler_for(&v.scope) {
                Some(h) => std::panic::catch_unwind(|| h(&v))
                    .unwrap_or_else(|_| Err("handler panicked".to_string())),
                None => Err(format!("no handler for scope {}", v.scope)),
            };
            match outcome {
                Ok(()) => tally.passed += 1,
                Err(diff) => {
                    tally.failed += 1;
                    failures.push((v.id.clone(), v.scope.clone(), diff));
                }
            }
        }
    }

    println!(
        "{:<44} {:>6} {:>6} {:>7}",
        "scope", "passed", "failed", "skipped"
    );
    let mut total = Tally::default();
    for (scope, t) in &by_scope {
        println!(
            "{scope:<44} {:>6} {:>6} {:>7}",
            t.passed, t.failed, t.skipped
        );
        total.passed += t.passed;
        total.failed += t.failed;
        total.skipped += t.skipped;
    }
    if !failures.is_empty() {
        println!("\nfailing vectors:");
        for (id, scope, diff) in &failures {
            let line = if verbose {
                diff.clone()
            } else {
                common::one_line(diff)
            };
            println!("  {id} [{scope}]: {line}");
        }
    }
    for p in &problems {
        println!("error: {p}");
    }
    if total.skipped > 0 {
        println!(
            "skipped: {} (reasons in tests/conformance/skip.yaml)",
            total.skipped
        );
    }
    let failed = total.failed + problems.len();
    println!("conformance: {} passed, {} failed", total.passed, failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
