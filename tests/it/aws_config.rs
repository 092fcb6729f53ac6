//! Credentials, region and endpoints come from where users put them: a named profile
//! (`--profile`), its credentials file, `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_EC2`. Environment variables cannot be set inside a test process (that
//! needs `unsafe`), so the check runs in a child copy of this test binary with its own env.

// Test code: failures should panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lbsg::infra::aws::inventory::{load_load_balancers, load_vpcs};
use lbsg::infra::aws::{AwsOptions, PageSizes, connect};

use crate::aws_scale::{Fake, serve};

const CHILD: &str = "LBSG_IT_CONFIG_CHILD";

#[tokio::test]
async fn aws_config_follows_profile_and_endpoint_env() {
    let ec2_fake = Arc::new(Fake::default());
    let elb_fake = Arc::new(Fake::default());
    let (ec2_url, ec2_server) = serve(ec2_fake.clone()).await;
    let (elb_url, elb_server) = serve(elb_fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(&config, "[profile lbsg-it]\nregion = eu-west-3\n").unwrap();
    std::fs::write(
        &credentials,
        "[lbsg-it]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = secret\n",
    )
    .unwrap();

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "aws_config::aws_config_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_ENDPOINT_URL", &elb_url)
        .env("AWS_ENDPOINT_URL_EC2", &ec2_url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LBSG_IT_EC2_URL", &ec2_url)
        .env("LBSG_IT_ELB_URL", &elb_url);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_RETRY_MODE",
    ] {
        child.env_remove(var);
    }
    let out = child.output().await.unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{log}");
    assert!(
        log.contains("1 passed"),
        "the child test did not run:\n{log}"
    );
    ec2_server.abort();
    elb_server.abort();

    // EC2 went to its own endpoint, ELBv2 to the general one, both signed with the profile's key
    // for the profile's region.
    let ec2_actions: Vec<String> = ec2_fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(a, _)| a.clone())
        .collect();
    let elb_actions: Vec<String> = elb_fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(a, _)| a.clone())
        .collect();
    assert_eq!(ec2_actions, vec!["DescribeVpcs"]);
    assert_eq!(elb_actions, vec!["DescribeLoadBalancers"]);
    for auth in ec2_fake
        .auth
        .lock()
        .unwrap()
        .iter()
        .chain(elb_fake.auth.lock().unwrap().iter())
    {
        assert!(
            auth.contains("Credential=AKIDFROMPROFILE/") && auth.contains("/eu-west-3/"),
            "{auth}"
        );
    }
}

/// Runs only as the child of the test above (it needs the environment that test sets up).
#[tokio::test]
async fn aws_config_child_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let aws = connect(&AwsOptions {
        profile: Some("lbsg-it".into()),
        ..Default::default()
    })
    .await;
    let ctx = aws.error_context();
    assert_eq!(ctx.region.as_deref(), Some("eu-west-3"));
    assert_eq!(ctx.ec2_endpoint, std::env::var("LBSG_IT_EC2_URL").ok());
    assert_eq!(ctx.elb_endpoint, std::env::var("LBSG_IT_ELB_URL").ok());
    load_vpcs(&aws, None, PageSizes::default()).await.unwrap();
    load_load_balancers(&aws, None, PageSizes::default())
        .await
        .unwrap();
}
