//! Sink logic against a fake AWS that fails the ways moto cannot (DependencyViolation, races
//! between the re-describe and the change, a failing call in the middle of a plan).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use futures::executor::block_on;

use super::*;
use crate::core::plan::{Change, Owner, Risk};
use crate::infra::aws::errors::ErrorKind;
use crate::infra::aws::ops::Op;
use crate::world::AwsSide;

#[derive(Default)]
struct Fake {
    sgs: RefCell<BTreeMap<String, SecurityGroup>>,
    lbs: RefCell<BTreeMap<String, LoadBalancer>>,
    /// Rules that exist but were added after the re-describe (invisible to it).
    hidden: RefCell<Vec<(String, Rule)>>,
    /// Rules the re-describe still shows but that are gone.
    ghost: RefCell<Vec<(String, Rule)>>,
    /// Groups the re-describe still shows but that are gone.
    ghost_groups: RefCell<BTreeSet<String>>,
    /// Groups something still uses.
    in_use: BTreeSet<String>,
    /// Calls (by op) that fail with this code.
    fail: BTreeMap<Op, String>,
    calls: RefCell<Vec<String>>,
    next_id: RefCell<u32>,
}

fn err(op: Op, code: &str) -> AwsError {
    AwsError {
        op,
        kind: ErrorKind::Api,
        code: Some(code.to_string()),
        message: format!("fake says {code}"),
        endpoint: "fake".into(),
        region: None,
        credentials: None,
    }
}

impl Fake {
    fn log(&self, op: Op, what: String) -> Result<(), AwsError> {
        self.calls
            .borrow_mut()
            .push(format!("{} {what}", op.name()));
        match self.fail.get(&op) {
            Some(code) => Err(err(op, code)),
            None => Ok(()),
        }
    }

    fn mutations(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| !c.starts_with("Describe"))
            .cloned()
            .collect()
    }
}

fn key(r: &Rule) -> Key {
    match_key(r)
}

impl SinkApi for Fake {
    async fn describe_groups(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, SecurityGroup>, AwsError> {
        self.log(Op::DescribeSecurityGroups, ids.join(","))?;
        let mut out: BTreeMap<String, SecurityGroup> = self
            .sgs
            .borrow()
            .iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (sg, r) in self.hidden.borrow().iter() {
            if let Some(g) = out.get_mut(sg) {
                g.ingress.retain(|e| key(&e.rule) != key(r));
            }
        }
        for (sg, r) in self.ghost.borrow().iter() {
            if let Some(g) = out.get_mut(sg) {
                g.ingress.push(SgRule {
                    rule: r.clone(),
                    id: None,
                    tags: Tags::new(),
                });
            }
        }
        Ok(out)
    }

    async fn describe_load_balancers(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, LoadBalancer>, AwsError> {
        self.log(Op::DescribeLoadBalancers, arns.join(","))?;
        Ok(self
            .lbs
            .borrow()
            .iter()
            .filter(|(a, _)| arns.contains(a))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn create_security_group(
        &self,
        name: &str,
        _d: &str,
        _v: Option<&str>,
        tags: &Tags,
    ) -> Result<String, AwsError> {
        self.log(Op::CreateSecurityGroup, name.to_string())?;
        *self.next_id.borrow_mut() += 1;
        let id = format!("sg-new{}", self.next_id.borrow());
        self.sgs.borrow_mut().insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                name: name.into(),
                tags: tags.clone(),
                ..Default::default()
            },
        );
        Ok(id)
    }

    async fn authorize_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError> {
        self.log(
            Op::AuthorizeSecurityGroupIngress,
            format!("{sg} {}", rules.len()),
        )?;
        let mut sgs = self.sgs.borrow_mut();
        let g = sgs
            .get_mut(sg)
            .ok_or_else(|| err(Op::AuthorizeSecurityGroupIngress, "InvalidGroup.NotFound"))?;
        // Like EC2: one duplicate fails the whole call and adds nothing.
        if rules
            .iter()
            .any(|r| g.ingress.iter().any(|e| key(&e.rule) == key(r)))
        {
            return Err(err(
                Op::AuthorizeSecurityGroupIngress,
                "InvalidPermission.Duplicate",
            ));
        }
        for r in rules {
            g.ingress.push(SgRule {
                rule: r.clone(),
                id: None,
                tags: Tags::new(),
            });
        }
        Ok(())
    }

    async fn revoke_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError> {
        self.log(
            Op::RevokeSecurityGroupIngress,
            format!("{sg} {}", rules.len()),
        )?;
        let mut sgs = self.sgs.borrow_mut();
        let g = sgs
            .get_mut(sg)
            .ok_or_else(|| err(Op::RevokeSecurityGroupIngress, "InvalidGroup.NotFound"))?;
        if !rules
            .iter()
            .all(|r| g.ingress.iter().any(|e| key(&e.rule) == key(r)))
        {
            return Err(err(
                Op::RevokeSecurityGroupIngress,
                "InvalidPermission.NotFound",
            ));
        }
        let gone: BTreeSet<Key> = rules.iter().map(key).collect();
        g.ingress.retain(|e| !gone.contains(&key(&e.rule)));
        Ok(())
    }

    async fn set_security_groups(
        &self,
        lb: &str,
        sgs: &[String],
        _p: Option<&str>,
    ) -> Result<(), AwsError> {
        self.log(Op::SetSecurityGroups, format!("{lb} {}", sgs.join(",")))?;
        if let Some(l) = self.lbs.borrow_mut().get_mut(lb) {
            l.security_groups = sgs.to_vec();
        }
        Ok(())
    }

    async fn create_tags(&self, sg: &str, tags: &Tags) -> Result<(), AwsError> {
        self.log(Op::CreateTags, sg.to_string())?;
        if let Some(g) = self.sgs.borrow_mut().get_mut(sg) {
            g.tags.extend(tags.clone());
        }
        Ok(())
    }

    async fn delete_tags(&self, sg: &str, keys: &[String]) -> Result<(), AwsError> {
        self.log(Op::DeleteTags, sg.to_string())?;
        if let Some(g) = self.sgs.borrow_mut().get_mut(sg) {
            g.tags.retain(|k, _| !keys.contains(k));
        }
        Ok(())
    }

    async fn delete_security_group(&self, sg: &str) -> Result<(), AwsError> {
        self.log(Op::DeleteSecurityGroup, sg.to_string())?;
        if self.in_use.contains(sg) {
            return Err(err(Op::DeleteSecurityGroup, "DependencyViolation"));
        }
        if self.ghost_groups.borrow().contains(sg) || self.sgs.borrow_mut().remove(sg).is_none() {
            return Err(err(Op::DeleteSecurityGroup, "InvalidGroup.NotFound"));
        }
        Ok(())
    }
}

fn tcp(port: i32, src: &str) -> Rule {
    Rule::new("tcp", port, port, Source::parse_token(src), "")
}

fn sg(id: &str, rules: &[Rule]) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: id.into(),
        ingress: rules
            .iter()
            .map(|r| SgRule {
                rule: r.clone(),
                id: None,
                tags: Tags::new(),
            })
            .collect(),
        ..Default::default()
    }
}

const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/web/1";

/// A world and a fake AWS that agree: sg-a (tcp 80 from 10/8), sg-b (empty), one NLB with sg-a.
fn setup() -> (World, Fake) {
    let sgs = BTreeMap::from([
        ("sg-a".to_string(), sg("sg-a", &[tcp(80, "10.0.0.0/8")])),
        ("sg-b".to_string(), sg("sg-b", &[])),
    ]);
    let lbs = BTreeMap::from([(
        LB.to_string(),
        LoadBalancer {
            arn: LB.into(),
            type_: "network".into(),
            security_groups: vec!["sg-a".into()],
            ..Default::default()
        },
    )]);
    let world = World {
        aws: AwsSide {
            security_groups: Some(sgs.clone()),
            load_balancers: Some(lbs.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let fake = Fake {
        sgs: RefCell::new(sgs),
        lbs: RefCell::new(lbs),
        ..Default::default()
    };
    (world, fake)
}

fn plan(kinds: Vec<ChangeKind>) -> Plan {
    Plan {
        changes: kinds
            .into_iter()
            .map(|kind| Change {
                kind,
                owner: Owner::User,
                risk: Risk::Widened,
                stack: None,
                pending: false,
            })
            .collect(),
        ..Default::default()
    }
}

fn authorize(sg: &str, rules: Vec<Rule>) -> ChangeKind {
    ChangeKind::AuthorizeIngress {
        sg: sg.into(),
        rules,
    }
}

fn revoke(sg: &str, rules: Vec<Rule>) -> ChangeKind {
    let rule_ids = vec![None; rules.len()];
    ChangeKind::RevokeIngress {
        sg: sg.into(),
        rules,
        rule_ids,
    }
}

fn create(name: &str) -> ChangeKind {
    ChangeKind::CreateSecurityGroup {
        id: format!("$new:{name}"),
        name: name.into(),
        description: "[k8s] Managed SecurityGroup for LoadBalancer".into(),
        vpc_id: Some("vpc-1".into()),
        tags: Tags::from([("elbv2.k8s.aws/cluster".to_string(), "demo".to_string())]),
    }
}

#[test]
fn readonly_refuses_before_any_call() {
    let (world, fake) = setup();
    let p = plan(vec![authorize("sg-a", vec![tcp(443, "0.0.0.0/0")])]);
    assert_eq!(
        block_on(apply_with(&fake, &world, &p, true)),
        Err(SinkError::Readonly)
    );
    assert!(fake.calls.borrow().is_empty());
}

#[test]
fn a_full_plan_applies_in_order_with_placeholders_mapped() {
    let (world, fake) = setup();
    let p = plan(vec![
        create("k8s-web"),
        authorize("$new:k8s-web", vec![tcp(443, "0.0.0.0/0")]),
        authorize(
            "$new:k8s-web",
            vec![tcp(80, "0.0.0.0/0"), tcp(443, "0.0.0.0/0")],
        ),
        authorize(
            "sg-b",
            vec![Rule::new(
                "tcp",
                8080,
                8080,
                Source::Group("$new:k8s-web".into()),
                "x",
            )],
        ),
        ChangeKind::SetSecurityGroups {
            load_balancer: LB.into(),
            security_groups: vec!["$new:k8s-web".into(), "sg-b".into()],
            private_link: None,
        },
        revoke("sg-a", vec![tcp(80, "10.0.0.0/8")]),
        ChangeKind::CreateTags {
            sg: "sg-a".into(),
            tags: Tags::from([("t".to_string(), "1".to_string())]),
        },
        ChangeKind::DeleteTags {
            sg: "sg-a".into(),
            keys: vec!["t".into()],
        },
    ]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.applied, (0..8).collect::<Vec<_>>());
    assert_eq!(
        report.created,
        BTreeMap::from([("$new:k8s-web".to_string(), "sg-new1".to_string())])
    );
    assert_eq!(
        fake.mutations(),
        vec![
            "CreateSecurityGroup k8s-web",
            // Two consecutive authorizations of one SG are one call, without the repeat.
            "AuthorizeSecurityGroupIngress sg-new1 2",
            "AuthorizeSecurityGroupIngress sg-b 1",
            "SetSecurityGroups arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/web/1 sg-new1,sg-b",
            "RevokeSecurityGroupIngress sg-a 1",
            "CreateTags sg-a",
            "DeleteTags sg-a",
        ]
    );
    let sgs = fake.sgs.borrow();
    assert_eq!(
        sgs["sg-b"].ingress[0].rule.source,
        Source::Group("sg-new1".into())
    );
    assert!(sgs["sg-a"].ingress.is_empty());
    assert_eq!(
        fake.lbs.borrow()[LB].security_groups,
        vec!["sg-new1", "sg-b"]
    );
}

#[test]
fn stale_security_group_aborts_with_nothing_applied() {
    let (world, fake) = setup();
    fake.sgs
        .borrow_mut()
        .get_mut("sg-a")
        .unwrap()
        .ingress
        .push(SgRule {
            rule: tcp(22, "0.0.0.0/0"),
            id: None,
            tags: Tags::new(),
        });
    let p = plan(vec![
        create("x"),
        authorize("sg-a", vec![tcp(443, "0.0.0.0/0")]),
    ]);
    let Err(SinkError::Stale(diffs)) = block_on(apply_with(&fake, &world, &p, false)) else {
        panic!("expected a stale plan");
    };
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(
        diffs[0].contains("sg-a") && diffs[0].contains("added: tcp 22 from 0.0.0.0/0"),
        "{diffs:?}"
    );
    assert!(fake.mutations().is_empty());
}

#[test]
fn stale_load_balancer_or_vanished_group_aborts() {
    let (world, fake) = setup();
    fake.lbs.borrow_mut().get_mut(LB).unwrap().security_groups = vec!["sg-b".into()];
    fake.sgs.borrow_mut().remove("sg-b");
    let p = plan(vec![
        authorize("sg-b", vec![tcp(443, "0.0.0.0/0")]),
        ChangeKind::SetSecurityGroups {
            load_balancer: LB.into(),
            security_groups: vec!["sg-a".into(), "sg-b".into()],
            private_link: None,
        },
    ]);
    let Err(SinkError::Stale(diffs)) = block_on(apply_with(&fake, &world, &p, false)) else {
        panic!("expected a stale plan");
    };
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    assert!(diffs[0].contains("sg-b: no longer exists"), "{diffs:?}");
    assert!(
        diffs[1].contains("security groups changed from [sg-a] to [sg-b]"),
        "{diffs:?}"
    );
    assert!(fake.mutations().is_empty());
}

#[test]
fn rules_already_in_place_cost_no_call() {
    let (world, fake) = setup();
    let p = plan(vec![
        authorize("sg-a", vec![tcp(80, "10.0.0.0/8")]),
        revoke("sg-b", vec![tcp(80, "10.0.0.0/8")]),
    ]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    assert_eq!(report.applied, vec![0, 1]);
    assert!(fake.mutations().is_empty(), "{:?}", fake.mutations());
}

#[test]
fn duplicate_from_a_race_is_success_and_the_rest_is_added() {
    let (world, fake) = setup();
    // tcp 443 appeared after the re-describe: the batch fails as Duplicate, then per rule.
    let raced = tcp(443, "0.0.0.0/0");
    fake.sgs
        .borrow_mut()
        .get_mut("sg-b")
        .unwrap()
        .ingress
        .push(SgRule {
            rule: raced.clone(),
            id: None,
            tags: Tags::new(),
        });
    fake.hidden
        .borrow_mut()
        .push(("sg-b".into(), raced.clone()));
    let p = plan(vec![authorize("sg-b", vec![raced, tcp(8443, "0.0.0.0/0")])]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        fake.mutations(),
        vec![
            "AuthorizeSecurityGroupIngress sg-b 2",
            "AuthorizeSecurityGroupIngress sg-b 1",
            "AuthorizeSecurityGroupIngress sg-b 1",
        ]
    );
    let ports: Vec<_> = fake.sgs.borrow()["sg-b"]
        .ingress
        .iter()
        .map(|r| r.rule.from_port)
        .collect();
    assert_eq!(ports, vec![Some(443), Some(8443)]);
}

#[test]
fn not_found_from_a_race_is_success() {
    let (mut world, fake) = setup();
    // The re-describe shows tcp 22 on sg-a, but it is gone by the time of the revoke.
    let gone = tcp(22, "0.0.0.0/0");
    world
        .aws
        .security_groups
        .as_mut()
        .unwrap()
        .get_mut("sg-a")
        .unwrap()
        .ingress
        .push(SgRule {
            rule: gone.clone(),
            id: None,
            tags: Tags::new(),
        });
    fake.ghost.borrow_mut().push(("sg-a".into(), gone.clone()));
    let p = plan(vec![revoke("sg-a", vec![gone, tcp(80, "10.0.0.0/8")])]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(fake.sgs.borrow()["sg-a"].ingress.is_empty());

    // A group deleted by someone else between the re-describe and the delete: also success.
    let (world, fake) = setup();
    fake.ghost_groups.borrow_mut().insert("sg-b".into());
    let report = block_on(apply_with(
        &fake,
        &world,
        &plan(vec![ChangeKind::DeleteSecurityGroup { sg: "sg-b".into() }]),
        false,
    ))
    .unwrap();
    assert_eq!(report.applied, vec![0]);
}

#[test]
fn a_failure_stops_and_reports_exactly_what_was_applied() {
    let (world, mut fake) = setup();
    fake.fail
        .insert(Op::SetSecurityGroups, "InvalidConfigurationRequest".into());
    let p = plan(vec![
        create("k8s-web"),
        authorize("$new:k8s-web", vec![tcp(443, "0.0.0.0/0")]),
        ChangeKind::PatchAnnotations {
            resource: crate::core::plan::ResourceRef::Service(Default::default()),
            resource_version: "1".into(),
            set: Default::default(),
            unset: vec![],
        },
        ChangeKind::SetSecurityGroups {
            load_balancer: LB.into(),
            security_groups: vec!["$new:k8s-web".into()],
            private_link: Some("off".into()),
        },
        authorize("sg-b", vec![tcp(443, "0.0.0.0/0")]),
        revoke("sg-a", vec![tcp(80, "10.0.0.0/8")]),
    ]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    assert_eq!(report.applied, vec![0, 1]);
    let (idx, msg) = report.failed.clone().unwrap();
    assert_eq!(idx, 3);
    assert!(
        msg.contains("elasticloadbalancing:SetSecurityGroups")
            && msg.contains("InvalidConfigurationRequest"),
        "{msg}"
    );
    assert_eq!(
        report.not_attempted,
        vec![4, 5],
        "the Kubernetes change (2) is not this sink's"
    );
    assert_eq!(report.created["$new:k8s-web"], "sg-new1");
    assert!(
        !fake
            .mutations()
            .iter()
            .any(|c| c.contains("sg-b") || c.contains("sg-a"))
    );
}

#[test]
fn dependency_violation_is_explained() {
    let (world, mut fake) = setup();
    fake.in_use.insert("sg-a".into());
    let p = plan(vec![
        ChangeKind::DeleteSecurityGroup { sg: "sg-a".into() },
        ChangeKind::DeleteSecurityGroup { sg: "sg-b".into() },
    ]);
    let report = block_on(apply_with(&fake, &world, &p, false)).unwrap();
    let (idx, msg) = report.failed.unwrap();
    assert_eq!(idx, 0);
    assert!(
        msg.contains("still in use") && msg.contains("DependencyViolation"),
        "{msg}"
    );
    assert_eq!(report.not_attempted, vec![1]);
    assert!(fake.sgs.borrow().contains_key("sg-b"));
}

#[test]
fn placeholders_must_be_created_first_and_kube_only_plans_make_no_call() {
    let (world, fake) = setup();
    let p = plan(vec![
        authorize("$new:later", vec![tcp(1, "0.0.0.0/0")]),
        create("later"),
    ]);
    assert!(matches!(
        block_on(apply_with(&fake, &world, &p, false)),
        Err(SinkError::Invalid(_))
    ));
    let p = plan(vec![ChangeKind::RecreateRequired {
        load_balancer: LB.into(),
        reason: "no SGs".into(),
    }]);
    assert_eq!(
        block_on(apply_with(&fake, &world, &p, false)),
        Ok(ApplyReport::default())
    );
    assert!(fake.calls.borrow().is_empty());
}
