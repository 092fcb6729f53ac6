//! Every world file saves and reads back equal; known-vs-unknown sections, paging, the
//! controller's sources, atomic saves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lbsg::world::file::{load_path, load_str, save_path_atomic, save_string};
use lbsg::world::*;

use crate::world_file::{WORLDS, load, s, tags};

/// World files to round-trip: every one under tests/worlds/ and the demo world when present.
fn world_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(WORLDS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir("assets/demo") {
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        }));
    }
    files.sort();
    files
}

#[test]
fn every_world_file_round_trips() {
    let files = world_files();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let first = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let saved = save_string(&first);
        let second = load_str(&saved, "saved")
            .unwrap_or_else(|e| panic!("{}: {e}\n{saved}", path.display()));
        assert_eq!(first, second, "{}", path.display());
        assert_eq!(
            save_string(&second),
            saved,
            "{}: saving is deterministic",
            path.display()
        );
    }
}

#[test]
fn absent_is_unknown_and_present_but_empty_is_known() {
    let w = load("minimal.yaml");
    assert_eq!(w, World::default());

    let w = load("world.json");
    assert_eq!(w.aws.subnets, Some(BTreeMap::new()));
    assert_eq!(w.aws.security_groups, None);
    assert_eq!(w.aws.enis, None);
    assert_eq!(w.aws.load_balancers, Some(BTreeMap::new()));
    assert_eq!(w.aws.target_health, Some(BTreeMap::new()));
    assert_eq!(w.kube.nodes.as_ref().map(BTreeMap::len), Some(1));
    // Only Nodes were in the dump: Services are unknown, not absent.
    assert_eq!(w.kube.services, None);
    assert!(
        !w.kube
            .nodes
            .as_ref()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .ready
    );
    let inst = &w.aws.instances.as_ref().unwrap()["i-0ccc0000000000001"];
    assert_eq!(inst.private_dns_name.as_deref(), Some(""));
    assert!(
        !w.controller
            .as_ref()
            .unwrap()
            .feature_gates
            .enabled("NLBSecurityGroup")
    );

    // `kubernetes.kinds` says which kinds were listed in full, so none of them means none exist.
    let w = load("paged-and-partial.yaml");
    assert_eq!(w.kube.pods, Some(BTreeMap::new()));
    assert_eq!(w.kube.services.as_ref().map(BTreeMap::len), Some(1));
    assert_eq!(w.kube.nodes, None);
    assert_eq!(w.aws.enis, Some(BTreeMap::new()));

    let err = load_str(
        "apiVersion: lbsg/v1\nkind: World\nkubernetes:\n  kinds: [Sevrice]\n",
        "x",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("x:4:11: kubernetes.kinds[0]: expected one of the kinds"),
        "{err}"
    );
    let err = load_str("", "empty.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("empty.yaml:1:1: the file is empty"),
        "{err}"
    );
}

#[test]
fn pages_controller_deployment_and_v1alpha1_bindings() {
    let w = load("paged-and-partial.yaml");
    assert_eq!(w.cluster.account.as_deref(), Some("444455556666"));
    assert_eq!(w.cluster.name.as_deref(), Some("prod-east"));

    // Pages are concatenated; rule details from two pages of DescribeSecurityGroupRules.
    let sgs = w.aws.security_groups.as_ref().unwrap();
    assert_eq!(sgs.len(), 2);
    let nodes = &sgs["sg-0aaa0000000000001"];
    let sources: Vec<&Source> = nodes.ingress.iter().map(|r| &r.rule.source).collect();
    assert_eq!(
        sources,
        [
            &Source::Group(s("sg-0aaa0000000000002")),
            &Source::Group(s("sg-0aaa0000000000003")),
            &Source::Cidr(s("10.10.0.0/16")),
            &Source::CidrV6(s("2600:1f18:aaaa::/56")),
        ]
    );
    assert_eq!(nodes.ingress[0].rule.description, "from the LB");
    let managed = &sgs["sg-0aaa0000000000002"];
    assert_eq!(
        managed.ingress[1].id.as_deref(),
        Some("sgr-0bbb0000000000001")
    );
    assert_eq!(managed.ingress[1].rule.source, Source::CidrV6(s("::/0")));
    assert_eq!(managed.ingress[0].id, None);
    assert_eq!(managed.ingress[2].rule.protocol, "icmpv6");
    assert_eq!(
        (
            managed.ingress[2].rule.from_port,
            managed.ingress[2].rule.to_port
        ),
        (Some(-1), Some(-1))
    );
    assert_eq!(
        managed.egress[0].id.as_deref(),
        Some("sgr-0bbb0000000000002")
    );

    let arn =
        "arn:aws:elasticloadbalancing:us-east-1:444455556666:targetgroup/api/0000000000000abc";
    let health = &w.aws.target_health.as_ref().unwrap()[arn];
    assert_eq!(
        health.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
        ["initial", "draining"]
    );

    // The container named after the LBC, not the first one.
    let c = w.controller.as_ref().unwrap();
    assert_eq!(c.cluster_name, "prod-east");
    assert!(!c.enable_backend_security_group);
    assert!(c.disable_restricted_sg_rules);
    assert_eq!(c.default_target_type, "ip");

    let tgb = &w.kube.target_group_bindings.as_ref().unwrap()[&ObjKey::new("prod", "api-tgb")];
    assert_eq!(tgb.service_port, IntOrString::Str(s("grpc")));
    let rule = &tgb.networking.as_ref().unwrap()[0];
    assert_eq!(
        rule.from,
        [
            NetworkingPeer::SecurityGroup(s("sg-0aaa0000000000002")),
            NetworkingPeer::Empty
        ]
    );
    assert_eq!(rule.ports[0].port, Some(IntOrString::Str(s("grpc"))));
    assert_eq!(
        rule.ports[1],
        NetworkingPort {
            protocol: Some(s("UDP")),
            port: None
        }
    );
}

#[test]
fn controller_args_and_deployment_exclude_each_other() {
    let text = "apiVersion: lbsg/v1\nkind: World\ncontroller:\n  args: [--cluster-name=a]\n  deployment: {apiVersion: apps/v1, kind: Deployment}\n";
    let err = load_str(text, "w").unwrap_err().to_string();
    assert!(
        err.starts_with("w:5:15: controller.deployment: give either"),
        "{err}"
    );
    let text = "apiVersion: lbsg/v1\nkind: World\ncluster: {name: explicit}\ncontroller:\n  args: [--cluster-name=from-args]\n";
    let w = load_str(text, "w").unwrap();
    assert_eq!(w.cluster.name.as_deref(), Some("explicit"));
    assert_eq!(w.controller.unwrap().cluster_name, "from-args");
    let w = load_str("apiVersion: lbsg/v1\nkind: World\ncontroller: {}\n", "w").unwrap();
    assert_eq!(
        w.controller,
        Some(ControllerConfig::default()),
        "present but empty: LBC defaults"
    );
}

/// A world built in code, using values no fixture has, saves and reads back equal.
#[test]
fn a_built_world_round_trips() {
    let meta = |ns: &str, name: &str| Meta {
        namespace: s(ns),
        name: s(name),
        uid: s("u-1"),
        resource_version: s("7"),
        annotations: [
            (s("a/b"), s("true")),
            (s("multi"), s("line one\nline two\n")),
            (s("empty"), s("")),
        ]
        .into(),
        labels: [(s("n"), s("080"))].into(),
        finalizers: vec![s("f")],
        deleting: true,
        annotation_managers: [
            (s("a/b"), vec![s("argocd"), s("helm")]),
            (s("multi"), vec![s("helm")]),
        ]
        .into(),
    };
    let mut w = World {
        cluster: ClusterInfo {
            name: Some(s("c")),
            region: None,
            vpc_id: Some(s("vpc-1")),
            account: Some(s("000011112222")),
        },
        ..World::default()
    };
    let mut cfg = ControllerConfig::from_args(&[s("--cluster-name=c")]).unwrap();
    // Values that did not come from the args (an edit) are written as extra args.
    cfg.enable_manage_backend_security_group_rules = true;
    cfg.feature_gates.0.insert(s("NLBSecurityGroup"), false);
    cfg.default_tags = tags(&[("k", "v")]);
    cfg.origins.insert(
        s("enable-manage-backend-security-group-rules"),
        Origin::Args,
    );
    cfg.origins.insert(s("feature-gates"), Origin::Args);
    cfg.origins.insert(s("default-tags"), Origin::Args);
    w.controller = Some(cfg);

    let svc = Service {
        meta: meta("ns", "svc"),
        spec: ServiceSpec {
            type_: s("NodePort"),
            ports: vec![ServicePort {
                name: None,
                protocol: None,
                port: 0,
                target_port: Some(IntOrString::Str(s("8080"))),
                node_port: None,
            }],
            ..ServiceSpec::default()
        },
        lb_hostnames: vec![s("10.0.0.1"), s("lb.example.com")],
    };
    w.kube.services = Some([(svc.meta.key(), svc)].into());
    w.kube.ingresses = Some(BTreeMap::new());
    w.kube.events = Some(vec![Event {
        meta: meta("ns", "e"),
        count: 3,
        ..Event::default()
    }]);
    let tgb = TargetGroupBinding {
        meta: meta("ns", "t"),
        service_name: s("svc"),
        service_port: IntOrString::Int(80),
        networking: Some(vec![]),
        node_selector: tags(&[("role", "edge")]),
        ..TargetGroupBinding::default()
    };
    w.kube.target_group_bindings = Some([(tgb.meta.key(), tgb)].into());

    let rule =
        |protocol: &str, from: Option<i32>, to: Option<i32>, source: Source, d: &str| SgRule {
            rule: Rule {
                protocol: s(protocol),
                from_port: from,
                to_port: to,
                source,
                description: s(d),
            },
            id: None,
            tags: Tags::new(),
        };
    let mut tagged = rule("tcp", Some(80), Some(80), Source::Cidr(s("10.0.0.0/8")), "");
    tagged.tags = tags(&[("only", "tags")]);
    let mut with_id = rule(
        "tcp",
        Some(80),
        Some(80),
        Source::Cidr(s("10.0.0.0/8")),
        "same identity",
    );
    with_id.id = Some(s("sgr-2"));
    let sg = SecurityGroup {
        id: s("sg-1"),
        ingress: vec![
            rule(
                "tcp",
                Some(80),
                Some(80),
                Source::Group(s("sg-2")),
                "group first",
            ),
            rule(
                "tcp",
                Some(80),
                Some(80),
                Source::Cidr(s("10.1.0.0/16")),
                "",
            ),
            rule("50", None, None, Source::None, ""),
            tagged,
            with_id,
            rule("-1", None, None, Source::PrefixList(s("pl-1")), ""),
        ],
        ..SecurityGroup::default()
    };
    w.aws.security_groups = Some([(s("sg-1"), sg)].into());
    w.aws.vpcs = Some(vec![
        Vpc {
            id: s("vpc-1"),
            ..Vpc::default()
        },
        Vpc {
            id: s("vpc-0"),
            ..Vpc::default()
        },
    ]);
    w.aws.enis = Some(
        [(
            s("eni-1"),
            NetworkInterface {
                id: s("eni-1"),
                attachment: Some(EniAttachment::default()),
                ..NetworkInterface::default()
            },
        )]
        .into(),
    );
    w.aws.prefix_lists = Some(
        [(
            s("pl-1"),
            PrefixList {
                id: s("pl-1"),
                entries: Some(vec![]),
                ..PrefixList::default()
            },
        )]
        .into(),
    );
    let lb = LoadBalancer {
        arn: s("arn:lb"),
        attributes: Some(BTreeMap::new()),
        tags: tags(&[("x", "y")]),
        ..LoadBalancer::default()
    };
    w.aws.load_balancers = Some([(s("arn:lb"), lb)].into());
    let listener = Listener {
        arn: s("arn:l"),
        load_balancer_arn: s("arn:lb"),
        ..Listener::default()
    };
    w.aws.listeners = Some([(s("arn:l"), listener)].into());

    let saved = save_string(&w);
    let mut back = load_str(&saved, "saved").unwrap_or_else(|e| panic!("{e}\n{saved}"));
    // The edited values come back as the args that say them.
    let cfg = back.controller.as_mut().unwrap();
    assert_eq!(
        cfg.args,
        [
            "--cluster-name=c",
            "--enable-manage-backend-security-group-rules=true",
            "--default-tags=k=v",
            "--feature-gates=NLBSecurityGroup=false"
        ]
    );
    cfg.args.truncate(1);
    assert_eq!(back, w, "{saved}");
}

#[test]
fn saving_is_atomic_and_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.yaml");
    let first = load("world.json");
    save_path_atomic(&first, &path).unwrap();
    assert!(
        !dir.path().join("world.yaml.bak").exists(),
        "nothing to keep yet"
    );
    let second = load("paged-and-partial.yaml");
    save_path_atomic(&second, &path).unwrap();
    assert_eq!(load_path(&path).unwrap(), second);
    assert_eq!(
        load_path(&dir.path().join("world.yaml.bak")).unwrap(),
        first
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left behind: {names:?}");
}

#[test]
fn the_kubernetes_section_takes_a_list_an_object_or_a_sequence() {
    let svc = "{apiVersion: v1, kind: Service, metadata: {name: a}}";
    let head = "apiVersion: lbsg/v1\nkind: World\nkubernetes:";
    for body in [
        format!(" {{apiVersion: v1, kind: List, kinds: [Pod], items: [{svc}]}}"),
        format!(" {svc}\n"),
        format!(" [{svc}, {{apiVersion: v1, kind: ServiceList, items: []}}]\n"),
    ] {
        let w = load_str(&format!("{head}{body}"), "w").unwrap_or_else(|e| panic!("{body}: {e}"));
        let services = w.kube.services.unwrap();
        assert_eq!(
            services.keys().next(),
            Some(&ObjKey::new("default", "a")),
            "{body}"
        );
    }
    let w = load_str(&format!("{head} {{}}\n"), "w").unwrap();
    assert_eq!(w.kube, KubeSide::default(), "nothing listed: nothing known");
    let err = load_str(&format!("{head} [{{metadata: {{name: a}}}}]\n"), "w").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("w:3:14: kubernetes[0].kind: missing required field `kind`"),
        "{err}"
    );
}

#[test]
fn a_deployment_with_the_charts_name_is_the_controller_even_with_a_renamed_container() {
    let text = "apiVersion: lbsg/v1\nkind: World\nkubernetes:\n  items:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: other, namespace: x}\n    spec: {template: {spec: {containers: [{name: c, image: x, args: [--cluster-name=wrong]}]}}}\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: aws-load-balancer-controller, namespace: kube-system}\n    spec: {template: {spec: {containers: [{name: controller, image: registry.internal/alb:v2.8.1, args: [--cluster-name=mirror]}]}}}\n";
    let w = load_str(text, "w").unwrap();
    assert_eq!(w.controller.unwrap().cluster_name, "mirror");
    assert_eq!(w.cluster.name.as_deref(), Some("mirror"));
}
