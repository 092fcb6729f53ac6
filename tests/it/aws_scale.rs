//! The cost of a load at scale, through the real SDK against a small fake EC2/ELBv2 endpoint
//! that pages the way AWS does (moto ignores EC2 page sizes): an account of 1,000 SGs and
//! 3,000 ENIs must cost exactly the calls the page arithmetic says.

// Test code: a broken fake should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::post;
use lbsg::infra::aws::budget::Budget;
use lbsg::infra::aws::errors::ErrorContext;
use lbsg::infra::aws::{Aws, LoadOptions, Op, load_base};

use crate::aws_common::sdk_config;

const SGS: usize = 1000;
const ENIS: usize = 3000;
const EC2_MAX: usize = 1000;

/// A fake EC2 + ELBv2 endpoint: 1,000 SGs and 3,000 ENIs in `vpc-1`, nothing else.
#[derive(Default)]
pub struct Fake {
    /// (Action, MaxResults) of every request.
    pub seen: Mutex<Vec<(String, Option<usize>)>>,
    /// The `Authorization` header of every request (which credentials signed it).
    pub auth: Mutex<Vec<String>>,
}

/// Serve `fake` on a free loopback port; returns its URL and the server task.
pub async fn serve(fake: Arc<Fake>) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let app = axum::Router::new()
        .route("/", post(handle))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    (
        endpoint,
        tokio::spawn(async move { axum::serve(listener, app).await }),
    )
}

fn sg_id(i: usize) -> String {
    format!("sg-{i:08x}")
}

/// One page of `items` from `start`, with the token of the next page when there is one.
fn page(total: usize, start: usize, max: usize) -> (std::ops::Range<usize>, Option<String>) {
    let end = (start + max).min(total);
    (start..end, (end < total).then(|| end.to_string()))
}

fn ec2_xml(action: &str, body: &str, next: Option<String>) -> String {
    let next = next
        .map(|t| format!("<nextToken>{t}</nextToken>"))
        .unwrap_or_default();
    format!(
        r#"<{action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>{body}{next}</{action}Response>"#
    )
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> impl IntoResponse {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    fake.auth
        .lock()
        .unwrap()
        .push(auth.unwrap_or_default().to_string());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let action = get("Action").unwrap_or_default().to_string();
    let max: Option<usize> = get("MaxResults").map(|m| m.parse().unwrap());
    fake.seen.lock().unwrap().push((action.clone(), max));
    let start: usize = get("NextToken").map(|t| t.parse().unwrap()).unwrap_or(0);
    let max = max.unwrap_or(usize::MAX);
    let xml = match (get("Version"), action.as_str()) {
        (Some("2016-11-15"), "DescribeSecurityGroups") => {
            let (range, next) = page(SGS, start, max);
            let mut items = String::new();
            for i in range {
                let _ = write!(
                    items,
                    "<item><ownerId>123456789012</ownerId><groupId>{}</groupId><groupName>g{i}</groupName>\
                     <groupDescription>d</groupDescription><vpcId>vpc-1</vpcId><ipPermissions><item>\
                     <ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort>\
                     <ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item></ipRanges></item></ipPermissions>\
                     <ipPermissionsEgress/></item>",
                    sg_id(i)
                );
            }
            ec2_xml(
                &action,
                &format!("<securityGroupInfo>{items}</securityGroupInfo>"),
                next,
            )
        }
        (Some("2016-11-15"), "DescribeSecurityGroupRules") => {
            // The rules of the groups named in the group-id filter.
            let groups: Vec<&str> = params
                .iter()
                .filter(|(n, _)| n.starts_with("Filter.1.Value."))
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(get("Filter.1.Name"), Some("group-id"));
            assert!(groups.len() <= 200, "{} filter values", groups.len());
            let (range, next) = page(groups.len(), start, max);
            let mut items = String::new();
            for g in &groups[range] {
                let _ = write!(
                    items,
                    "<item><securityGroupRuleId>sgr-{g}</securityGroupRuleId><groupId>{g}</groupId>\
                     <isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort>\
                     <toPort>443</toPort><cidrIpv4>10.0.0.0/8</cidrIpv4></item>"
                );
            }
            ec2_xml(
                &action,
                &format!("<securityGroupRuleSet>{items}</securityGroupRuleSet>"),
                next,
            )
        }
        (Some("2016-11-15"), "DescribeNetworkInterfaces") => {
            assert_eq!(get("Filter.1.Name"), Some("vpc-id"));
            let (range, next) = page(ENIS, start, max);
            let mut items = String::new();
            for i in range {
                let _ = write!(
                    items,
                    "<item><networkInterfaceId>eni-{i:08x}</networkInterfaceId><vpcId>vpc-1</vpcId>\
                     <groupSet><item><groupId>{}</groupId></item></groupSet></item>",
                    sg_id(i % SGS)
                );
            }
            ec2_xml(
                &action,
                &format!("<networkInterfaceSet>{items}</networkInterfaceSet>"),
                next,
            )
        }
        // Every other EC2 describe: an empty account.
        (Some("2016-11-15"), _) => ec2_xml(&action, "", None),
        // ELBv2: no load balancers, no target groups.
        _ => format!(
            r#"<{action}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><{action}Result/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"#
        ),
    };
    ([(header::CONTENT_TYPE, "text/xml")], xml)
}

#[tokio::test]
async fn aws_scale_load_of_1000_sgs_and_3000_enis_costs_the_page_arithmetic() {
    let fake = Arc::new(Fake::default());
    let (endpoint, server) = serve(fake.clone()).await;

    let sdk = sdk_config(&endpoint).await;
    let aws = Aws::new(&sdk).with_budget(Budget::unlimited());
    assert_eq!(
        aws.error_context(),
        &ErrorContext {
            region: Some("us-east-1".into()),
            ec2_endpoint: Some(endpoint.clone()),
            elb_endpoint: Some(endpoint.clone()),
            credentials: None,
        }
    );
    let opts = LoadOptions {
        vpc_id: Some("vpc-1".into()),
        ..Default::default()
    };
    let world = load_base(&aws, &opts).await.unwrap();
    server.abort();

    let sgs = world.aws.security_groups.as_ref().unwrap();
    assert_eq!(sgs.len(), SGS);
    assert!(
        sgs.values().all(|g| g.ingress.len() == 1
            && g.ingress[0].id.as_deref() == Some(&format!("sgr-{}", g.id)[..])),
        "every rule got its id"
    );
    assert_eq!(world.aws.enis.as_ref().unwrap().len(), ENIS);

    let stats = aws.stats().snapshot();
    let count = |op: Op| {
        let s = stats.get(op.action()).copied().unwrap_or_default();
        (s.calls, s.pages)
    };
    // 1,000 SGs fit one page of 1,000.
    assert_eq!(
        count(Op::DescribeSecurityGroups),
        (1, SGS.div_ceil(EC2_MAX) as u64)
    );
    // Rules are asked for by group id, 200 ids a call: 5 calls of one page each.
    assert_eq!(
        count(Op::DescribeSecurityGroupRules),
        (SGS.div_ceil(200) as u64, SGS.div_ceil(200) as u64)
    );
    // 3,000 ENIs take 3 pages of one call.
    assert_eq!(
        count(Op::DescribeNetworkInterfaces),
        (1, ENIS.div_ceil(EC2_MAX) as u64)
    );
    for op in [
        Op::DescribeVpcs,
        Op::DescribeSubnets,
        Op::DescribeInstances,
        Op::DescribeLoadBalancers,
        Op::DescribeTargetGroups,
    ] {
        assert_eq!(count(op), (1, 1), "{op}");
    }
    // Nothing references a prefix list and there is no LB or TG: those calls are not made.
    for op in [
        Op::DescribeManagedPrefixLists,
        Op::GetManagedPrefixListEntries,
        Op::DescribeTags,
    ] {
        assert_eq!(count(op), (0, 0), "{op}");
    }
    let total_pages: u64 = stats.values().map(|s| s.pages).sum();
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len() as u64,
        total_pages,
        "the fake saw every page the stats counted"
    );
    // Every EC2 describe asked for the maximum page size.
    assert!(
        seen.iter()
            .filter(|(a, _)| a != "DescribeLoadBalancers" && a != "DescribeTargetGroups")
            .all(|(_, m)| *m == Some(EC2_MAX)),
        "{seen:?}"
    );
    let text = aws.stats().render();
    assert!(
        text.lines()
            .any(|l| l.starts_with("ec2:DescribeNetworkInterfaces")
                && l.split_whitespace().nth(2) == Some("3")),
        "{text}"
    );
}
