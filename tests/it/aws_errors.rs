//! Failure messages from real SDK errors (no emulator needed: these fail before or at connect).

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sdk_ec2::config::{Credentials, Region};
use lbsg::infra::aws::config::https_client;
use lbsg::infra::aws::errors::ErrorContext;
use lbsg::infra::aws::inventory::load_vpcs;
use lbsg::infra::aws::{Aws, ErrorKind, PageSizes};

/// What the default chain yields when no provider finds anything.
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        )))
    }
}

async fn aws(endpoint: Option<&str>, region: Option<&str>, creds: bool) -> Aws {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .build(),
        );
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    loader = loader.region(region.map(|r| Region::new(r.to_string())));
    loader = if creds {
        loader.credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
    } else {
        loader.credentials_provider(NoCredentials)
    };
    let sdk = loader.load().await;
    Aws::new(&sdk)
}

#[tokio::test]
async fn aws_unreachable_endpoint_is_named() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let aws = aws(Some("http://127.0.0.1:1"), Some("us-east-1"), true).await;
    assert_eq!(
        aws.error_context().ec2_endpoint.as_deref(),
        Some("http://127.0.0.1:1")
    );
    let err = load_vpcs(&aws, None, PageSizes::default())
        .await
        .unwrap_err();
    eprintln!("message: {err}");
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("http://127.0.0.1:1") && text.contains("ec2:DescribeVpcs"),
        "{text}"
    );
}

#[tokio::test]
async fn aws_missing_credentials_say_so() {
    let aws = aws(Some("http://127.0.0.1:1"), Some("us-east-1"), false).await;
    let err = load_vpcs(&aws, None, PageSizes::default())
        .await
        .unwrap_err();
    eprintln!("message: {err}");
    assert_eq!(err.kind, ErrorKind::NoCredentials, "{err}");
    assert!(err.to_string().contains("--profile"), "{err}");
}

#[tokio::test]
async fn aws_missing_region_says_so() {
    let aws = aws(None, None, true).await;
    assert_eq!(aws.error_context(), &ErrorContext::default());
    let err = load_vpcs(&aws, None, PageSizes::default())
        .await
        .unwrap_err();
    eprintln!("message: {err}");
    assert_eq!(err.kind, ErrorKind::NoRegion, "{err}");
    assert!(err.to_string().contains("AWS_REGION"), "{err}");
}
