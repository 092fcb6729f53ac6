//! One `SdkConfig` from the default provider chain, as users expect from the AWS CLI:
//! environment, `AWS_PROFILE`/`--profile`, SSO, `credential_process`, IMDS; `AWS_REGION`/`--region`;
//! `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_EC2` /
//! `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2` (read by the SDK itself).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::{Builder, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::errors::ErrorContext;

/// What the command line can override; everything else comes from the environment and profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// `--profile` (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// `--region` (else `AWS_REGION`, else the profile's region).
    pub region: Option<String>,
    /// An endpoint for every service (tests, emulators); else `AWS_ENDPOINT_URL*`.
    pub endpoint_url: Option<String>,
}

/// Attempts per request when the user has not chosen a retry mode.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The HTTPS client: rustls with ring, the same provider kube uses (two providers in one
/// process make rustls panic). It also speaks plain `http://` for emulators.
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Retry in the SDK's standard mode (exponential backoff with jitter), unless the user chose a
/// mode with `AWS_RETRY_MODE`. Not adaptive: lbsg's own budget already paces it under half
/// the account's buckets, and adaptive mode's client-side limiter drops to 0.5 requests/s
/// after a single throttle when little was sent before (measured: a small account's load went
/// from 0.17 s to 8.5 s after five throttles; tests/it/aws_faults.rs).
fn retry_config() -> Option<RetryConfig> {
    if std::env::var_os("AWS_RETRY_MODE").is_some() {
        return None;
    }
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    Some(RetryConfig::standard().with_max_attempts(attempts))
}

/// Load the one `SdkConfig` every client is built from.
pub async fn load_sdk_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(rc) = retry_config() {
        loader = loader.retry_config(rc);
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// Where the default chain finds credentials, for messages (the SDK does not say which provider
/// answered): the first source of the chain that is configured, in the chain's order.
pub fn credential_source(opts: &AwsOptions) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("AWS_ACCESS_KEY_ID").is_some() {
        "the environment (AWS_ACCESS_KEY_ID)".to_string()
    } else if let Some(p) = opts.profile.clone().or_else(|| env("AWS_PROFILE")) {
        format!("profile {p:?}")
    } else if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        "the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_string()
    } else {
        "the default profile or the instance/container role".to_string()
    }
}

/// Region and endpoints the clients will use, for error messages.
pub fn error_context(sdk: &SdkConfig) -> ErrorContext {
    let service = |var: &str| {
        std::env::var(var)
            .ok()
            .or_else(|| sdk.endpoint_url().map(str::to_string))
    };
    ErrorContext {
        region: sdk.region().map(|r| r.to_string()),
        ec2_endpoint: service("AWS_ENDPOINT_URL_EC2"),
        elb_endpoint: service("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"),
        credentials: None,
    }
}
