//! The sink against moto: a plan with every AWS change kind is applied and checked with
//! describes; a stale plan and read-only mode change nothing; a failure mid-plan is reported.

// Test helpers: a failed load should panic the test that called it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use lbsg::core::plan::{Change, ChangeKind, Owner, Plan, Risk};
use lbsg::infra::aws::{LoadOptions, Op, SinkError, apply_plan, load_base};
use lbsg::world::{Rule, Source, Tags, World};

use crate::aws_common::{Env, env};
use crate::aws_seed::{Seeded, cidr, perm, seed};

fn plan(kinds: Vec<ChangeKind>) -> Plan {
    Plan {
        changes: kinds
            .into_iter()
            .map(|kind| Change {
                kind,
                owner: Owner::User,
                risk: Risk::Widened,
                stack: Some("default/web".into()),
                pending: false,
            })
            .collect(),
        ..Default::default()
    }
}

fn tcp(port: i32, src: &str) -> Rule {
    Rule::new("tcp", port, port, Source::parse_token(src), "")
}

async fn load(env: &Env, s: &Seeded) -> World {
    let opts = LoadOptions {
        vpc_id: Some(s.vpc.clone()),
        ..Default::default()
    };
    load_base(&env.aws, &opts).await.unwrap()
}

/// The inbound rules of a group as AWS has them now.
async fn ingress(env: &Env, sg: &str) -> BTreeSet<(String, Option<i32>, Option<i32>, Source)> {
    let w = load_base(&env.aws, &LoadOptions::default()).await.unwrap();
    w.aws.security_groups.unwrap()[sg]
        .ingress
        .iter()
        .map(|r| {
            (
                r.rule.protocol.clone(),
                r.rule.from_port,
                r.rule.to_port,
                r.rule.source.clone(),
            )
        })
        .collect()
}

fn key(r: &Rule) -> (String, Option<i32>, Option<i32>, Source) {
    (r.protocol.clone(), r.from_port, r.to_port, r.source.clone())
}

#[tokio::test]
async fn aws_apply_makes_every_change_kind() {
    let Some(env) = env("aws_apply_makes_every_change_kind").await else {
        return;
    };
    let s = seed(&env).await;
    let world = load(&env, &s).await;
    env.recorder.take();
    let new = "$new:k8s-default-web2".to_string();
    let node_rule = Rule::new(
        "tcp",
        31000,
        31000,
        Source::Group(new.clone()),
        "elbv2.k8s.aws/targetGroupBinding=shared",
    );
    let p = plan(vec![
        ChangeKind::CreateSecurityGroup {
            id: new.clone(),
            name: "k8s-default-web2".into(),
            description: "[k8s] Managed SecurityGroup for LoadBalancer".into(),
            vpc_id: Some(s.vpc.clone()),
            tags: Tags::from([
                ("elbv2.k8s.aws/cluster".to_string(), "demo".to_string()),
                (
                    "service.k8s.aws/stack".to_string(),
                    "default/web2".to_string(),
                ),
            ]),
        },
        ChangeKind::AuthorizeIngress {
            sg: new.clone(),
            rules: vec![tcp(443, "0.0.0.0/0"), tcp(443, "::/0")],
        },
        ChangeKind::AuthorizeIngress {
            sg: new.clone(),
            rules: vec![Rule::new(
                "icmp",
                3,
                4,
                Source::Cidr("0.0.0.0/0".into()),
                "pmtu",
            )],
        },
        ChangeKind::AuthorizeIngress {
            sg: s.sg_node.clone(),
            rules: vec![node_rule.clone()],
        },
        ChangeKind::SetSecurityGroups {
            load_balancer: s.nlb.clone(),
            security_groups: vec![new.clone(), s.sg_back.clone()],
            private_link: None,
        },
        ChangeKind::RevokeIngress {
            sg: s.sg_front.clone(),
            rules: vec![
                tcp(80, "0.0.0.0/0"),
                Rule {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    source: Source::Cidr("10.1.0.0/16".into()),
                    description: String::new(),
                },
            ],
            rule_ids: vec![None, None],
        },
        ChangeKind::CreateTags {
            sg: s.sg_front.clone(),
            tags: Tags::from([("reviewed".to_string(), "yes".to_string())]),
        },
        ChangeKind::DeleteTags {
            sg: s.sg_front.clone(),
            keys: vec!["Name".into()],
        },
        ChangeKind::DeleteSecurityGroup {
            sg: s.sg_spare.clone(),
        },
    ]);
    let report = apply_plan(&env.aws, &world, &p, false).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.applied, (0..9).collect::<Vec<_>>());
    let new_id = report.created[&new].clone();
    assert!(new_id.starts_with("sg-"));
    let sent = env.recorder.take();

    // Check with describes.
    let after = load(&env, &s).await;
    let sgs = after.aws.security_groups.as_ref().unwrap();
    let created = &sgs[&new_id];
    assert_eq!(created.name, "k8s-default-web2");
    assert_eq!(created.tags["service.k8s.aws/stack"], "default/web2");
    let got: BTreeSet<_> = created.ingress.iter().map(|r| key(&r.rule)).collect();
    let want: BTreeSet<_> = [
        tcp(443, "0.0.0.0/0"),
        tcp(443, "::/0"),
        Rule::new("icmp", 3, 4, Source::Cidr("0.0.0.0/0".into()), ""),
    ]
    .iter()
    .map(key)
    .collect();
    assert_eq!(got, want);
    let node = &sgs[&s.sg_node];
    assert!(
        node.ingress
            .iter()
            .any(|r| r.rule.source == Source::Group(new_id.clone())
                && r.rule.from_port == Some(31000)
                && r.rule.description == "elbv2.k8s.aws/targetGroupBinding=shared")
    );
    let front = &sgs[&s.sg_front];
    assert_eq!(
        front.ingress.len(),
        4,
        "two of six revoked: {:?}",
        front.ingress
    );
    assert!(
        !front
            .ingress
            .iter()
            .any(|r| r.rule.from_port == Some(80) || r.rule.is_all_traffic())
    );
    assert_eq!(front.tags.get("reviewed").map(String::as_str), Some("yes"));
    assert!(!front.tags.contains_key("Name"));
    assert!(!sgs.contains_key(&s.sg_spare), "spare deleted");
    assert_eq!(
        after.aws.load_balancers.as_ref().unwrap()[&s.nlb].security_groups,
        vec![new_id.clone(), s.sg_back.clone()]
    );
    // Egress was never touched.
    assert!(!sent.iter().any(|a| a.contains("Egress")), "{sent:?}");

    // The apply policy lists exactly what the sink called: the re-describes and every
    // mutation (the inventory test checks the read-only policy the same way).
    let apply_ops: BTreeSet<&str> = Op::apply().map(Op::action).collect();
    let sent_ops: BTreeSet<&str> = sent.iter().map(String::as_str).collect();
    assert_eq!(sent_ops, apply_ops);
    // The two consecutive authorizations of the new SG went out as one batch.
    assert_eq!(
        sent.iter()
            .filter(|a| a.ends_with("AuthorizeSecurityGroupIngress"))
            .count(),
        2,
        "{sent:?}"
    );

    // Applying the rule changes again on the new world is a no-op: idempotent, no mutation.
    let again = plan(vec![
        ChangeKind::AuthorizeIngress {
            sg: new_id.clone(),
            rules: vec![tcp(443, "0.0.0.0/0")],
        },
        ChangeKind::RevokeIngress {
            sg: s.sg_front.clone(),
            rules: vec![tcp(80, "0.0.0.0/0")],
            rule_ids: vec![None],
        },
    ]);
    env.recorder.take();
    let report = apply_plan(&env.aws, &after, &again, false).await.unwrap();
    assert_eq!(report.applied, vec![0, 1]);
    assert!(
        env.recorder.mutating().is_empty(),
        "{:?}",
        env.recorder.mutating()
    );
}

#[tokio::test]
async fn aws_stale_plan_applies_nothing() {
    let Some(env) = env("aws_stale_plan_applies_nothing").await else {
        return;
    };
    let s = seed(&env).await;
    let world = load(&env, &s).await;
    // Someone opens SSH on the frontend SG after the plan was shown.
    env.ec2
        .authorize_security_group_ingress()
        .group_id(&s.sg_front)
        .ip_permissions(
            perm("tcp", Some(22), Some(22))
                .ip_ranges(cidr("0.0.0.0/0", None))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = ingress(&env, &s.sg_front).await;
    env.recorder.take();
    let p = plan(vec![
        ChangeKind::CreateSecurityGroup {
            id: "$new:x".into(),
            name: "x".into(),
            description: "x".into(),
            vpc_id: Some(s.vpc.clone()),
            tags: Tags::new(),
        },
        ChangeKind::AuthorizeIngress {
            sg: s.sg_front.clone(),
            rules: vec![tcp(8443, "0.0.0.0/0")],
        },
    ]);
    let err = apply_plan(&env.aws, &world, &p, false).await.unwrap_err();
    let SinkError::Stale(diffs) = &err else {
        panic!("expected stale, got {err}");
    };
    assert!(
        diffs
            .iter()
            .any(|d| d.contains(&s.sg_front) && d.contains("tcp 22 from 0.0.0.0/0")),
        "{diffs:?}"
    );
    assert!(
        env.recorder.mutating().is_empty(),
        "{:?}",
        env.recorder.mutating()
    );
    assert_eq!(ingress(&env, &s.sg_front).await, before);
    let groups = env
        .ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("x")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(groups.security_groups().is_empty(), "no group was created");
}

#[tokio::test]
async fn aws_readonly_makes_zero_calls() {
    let Some(env) = env("aws_readonly_makes_zero_calls").await else {
        return;
    };
    let s = seed(&env).await;
    let world = load(&env, &s).await;
    env.recorder.take();
    let p = plan(vec![
        ChangeKind::AuthorizeIngress {
            sg: s.sg_front.clone(),
            rules: vec![tcp(8443, "0.0.0.0/0")],
        },
        ChangeKind::DeleteSecurityGroup {
            sg: s.sg_spare.clone(),
        },
    ]);
    let err = apply_plan(&env.aws, &world, &p, true).await.unwrap_err();
    assert_eq!(err, SinkError::Readonly);
    assert!(err.to_string().contains("read-only"));
    assert_eq!(
        env.recorder.take(),
        Vec::<String>::new(),
        "not even a describe"
    );
}

#[tokio::test]
async fn aws_failure_mid_plan_reports_exactly_what_was_applied() {
    let Some(env) = env("aws_failure_mid_plan_reports_exactly_what_was_applied").await else {
        return;
    };
    let s = seed(&env).await;
    let world = load(&env, &s).await;
    let p = plan(vec![
        ChangeKind::AuthorizeIngress {
            sg: s.sg_front.clone(),
            rules: vec![tcp(9000, "10.0.0.0/8")],
        },
        // A group of that name already exists in the VPC: EC2 refuses.
        ChangeKind::CreateSecurityGroup {
            id: "$new:node".into(),
            name: "node".into(),
            description: "dup".into(),
            vpc_id: Some(s.vpc.clone()),
            tags: Tags::new(),
        },
        ChangeKind::RevokeIngress {
            sg: s.sg_front.clone(),
            rules: vec![tcp(80, "0.0.0.0/0")],
            rule_ids: vec![None],
        },
    ]);
    let report = apply_plan(&env.aws, &world, &p, false).await.unwrap();
    assert_eq!(report.applied, vec![0]);
    let (idx, msg) = report.failed.clone().unwrap();
    assert_eq!(idx, 1);
    assert!(
        msg.contains("ec2:CreateSecurityGroup") && msg.contains("InvalidGroup.Duplicate"),
        "{msg}"
    );
    assert_eq!(report.not_attempted, vec![2]);
    let now = ingress(&env, &s.sg_front).await;
    assert!(
        now.contains(&key(&tcp(9000, "10.0.0.0/8"))),
        "change 0 is in AWS"
    );
    assert!(
        now.contains(&key(&tcp(80, "0.0.0.0/0"))),
        "change 2 was not attempted"
    );
}
