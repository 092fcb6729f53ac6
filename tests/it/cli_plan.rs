//! `lbsg plan` / `lbsg apply` through the real binary, on the demo world and on world files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn lbsg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsg"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run lbsg")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const MANAGE: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";

#[test]
fn plan_custom_sg_without_backend_rules_attaches_the_backend_sg() {
    let o = lbsg(&[
        "plan",
        "svc/billing/invoices",
        "--demo",
        "--set",
        &format!("{MANAGE}=true"),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("~ service/billing/invoices  [by you]"),
        "{out}"
    );
    assert!(out.contains("merge patch at resourceVersion"), "{out}");
    assert!(
        out.contains("security groups: [sg-0invoiceslb] → [sg-0invoiceslb, sg-0backend]"),
        "{out}"
    );
    assert!(out.contains("[by the LBC]"), "{out}");
}

#[test]
fn plan_internal_nlb_narrowed_to_the_vpc() {
    let o = lbsg(&[
        "plan",
        "svc/internal-tools/grafana",
        "--demo",
        "--set",
        "service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.0/8",
    ]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(out.contains("+ inbound tcp 80 from 10.0.0.0/8"), "{out}");
    assert!(out.contains("- inbound tcp 80 from 0.0.0.0/0"), "{out}");
    assert!(out.contains("narrows exposure"), "{out}");
}

#[test]
fn plan_json_is_machine_readable() {
    let o = lbsg(&[
        "plan",
        "svc/internal-tools/grafana",
        "--demo",
        "--format",
        "json",
        "--set",
        "service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.0/8",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let actions: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["patch_annotations", "authorize_ingress", "revoke_ingress"]
    );
}

#[test]
fn plan_on_a_legacy_nlb_says_sgs_cannot_be_added() {
    let o = lbsg(&[
        "plan",
        "svc/legacy/old-gateway",
        "--demo",
        "--set",
        "service.beta.kubernetes.io/aws-load-balancer-security-groups=sg-0checkoutlb",
    ]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        out.contains("created without security groups and can never gain any"),
        "{out}"
    );
    assert!(out.contains("0 AWS changes"), "{out}");
}

#[test]
fn invalid_edits_exit_2_and_name_the_value() {
    for (args, needle) in [
        (
            vec![
                "plan",
                "svc/default/web",
                "--demo",
                "--set",
                "service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.1/8",
            ],
            "host bits",
        ),
        (
            vec![
                "plan",
                "svc/default/web",
                "--demo",
                "--set",
                "alb.ingress.kubernetes.io/inbound-cidrs=10.0.0.0/8",
            ],
            "other object kind",
        ),
        (
            vec!["plan", "svc/default/nope", "--demo", "--set", "a=b"],
            "not in this world",
        ),
        (
            vec![
                "plan",
                "sg-0web",
                "--demo",
                "--add-rule",
                "tcp:22:10.0.0.0/8",
            ],
            "managed by the LBC",
        ),
        (
            vec![
                "plan",
                "sg-0nodes",
                "--demo",
                "--add-rule",
                "tcp:99999:10.0.0.0/8",
            ],
            "99999",
        ),
        (
            vec![
                "plan",
                "svc/default/web",
                "--demo",
                "--set",
                "service.beta.kubernetes.io/aws-load-balancer-security-groups=no-such-name",
            ],
            "Name tag",
        ),
        (
            // The LBC's own managed SG of a Service: named, it would be deleted while in use.
            vec![
                "plan",
                "svc/default/web",
                "--demo",
                "--set",
                "service.beta.kubernetes.io/aws-load-balancer-security-groups=sg-0web",
            ],
            "the LBC manages for a load balancer",
        ),
    ] {
        let o = lbsg(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

fn demo_copy(dir: &Path) -> PathBuf {
    let p = dir.join("world.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/world.yaml"),
        &p,
    )
    .unwrap();
    p
}

#[test]
fn apply_without_consent_or_under_readonly_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_copy(dir.path());
    let before = std::fs::read(&p).unwrap();
    let w = p.to_str().unwrap();
    let set = format!("{MANAGE}=true");
    let declined = lbsg(&["apply", "svc/billing/invoices", "--world", w, "--set", &set]);
    assert_eq!(declined.status.code(), Some(1), "{}", text(&declined).1);
    let refused = lbsg(&[
        "apply",
        "svc/billing/invoices",
        "--world",
        w,
        "--readonly",
        "--yes",
        "--set",
        &set,
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).1.contains("--readonly"));
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "the file must be byte-identical"
    );
    assert!(!dir.path().join("world.yaml.bak").exists());
}

#[test]
fn apply_rewrites_the_world_file_atomically_and_leaves_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_copy(dir.path());
    let before = std::fs::read(&p).unwrap();
    let w = p.to_str().unwrap();
    let o = lbsg(&[
        "apply",
        "svc/billing/invoices",
        "--world",
        w,
        "--yes",
        "--set",
        &format!("{MANAGE}=true"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    assert_eq!(
        std::fs::read(dir.path().join("world.yaml.bak")).unwrap(),
        before
    );
    let after = lbsg::world::file::load_path(&p).unwrap();
    let svc =
        &after.kube.services.as_ref().unwrap()[&lbsg::world::ObjKey::new("billing", "invoices")];
    assert_eq!(
        svc.meta.annotations.get(MANAGE).map(String::as_str),
        Some("true")
    );
    let lb = after
        .aws
        .load_balancers
        .as_ref()
        .unwrap()
        .values()
        .find(|lb| lb.name.starts_with("k8s-billing-invoices"))
        .unwrap();
    assert_eq!(lb.security_groups, ["sg-0invoiceslb", "sg-0backend"]);
    // The same edit again: the annotation is already there and the LBC has nothing left to do.
    let again = lbsg(&[
        "plan",
        "svc/billing/invoices",
        "--world",
        w,
        "--format",
        "json",
        "--set",
        &format!("{MANAGE}=true"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let aws_changes = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "patch_annotations")
        .count();
    assert_eq!(aws_changes, 0, "{v}");
}

/// The demo's AWS side is what the LBC would have built: its drift holds no change, only the
/// two planted build/binding errors the LBC itself would hit.
#[test]
fn demo_world_has_no_drift_only_its_planted_errors() {
    let w = lbsg::world::file::load_str(lbsg::cli::source::DEMO_WORLD, "demo").unwrap();
    let d = lbsg::core::plan::drift(&w);
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
    let errs: Vec<&str> = d.errors.iter().map(|e| e.resource.as_str()).collect();
    assert_eq!(
        errs,
        [
            "service/batch/report-api batch/report-api:80",
            "service/search/search-api"
        ]
    );
}
