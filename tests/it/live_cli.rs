//! The real `lbsg` binary in live mode, end to end: the cluster side is the fake kube-apiserver
//! (a kubeconfig points at it), the AWS side is moto behind a counting proxy that also gives
//! each test its own moto account (`moto_proxy`), so these tests run in parallel with every
//! other moto test. Mutations are counted where they would land: the fake's request log and
//! the proxy's.

use std::collections::BTreeMap;

use axum::http::Method;
use lbsg::world::file::load_path;
use lbsg::world::{IntOrString, ObjKey, Source};
use serde_json::{Value, json};

use crate::aws_seed::EXTRA_TGS;
use crate::fake_apiserver::FakeApiServer;
use crate::live_cli_support::*;

const CONTROLLER_ARGS: &[&str] = &[
    "--cluster-name=demo",
    "--ingress-class=alb",
    "--enable-backend-security-group=false",
    "--backend-security-group=sg-0123456789abcdef0",
    "--feature-gates=NLBSecurityGroup=true",
];

fn annotations(obj: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(obj["metadata"]["annotations"].clone()).unwrap_or_default()
}

#[tokio::test]
async fn live_snapshot_no_aws_holds_what_the_cluster_serves() {
    let fake = FakeApiServer::start().await;
    seed_cluster(&fake, CONTROLLER_ARGS);
    let lbsg = Lbsg::new().kube(&fake);
    let out = lbsg.path("cluster.yaml");
    let run = lbsg
        .run(&["snapshot", "--no-aws", "--out", out.to_str().unwrap()])
        .await;
    assert_eq!(run.code, Some(0), "{run}");
    let world = load_path(&out).unwrap_or_else(|e| panic!("{e}\n{run}"));

    // Services: the same names, annotations and ports as the API server holds.
    let services = world.kube.services.as_ref().expect("services are known");
    let keys: Vec<String> = services.keys().map(ToString::to_string).collect();
    assert_eq!(keys, vec!["infra/dns", "shop/web"]);
    for (ns, name) in [("shop", "web"), ("infra", "dns")] {
        let served = fake.get("services", ns, name).unwrap();
        let s = &services[&ObjKey::new(ns, name)];
        assert_eq!(s.meta.annotations, annotations(&served), "{ns}/{name}");
        assert_eq!(s.meta.resource_version, rv(&served));
        assert_eq!(s.spec.type_, "LoadBalancer");
        let ports: Vec<(i32, Option<&str>, Option<i32>)> = s
            .spec
            .ports
            .iter()
            .map(|p| (p.port, p.protocol.as_deref(), p.node_port))
            .collect();
        let served_ports: Vec<(i32, Option<&str>, Option<i32>)> = served["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["port"].as_i64().unwrap() as i32,
                    p["protocol"].as_str(),
                    p["nodePort"].as_i64().map(|n| n as i32),
                )
            })
            .collect();
        assert_eq!(ports, served_ports, "{ns}/{name}");
    }
    let web = &services[&ObjKey::new("shop", "web")];
    assert_eq!(web.spec.ports[0].target_port, Some(IntOrString::Int(8443)));
    assert_eq!(
        web.spec.ports[1].target_port,
        Some(IntOrString::Str("http".into()))
    );

    // The Ingress, the TargetGroupBinding and the Nodes.
    let ingresses = world.kube.ingresses.as_ref().expect("ingresses are known");
    let ing = &ingresses[&ObjKey::new("shop", "front")];
    assert_eq!(
        ing.meta.annotations,
        annotations(&fake.get("ingresses", "shop", "front").unwrap())
    );
    assert_eq!(ing.ingress_class_name.as_deref(), Some("alb"));
    assert_eq!(ing.rules[0].host.as_deref(), Some("shop.example.com"));
    assert_eq!(ing.rules[0].paths[0].backend.service_name, "web");
    let tgbs = world.kube.target_group_bindings.as_ref().unwrap();
    let tgb = &tgbs[&ObjKey::new("shop", "k8s-shop-web-0123")];
    assert_eq!(
        tgb.target_group_arn,
        target_group_binding()["spec"]["targetGroupARN"]
    );
    assert_eq!(tgb.service_name, "web");
    let nodes: Vec<&String> = world.kube.nodes.as_ref().unwrap().keys().collect();
    assert_eq!(nodes, vec!["node-a", "node-b"]);

    // The controller's flags, as its Deployment gives them.
    let c = world.controller.as_ref().expect("controller discovered");
    assert_eq!(c.cluster_name, "demo");
    assert!(!c.enable_backend_security_group);
    assert_eq!(c.backend_security_group, "sg-0123456789abcdef0");
    assert_eq!(c.args, CONTROLLER_ARGS);
    assert_eq!(world.cluster.name.as_deref(), Some("demo"));

    // The AWS side was not read: unknown, not empty.
    assert!(world.aws.security_groups.is_none());
    assert!(world.aws.load_balancers.is_none());
    assert!(fake.mutating_requests().is_empty());
}

fn pages(n: usize, size: usize) -> u64 {
    n.div_ceil(size).max(1) as u64
}

/// `operation calls pages attempts throttled` rows of the `--stats` table.
pub fn stats_table(out: &str) -> BTreeMap<String, [u64; 4]> {
    let mut rows = BTreeMap::new();
    let mut lines = out.lines().skip_while(|l| !l.starts_with("operation"));
    let header: Vec<&str> = lines
        .next()
        .expect("a stats table")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["operation", "calls", "pages", "attempts", "throttled"]
    );
    for l in lines {
        let cols: Vec<&str> = l.split_whitespace().collect();
        if cols.len() != 5 {
            break;
        }
        let n = |i: usize| cols[i].parse::<u64>().unwrap();
        rows.insert(cols[0].to_string(), [n(1), n(2), n(3), n(4)]);
    }
    rows
}

#[tokio::test]
async fn live_snapshot_no_kube_loads_the_account_at_page_arithmetic_cost() {
    let Some((proxy, _)) =
        moto("live_snapshot_no_kube_loads_the_account_at_page_arithmetic_cost").await
    else {
        return;
    };
    let s = seed_through(&proxy).await;

    let lbsg = Lbsg::new().aws(&proxy);
    let out = lbsg.path("account.yaml");
    let run = aws_snapshot(&lbsg, &s.vpc, &out).await;
    assert_eq!(run.code, Some(0), "{run}");

    // The file holds the VPC's resources and nothing of the other VPC.
    let world = load_path(&out).unwrap_or_else(|e| panic!("{e}\n{run}"));
    let a = &world.aws;
    let vpcs: Vec<&str> = a
        .vpcs
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(vpcs, vec![s.vpc.as_str()]);
    let sgs = a.security_groups.as_ref().unwrap();
    for sg in [&s.sg_front, &s.sg_back, &s.sg_node, &s.sg_spare] {
        assert!(sgs.contains_key(sg), "{sg} missing");
    }
    assert!(!sgs.contains_key(&s.sg_other_vpc));
    let front = &sgs[&s.sg_front];
    assert_eq!(front.tags["service.k8s.aws/stack"], "default/web");
    let web_rule = front
        .ingress
        .iter()
        .find(|r| r.rule.source == Source::Cidr("0.0.0.0/0".into()))
        .expect("tcp 80 from anywhere");
    assert_eq!(
        (
            web_rule.rule.protocol.as_str(),
            web_rule.rule.from_port,
            web_rule.rule.description.as_str()
        ),
        ("tcp", Some(80), "web")
    );
    assert!(
        web_rule
            .id
            .as_deref()
            .is_some_and(|i| i.starts_with("sgr-"))
    );
    assert_eq!(front.ingress.len(), 6, "every rule kind seeded");
    let enis = a.enis.as_ref().unwrap();
    for eni in [&s.eni_node, &s.eni_lb, &s.instance_eni] {
        assert!(enis.contains_key(eni), "{eni} missing");
    }
    assert_eq!(enis[&s.eni_node].groups, vec![s.sg_node.clone()]);
    let lbs = a.load_balancers.as_ref().unwrap();
    assert_eq!(
        lbs[&s.nlb].security_groups,
        vec![s.sg_front.clone(), s.sg_back.clone()]
    );
    assert!(lbs[&s.nlb_legacy].security_groups.is_empty());
    assert!(!lbs.contains_key(&s.other_vpc_lb));
    let tgs = a.target_groups.as_ref().unwrap();
    assert_eq!(tgs.len(), 3 + EXTRA_TGS);
    assert!(
        world.kube.services.is_none(),
        "--no-kube: unknown, not empty"
    );

    // The stats table: calls and pages as the page arithmetic says, at the default page sizes
    // (every list fits one page; per-LB and per-TG calls one each; tags 20 ARNs a call).
    let table = stats_table(&run.out);
    let (lbs_in_vpc, tgs_in_vpc) = (3usize, 3 + EXTRA_TGS);
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for op in [
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeInstances",
        "ec2:DescribeManagedPrefixLists",
        "ec2:GetManagedPrefixListEntries",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTargetGroups",
    ] {
        expected.insert(op.into(), (1, 1));
    }
    let per = |n: usize| (n as u64, n as u64);
    expected.insert(
        "elasticloadbalancing:DescribeListeners".into(),
        per(lbs_in_vpc),
    );
    expected.insert(
        "elasticloadbalancing:DescribeLoadBalancerAttributes".into(),
        per(lbs_in_vpc),
    );
    expected.insert(
        "elasticloadbalancing:DescribeTargetHealth".into(),
        per(tgs_in_vpc),
    );
    let tags = pages(lbs_in_vpc + tgs_in_vpc, 20);
    expected.insert("elasticloadbalancing:DescribeTags".into(), (tags, tags));
    let got: BTreeMap<String, (u64, u64)> = table
        .iter()
        .filter(|(k, _)| k.as_str() != "total")
        .map(|(k, v)| (k.clone(), (v[0], v[1])))
        .collect();
    assert_eq!(got, expected, "{run}");

    // The table agrees with what went on the wire, counted independently at the proxy.
    let wire = proxy.counts();
    let attempts: BTreeMap<String, u64> = table
        .iter()
        .filter(|(k, _)| k.as_str() != "total")
        .map(|(k, v)| (k.clone(), v[2]))
        .collect();
    assert_eq!(attempts, wire, "{run}");
    assert!(table.values().all(|v| v[3] == 0), "nothing throttled");
    let total = table["total"];
    assert_eq!(total[1], expected.values().map(|v| v.1).sum::<u64>());
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
}

// ---- plan / apply on an annotation edit ---------------------------------------------------

/// A cluster whose controller names the seeded VPC, and the AWS account holding it.
async fn live_cluster(test: &str) -> Option<(FakeApiServer, crate::moto_proxy::MotoProxy, Lbsg)> {
    let (proxy, ec2) = moto(test).await?;
    let (vpc, _) = seed_vpc(&ec2).await;
    proxy.clear();
    let fake = FakeApiServer::start().await;
    let vpc_arg = format!("--aws-vpc-id={vpc}");
    seed_cluster(&fake, &["--cluster-name=demo", &vpc_arg]);
    let lbsg = Lbsg::new().kube(&fake).aws(&proxy);
    Some((fake, proxy, lbsg))
}

const EDIT: &[&str] = &[
    "svc/shop/web",
    "--set",
    "service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.0/8",
];

fn args<'a>(cmd: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![cmd];
    v.extend_from_slice(EDIT);
    v.extend_from_slice(extra);
    v
}

fn patches(fake: &FakeApiServer) -> Vec<crate::fake_apiserver::Request> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .collect()
}

#[tokio::test]
async fn live_plan_shows_the_patch_at_the_objects_resource_version() {
    let Some((fake, proxy, lbsg)) =
        live_cluster("live_plan_shows_the_patch_at_the_objects_resource_version").await
    else {
        return;
    };
    let run = lbsg.run(&args("plan", &[])).await;
    assert_eq!(run.code, Some(0), "{run}");
    let rv = rv(&fake.get("services", "shop", "web").unwrap());
    assert!(
        run.out
            .contains(&format!("merge patch at resourceVersion {rv}")),
        "{run}"
    );
    assert!(
        run.out
            .contains(&format!("+ {SOURCE_RANGES} = \"10.0.0.0/8\"")),
        "{run}"
    );
    assert!(fake.mutating_requests().is_empty());
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
    assert!(
        !proxy.actions().is_empty(),
        "the AWS side was read through the proxy"
    );
}

#[tokio::test]
async fn live_apply_yes_dry_runs_then_patches_as_lbsg_at_the_planned_version() {
    let Some((fake, proxy, lbsg)) =
        live_cluster("live_apply_yes_dry_runs_then_patches_as_lbsg_at_the_planned_version").await
    else {
        return;
    };
    let planned = rv(&fake.get("services", "shop", "web").unwrap());
    let run = lbsg.run(&args("apply", &["--yes"])).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.err.contains("Applied"), "{run}");

    let p = patches(&fake);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!(
        p[0].query.get("dryRun").map(String::as_str),
        Some("All"),
        "dry run first"
    );
    assert_eq!(p[1].query.get("dryRun"), None, "then the real patch");
    for r in &p {
        assert_eq!(r.path, "/api/v1/namespaces/shop/services/web");
        assert_eq!(
            r.query.get("fieldManager").map(String::as_str),
            Some("lbsg")
        );
        assert_eq!(
            r.body["metadata"]["resourceVersion"],
            json!(planned),
            "precondition"
        );
        assert_eq!(
            r.body["metadata"]["annotations"][SOURCE_RANGES],
            "10.0.0.0/8"
        );
    }
    let now = fake.get("services", "shop", "web").unwrap();
    assert_eq!(annotations(&now)[SOURCE_RANGES], "10.0.0.0/8");
    assert_ne!(rv(&now), planned);
    assert_eq!(fake.mutating_requests().len(), 2, "only the two PATCHes");
    // The LBC's own AWS changes are left to the LBC: lbsg made none.
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
}

#[tokio::test]
async fn live_apply_on_a_stale_version_writes_nothing_and_replans() {
    let Some((fake, proxy, lbsg)) =
        live_cluster("live_apply_on_a_stale_version_writes_nothing_and_replans").await
    else {
        return;
    };
    let planned = rv(&fake.get("services", "shop", "web").unwrap());
    // Another client edits the Service between the plan and the apply: the first request
    // for the object itself (the apply's read before its dry run) comes after the plan.
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
    let run = lbsg.run(&args("apply", &["--yes"])).await;
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.err.contains("changed since the plan"), "{run}");
    let now = fake.get("services", "shop", "web").unwrap();
    let current = rv(&now);
    assert_ne!(current, planned);
    // The plan as first shown, then the plan re-made on the current object.
    let at = |v: &str| format!("merge patch at resourceVersion {v}):");
    assert_eq!(run.out.matches(&at(&planned)).count(), 1, "{run}");
    assert!(run.err.contains("Re-planned"), "{run}");
    assert_eq!(run.out.matches(&at(&current)).count(), 1, "{run}");
    // No write: the one dry run the server refused, no retry, no real PATCH; their edit is
    // intact.
    let p = patches(&fake);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].query.get("dryRun").map(String::as_str), Some("All"));
    assert_eq!(p[0].body["metadata"]["resourceVersion"], json!(planned));
    assert_eq!(annotations(&now)["team"], "payments");
    assert!(!annotations(&now).contains_key(SOURCE_RANGES));
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
}

#[tokio::test]
async fn live_apply_without_yes_or_terminal_and_readonly_send_no_mutation() {
    let Some((fake, proxy, lbsg)) =
        live_cluster("live_apply_without_yes_or_terminal_and_readonly_send_no_mutation").await
    else {
        return;
    };
    let before = fake.get("services", "shop", "web").unwrap();

    // No --yes and stdin is not a terminal: declined, exit 1.
    let run = lbsg.run(&args("apply", &[])).await;
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.err.contains("pass --yes"), "{run}");
    assert!(
        run.out.contains("merge patch at resourceVersion"),
        "the plan was shown: {run}"
    );

    // --readonly: every command that reads still works; apply is refused before any request.
    for cmd in [
        args("plan", &["--readonly"]),
        vec!["snapshot", "--readonly", "--out", "w.yaml"],
    ] {
        let run = lbsg.run(&cmd).await;
        assert_eq!(run.code, Some(0), "{cmd:?}: {run}");
    }
    let reads_before_apply = (fake.requests().len(), proxy.actions().len());
    let run = lbsg.run(&args("apply", &["--readonly", "--yes"])).await;
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.err.contains("--readonly"), "{run}");
    assert_eq!(
        (fake.requests().len(), proxy.actions().len()),
        reads_before_apply,
        "apply --readonly sends no request at all"
    );

    assert!(
        fake.mutating_requests().is_empty(),
        "{:#?}",
        fake.mutating_requests()
    );
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
    assert_eq!(fake.get("services", "shop", "web").unwrap(), before);
}
