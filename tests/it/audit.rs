//! `lbsg audit` end to end: the demo world's audit as a golden file, every planted problem of
//! the demo found with the right id and resource, nothing reported on the healthy situations,
//! exit codes per `--fail-on`, and every remedy plannable.
//!
//! Regenerate the golden file after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test it audit::`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn lbsg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsg"))
        .args(args)
        .output()
        .expect("run lbsg")
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/demo-audit.json")
}

fn demo_json() -> (Output, Value) {
    let out = lbsg(&["audit", "--demo", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("audit JSON");
    (out, v)
}

#[test]
fn demo_audit_matches_the_golden_file() {
    let (out, _) = demo_json();
    assert_eq!(out.status.code(), Some(1), "high findings ⇒ exit 1");
    let path = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out.stdout).unwrap();
    }
    let golden = std::fs::read(&path).expect("tests/golden/demo-audit.json");
    assert!(
        golden == out.stdout,
        "lbsg audit --demo --format json differs from {}; rerun with UPDATE_GOLDEN=1 if intended",
        path.display()
    );
}

/// Every situation of `assets/demo/README.md` with a problem, and only those.
const PLANTED: &[(&str, &str, &str)] = &[
    ("D07", "service/billing/invoices", "high"),
    ("D01", "service/legacy/old-gateway", "low"),
    ("D23", "service/legacy/old-gateway", "low"),
    ("D19", "service/internal-tools/grafana", "medium"),
    ("D04", "service/batch/report-api", "high"),
    ("D14", "service/search/search-api", "high"),
    ("D02", "service/ops/jenkins", "low"),
    ("D11", "service/partners/partner-api", "medium"),
    ("D27", "sg-0gone", "low"),
    ("D24", "sg-0nodes", "low"),
];

/// The demo's healthy situations and the SGs that are theirs.
const HEALTHY: &[&str] = &[
    "service/default/web",
    "service/payments/checkout",
    "service/edge/gateway",
    "ingress-group/public-alb",
    "ingress/portal/portal-web",
    "ingress/accounts/accounts-api",
    "ingress/shop/storefront",
    "service/streaming/syslog",
    "sg-0web",
    "sg-0checkoutlb",
    "sg-0gateway",
    "sg-0publicalb",
    "sg-0storefront",
    "sg-0syslog",
    "sg-0backend",
];

fn finding<'v>(v: &'v Value, id: &str, resource: &str) -> &'v Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id && f["resource"] == resource)
        .unwrap_or_else(|| panic!("no {id} on {resource}"))
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn demo_lists_every_planted_problem_and_nothing_on_healthy_ones() {
    let (_, v) = demo_json();
    assert_eq!(v["schema"], "lbsg.audit/v1");
    assert_eq!(v["cluster"], "demo");
    let got: BTreeSet<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = PLANTED
        .iter()
        .map(|(i, r, s)| (i.to_string(), r.to_string(), s.to_string()))
        .collect();
    assert_eq!(got, want, "planted problems (missing or extra findings)");
    for f in v["findings"].as_array().unwrap() {
        let r = f["resource"].as_str().unwrap();
        assert!(!HEALTHY.contains(&r), "false positive on healthy {r}: {f}");
    }

    // the specifics the README asks for
    let d07 = finding(&v, "D07", "service/billing/invoices");
    let objects = texts(&d07["objects"]);
    for o in ["sg-0invoiceslb", "sg-0nodes"] {
        assert!(objects.contains(&o.to_string()), "{objects:?}");
    }
    let evidence = texts(&d07["evidence"]).join("\n");
    assert!(
        evidence.contains("sg-0invoiceslb or sg-0backend on tcp/30643"),
        "{evidence}"
    );
    assert!(evidence.contains("Target.FailedHealthChecks"), "{evidence}");
    assert_eq!(
        d07["remedy"]["command"],
        "lbsg apply service/billing/invoices --set service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules=true"
    );
    let d04 = texts(&finding(&v, "D04", "service/batch/report-api")["evidence"]).join("\n");
    assert!(d04.contains(
        "expected exactly one securityGroup tagged with kubernetes.io/cluster/demo for eni eni-0node3, got: [sg-0batchnodes sg-0ekscluster] (clusterName: demo)"
    ));
    assert!(d04.contains("FailedNetworkReconcile"), "{d04}");
    let d14 = finding(&v, "D14", "service/search/search-api");
    assert!(texts(&d14["evidence"]).join("\n").contains(
        "Failed build model due to couldn't find all security groups: requested names [search-frontend] but found []"
    ));
    assert!(
        d14["remedy"]["command"]
            .as_str()
            .unwrap()
            .ends_with("=sg-0searchfe")
    );
    let d19 = finding(&v, "D19", "service/internal-tools/grafana");
    assert!(
        d19["remedy"]["command"]
            .as_str()
            .unwrap()
            .contains("load-balancer-source-ranges=10.0.0.0/16")
    );
    let d11 = texts(&finding(&v, "D11", "service/partners/partner-api")["evidence"]).join("\n");
    assert!(d11.contains("56 of 60 IPv4"), "{d11}");
    let d23 = texts(&finding(&v, "D23", "service/legacy/old-gateway")["evidence"]).join("\n");
    assert!(
        d23.contains("10.0.0.0/19, 10.0.32.0/19, 10.0.64.0/19"),
        "{d23}"
    );
}

#[test]
fn demo_exposure_per_listener() {
    let (_, v) = demo_json();
    let lines = v["exposure"].as_array().unwrap();
    let line = |resource: &str, listener: &str| {
        lines
            .iter()
            .find(|l| l["resource"] == resource && l["listener"] == listener)
            .unwrap_or_else(|| panic!("no exposure line {resource} {listener}"))
    };
    let web = line("service/default/web", "tcp/443");
    assert_eq!(web["scheme"], "internet-facing");
    assert_eq!(texts(&web["sources"]), ["0.0.0.0/0"]);
    assert_eq!(web["internet"], true);
    assert_eq!(web["targets"]["reachable"], 2);
    assert_eq!(web["targets"]["blocked"], 0);
    assert_eq!(texts(&web["targets"]["ports"]), ["tcp/31443"]);
    let gw = line("service/edge/gateway", "tcp/443");
    assert_eq!(texts(&gw["sources"]), ["0.0.0.0/0", "::/0"]);
    let invoices = line("service/billing/invoices", "tcp/443");
    assert_eq!(invoices["targets"]["blocked"], 2);
    // SG-less NLBs preserving client IPs: the node SG's client ranges, plus the LB subnets its
    // health-check rules admit (D23)
    let jenkins = line("service/ops/jenkins", "tcp/80");
    assert!(texts(&jenkins["sources"]).contains(&"198.51.100.0/24".to_string()));
    assert_eq!(jenkins["internet"], false);
    let old = line("service/legacy/old-gateway", "tcp/80");
    assert!(texts(&old["sources"]).contains(&"203.0.113.0/24".to_string()));
    // an IngressGroup's listeners are every member's exposure
    for member in ["ingress/portal/portal-web", "ingress/accounts/accounts-api"] {
        assert_eq!(line(member, "https/8443")["targets"]["reachable"], 4);
    }
    let grafana = line("service/internal-tools/grafana", "tcp/80");
    assert_eq!(
        (grafana["scheme"].as_str(), grafana["internet"].as_bool()),
        (Some("internal"), Some(false))
    );
    let syslog = line("service/streaming/syslog", "udp/514");
    assert_eq!(texts(&syslog["targets"]["ports"]), ["udp/5514"]);
}

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(
        lbsg(&["audit", "--demo", "--fail-on", "critical"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        lbsg(&["audit", "--demo", "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        lbsg(&["audit", "--demo", "--fail-on", "low"]).status.code(),
        Some(1)
    );
    let missing = lbsg(&["audit", "--world", "/nonexistent/world.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty(), "errors go to stderr only");
    assert!(!missing.stderr.is_empty());
}

#[test]
fn every_format_renders_the_same_findings() {
    let sarif = lbsg(&["audit", "--demo", "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), PLANTED.len());
    assert!(results.iter().all(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "assets/demo/world.yaml"
    ));

    let table = String::from_utf8(lbsg(&["audit", "--demo"]).stdout).unwrap();
    assert!(
        table.starts_with("lbsg audit of cluster demo: 10 findings (3 high, 2 medium, 5 low)"),
        "{table}"
    );
    let md = String::from_utf8(lbsg(&["audit", "--demo", "--format", "markdown"]).stdout).unwrap();
    for (id, resource, _) in PLANTED {
        assert!(table.contains(resource) && table.contains(id));
        assert!(
            md.contains(&format!("## {id} `{resource}`")),
            "{id} {resource}"
        );
    }
}

#[test]
fn namespace_scope_narrows_the_report() {
    let out = lbsg(&["audit", "--demo", "--format", "json", "-n", "billing"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["D07"]);
    assert!(
        v["exposure"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["resource"] == "service/billing/invoices")
    );
}

#[test]
fn every_remedy_edit_of_the_demo_plans_without_errors() {
    let world = lbsg::world::file::load_str(lbsg::cli::source::DEMO_WORLD, "demo").unwrap();
    let report = lbsg::core::audit::audit(&world);
    let mut planned = 0;
    for f in &report.findings {
        let Some(edit) = f.remedy.as_ref().and_then(|r| r.edit.as_ref()) else {
            continue;
        };
        let plan = lbsg::core::plan::plan(&world, edit)
            .unwrap_or_else(|e| panic!("{} {}: {e}", f.id, f.resource));
        assert!(
            plan.errors.is_empty(),
            "{} {}: {:?}",
            f.id,
            f.resource,
            plan.errors
        );
        assert!(
            !plan.changes.is_empty(),
            "{} {}: empty plan",
            f.id,
            f.resource
        );
        planned += 1;
    }
    assert_eq!(planned, 3, "D07, D14 and D19 carry edits");
}
