//! `lbsg plan|apply sg-… --add-rule/--remove-rule` through the real binary against moto (behind
//! the counting proxy): the rule appears and disappears in EC2's own describe, and nothing is
//! called without consent or under `--readonly`.

use aws_sdk_ec2::types::IpPermission;

use crate::live_cli_support::*;

/// The inbound permissions of `sg` as EC2 describes them.
async fn ingress(ec2: &aws_sdk_ec2::Client, sg: &str) -> Vec<IpPermission> {
    ec2.describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .ip_permissions()
        .to_vec()
}

/// `(protocol, from, to, cidr, description)` of every IPv4 range.
fn v4_rules(perms: &[IpPermission]) -> Vec<(String, i32, i32, String, String)> {
    let mut out: Vec<_> = perms
        .iter()
        .flat_map(|p| {
            p.ip_ranges().iter().map(|r| {
                (
                    p.ip_protocol().unwrap_or_default().to_string(),
                    p.from_port().unwrap_or(-1),
                    p.to_port().unwrap_or(-1),
                    r.cidr_ip().unwrap_or_default().to_string(),
                    r.description().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn live_rule_apply_authorizes_and_revokes_only_with_consent() {
    let Some((proxy, ec2)) = moto("live_rule_apply_authorizes_and_revokes_only_with_consent").await
    else {
        return;
    };
    let (vpc, _) = seed_vpc(&ec2).await;
    let sg = app_sg(&ec2, &vpc).await;
    proxy.clear();
    let lbsg = Lbsg::new().aws(&proxy);
    let run = |verb: &str, edit: &[&str], extra: &[&str]| {
        let mut args = vec![verb, sg.as_str()];
        args.extend_from_slice(edit);
        args.extend_from_slice(&["--no-kube", "--vpc-id", vpc.as_str()]);
        args.extend_from_slice(extra);
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let lbsg = &lbsg;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            lbsg.run(&args).await
        }
    };
    let add = ["--add-rule", "tcp:443:10.0.0.0/8:office"];

    // plan: the rule is shown; nothing changes.
    let r = run("plan", &add, &[]).await;
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.out.contains("+ inbound tcp 443 from 10.0.0.0/8"), "{r}");
    // apply without --yes and no terminal: declined (exit 1), no call made.
    let r = run("apply", &add, &[]).await;
    assert_eq!(r.code, Some(1), "{r}");
    // apply --readonly: refused before any request at all.
    let calls = proxy.actions().len();
    let r = run("apply", &add, &["--readonly", "--yes"]).await;
    assert_eq!(r.code, Some(2), "{r}");
    assert_eq!(proxy.actions().len(), calls, "--readonly made a call");
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
    assert!(v4_rules(&ingress(&ec2, &sg).await).is_empty());

    // apply --yes: exactly one authorize, and EC2 has the rule with its description.
    let r = run("apply", &add, &["--yes"]).await;
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(proxy.mutating(), vec!["ec2:AuthorizeSecurityGroupIngress"]);
    assert_eq!(
        v4_rules(&ingress(&ec2, &sg).await),
        vec![("tcp".into(), 443, 443, "10.0.0.0/8".into(), "office".into())]
    );

    // And back: --remove-rule revokes it.
    proxy.clear();
    let r = run(
        "apply",
        &["--remove-rule", "tcp:443:10.0.0.0/8"],
        &["--yes"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(proxy.mutating(), vec!["ec2:RevokeSecurityGroupIngress"]);
    assert!(v4_rules(&ingress(&ec2, &sg).await).is_empty());
}

#[tokio::test]
async fn live_rule_apply_on_a_group_changed_since_the_plan_applies_nothing() {
    let Some((proxy, ec2)) =
        moto("live_rule_apply_on_a_group_changed_since_the_plan_applies_nothing").await
    else {
        return;
    };
    let (vpc, _) = seed_vpc(&ec2).await;
    let sg = app_sg(&ec2, &vpc).await;
    proxy.clear();
    // Someone adds a rule after lbsg loaded the account (its first DescribeSecurityGroups) and
    // before the apply re-describes the group (its second).
    let (other, group) = (ec2.clone(), sg.clone());
    proxy.before_nth("ec2:DescribeSecurityGroups", 2, async move {
        other
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip("192.168.0.0/16")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let r = Lbsg::new()
        .aws(&proxy)
        .run(&[
            "apply",
            &sg,
            "--add-rule",
            "tcp:443:10.0.0.0/8",
            "--no-kube",
            "--vpc-id",
            &vpc,
            "--yes",
        ])
        .await;
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.err.contains("AWS changed since the plan"), "{r}");
    assert!(r.err.contains("nothing applied"), "{r}");
    // The only write is the other client's; lbsg's rule is not there.
    assert_eq!(proxy.mutating(), vec!["ec2:AuthorizeSecurityGroupIngress"]);
    assert_eq!(
        v4_rules(&ingress(&ec2, &sg).await),
        vec![("tcp".into(), 22, 22, "192.168.0.0/16".into(), String::new())]
    );
}
