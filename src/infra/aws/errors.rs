//! One clear message per way an AWS call fails: missing or expired credentials, wrong region,
//! unreachable endpoint, a denied IAM action (named), throttling (with the budget it ran out
//! of), AWS's own 5xx failures; everything else verbatim.

use std::error::Error as StdError;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use super::ops::Op;

/// AWS error codes that mean "slow down" (EC2 and ELBv2 spellings).
pub const THROTTLING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "EC2ThrottledException",
];

const EXPIRED_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

/// AWS failed on its side (HTTP 5xx); the SDK retries these before they reach lbsg.
const SERVER_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "Unavailable",
];

const INVALID_CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
];

const DENIED_CODES: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
];

/// Where requests go, for messages (the SDK resolves the real endpoint itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    pub region: Option<String>,
    /// Endpoint override for EC2 (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL` or config).
    pub ec2_endpoint: Option<String>,
    /// Endpoint override for ELBv2.
    pub elb_endpoint: Option<String>,
    /// Where the credentials come from (`the environment (AWS_ACCESS_KEY_ID…)`, `profile "x"`),
    /// so an expiry message can say what to refresh.
    pub credentials: Option<String>,
}

impl ErrorContext {
    /// The endpoint `op` is sent to: the override, or the regional default.
    pub fn endpoint(&self, op: Op) -> String {
        let (custom, host) = if op.action().starts_with("ec2:") {
            (&self.ec2_endpoint, "ec2")
        } else {
            (&self.elb_endpoint, "elasticloadbalancing")
        };
        match (custom, &self.region) {
            (Some(url), _) => url.clone(),
            (None, Some(r)) => format!("https://{host}.{r}.amazonaws.com"),
            (None, None) => format!("https://{host}.<no region>.amazonaws.com"),
        }
    }

    fn has_custom_endpoint(&self, op: Op) -> bool {
        if op.action().starts_with("ec2:") {
            self.ec2_endpoint.is_some()
        } else {
            self.elb_endpoint.is_some()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NoCredentials,
    ExpiredCredentials,
    InvalidCredentials,
    NoRegion,
    WrongRegion,
    Unreachable,
    AccessDenied,
    Throttled,
    /// AWS failed on its side (5xx) through every retry.
    ServerError,
    /// Any other error AWS answered with (the code and message are kept).
    Api,
    /// The SDK could not build the request or read the answer.
    Client,
}

/// A failed AWS call, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub op: Op,
    pub kind: ErrorKind,
    /// AWS's error code (`InvalidPermission.Duplicate`), when AWS answered.
    pub code: Option<String>,
    /// AWS's message, or the transport/SDK detail.
    pub message: String,
    pub endpoint: String,
    pub region: Option<String>,
    /// Where the credentials came from (see [`ErrorContext::credentials`]); boxed to keep
    /// the error small.
    pub credentials: Option<Box<str>>,
}

impl AwsError {
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }
}

impl StdError for AwsError {}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = self.op.action();
        let code = self.code.as_deref().unwrap_or("no code");
        let region = self.region.as_deref().unwrap_or("(none)");
        match self.kind {
            ErrorKind::NoCredentials => write!(
                f,
                "no AWS credentials: the default chain (environment, AWS_PROFILE/--profile, SSO, \
                 credential_process, instance metadata) found none ({}). Set AWS_PROFILE or \
                 pass --profile, or log in with `aws sso login`",
                self.message
            ),
            ErrorKind::ExpiredCredentials => write!(
                f,
                "the AWS credentials from {} have expired ({code} on {action}): refresh them \
                 (`aws sso login` for an SSO profile; new AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN for exported keys) and retry",
                self.credentials
                    .as_deref()
                    .unwrap_or("the default credential chain")
            ),
            ErrorKind::InvalidCredentials => write!(
                f,
                "AWS rejected the credentials ({code} on {action}): {}. Check AWS_PROFILE/--profile \
                 and the access key",
                self.message
            ),
            ErrorKind::NoRegion => write!(
                f,
                "no AWS region: set AWS_REGION or pass --region (needed for {action})"
            ),
            ErrorKind::WrongRegion => write!(
                f,
                "the AWS region {region:?} looks wrong: {} ({}). Check AWS_REGION/--region",
                self.message, self.endpoint
            ),
            ErrorKind::Unreachable => write!(
                f,
                "cannot reach the AWS endpoint {} for {action}: {}. Check the network, a proxy, \
                 or AWS_ENDPOINT_URL",
                self.endpoint, self.message
            ),
            ErrorKind::AccessDenied => write!(
                f,
                "access denied: this identity may not call the IAM action {action} ({code}); \
                 docs/iam.md lists the read-only and apply policies. AWS said: {}",
                self.message
            ),
            ErrorKind::Throttled => write!(
                f,
                "AWS kept throttling {action} ({code}) through the SDK's retries: the account's \
                 {} is used up (it is per account and Region, shared with the Load Balancer \
                 Controller; lbsg itself stays under half of it): try again in a minute",
                self.op.bucket().account_budget()
            ),
            ErrorKind::ServerError => write!(
                f,
                "AWS failed on its side on {action} ({code}: {}) through the SDK's retries \
                 ({}); nothing is wrong with the request: try again shortly",
                self.message, self.endpoint
            ),
            ErrorKind::Api => write!(f, "{action} failed: {code}: {}", self.message),
            ErrorKind::Client => write!(f, "{action} failed in the AWS SDK: {}", self.message),
        }
    }
}

/// How a call failed, stripped of SDK types (so classification is a pure function).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub code: Option<String>,
    pub message: Option<String>,
    pub transport: Option<Transport>,
    /// A credentials provider error was found in the source chain.
    pub credentials: bool,
    /// The whole error chain as text.
    pub chain: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Timeout,
    Io,
    Other,
    /// The request could not be built (before anything was sent).
    Construction,
    /// An answer came but could not be read.
    Response,
}

/// Strip an SDK error down to a [`Failure`].
pub(crate) fn failure_of<E, R>(err: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: fmt::Debug + 'static,
{
    let mut credentials = false;
    let mut causes: Vec<String> = Vec::new();
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<CredentialsError>().is_some() {
            credentials = true;
        }
        let text = e.to_string();
        if !text.is_empty() && causes.last() != Some(&text) {
            causes.push(text);
        }
        source = e.source();
    }
    let transport = match err {
        SdkError::ConstructionFailure(_) => Some(Transport::Construction),
        SdkError::TimeoutError(_) => Some(Transport::Timeout),
        SdkError::DispatchFailure(d) => Some(if d.is_timeout() {
            Transport::Timeout
        } else if d.is_io() {
            Transport::Io
        } else {
            Transport::Other
        }),
        SdkError::ResponseError(_) => Some(Transport::Response),
        _ => None,
    };
    Failure {
        code: err.code().map(str::to_string),
        message: err.message().map(str::to_string),
        transport,
        credentials,
        chain: causes.join(": "),
    }
}

/// Classify an SDK error of `op`.
pub(crate) fn from_sdk<E, R>(op: Op, err: &SdkError<E, R>, ctx: &ErrorContext) -> AwsError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: fmt::Debug + 'static,
{
    classify(op, &failure_of(err), ctx)
}

/// Decide which of the clear messages a failure gets.
pub fn classify(op: Op, f: &Failure, ctx: &ErrorContext) -> AwsError {
    let chain = f.chain.to_lowercase();
    let code = f.code.as_deref();
    let is = |codes: &[&str]| code.is_some_and(|c| codes.contains(&c));
    let dns_failed = [
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "nodename nor servname",
        "no such host",
        "temporary failure in name resolution",
    ]
    .iter()
    .any(|s| chain.contains(s));
    let kind = if is(THROTTLING_CODES) {
        ErrorKind::Throttled
    } else if is(DENIED_CODES) {
        ErrorKind::AccessDenied
    } else if is(EXPIRED_CODES) || (code.is_none() && f.credentials && chain.contains("expired")) {
        ErrorKind::ExpiredCredentials
    } else if is(INVALID_CREDENTIAL_CODES) {
        ErrorKind::InvalidCredentials
    } else if is(&["OptInRequired", "InvalidRegion"]) {
        ErrorKind::WrongRegion
    } else if is(SERVER_CODES) {
        ErrorKind::ServerError
    } else if code.is_some() {
        ErrorKind::Api
    } else if f.credentials || chain.contains("no credentials") {
        ErrorKind::NoCredentials
    } else if ctx.region.is_none() || chain.contains("a region must be set") {
        ErrorKind::NoRegion
    } else if matches!(f.transport, Some(Transport::Io | Transport::Other)) && dns_failed {
        // With no override the host is built from the region: a name that does not resolve
        // is almost always a misspelt region.
        if ctx.has_custom_endpoint(op) {
            ErrorKind::Unreachable
        } else {
            ErrorKind::WrongRegion
        }
    } else if matches!(
        f.transport,
        Some(Transport::Io | Transport::Timeout | Transport::Other)
    ) {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Client
    };
    let message = match (kind, &f.message) {
        (ErrorKind::WrongRegion, None) if dns_failed => {
            format!("{} does not resolve", ctx.endpoint(op))
        }
        (_, Some(m)) if !m.is_empty() => m.clone(),
        _ => last_cause(&f.chain),
    };
    AwsError {
        op,
        kind,
        code: f.code.clone(),
        message,
        endpoint: ctx.endpoint(op),
        region: ctx.region.clone(),
        credentials: ctx.credentials.as_deref().map(Box::from),
    }
}

/// The innermost cause of a chain (`a: b: c` → `c`): the one that says what happened.
fn last_cause(chain: &str) -> String {
    chain
        .rsplit(": ")
        .next()
        .unwrap_or(chain)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            region: Some("us-east-1".into()),
            ..Default::default()
        }
    }

    fn api(code: &str, message: &str) -> Failure {
        Failure {
            code: Some(code.into()),
            message: Some(message.into()),
            chain: format!("service error: {code}: {message}"),
            ..Default::default()
        }
    }

    #[test]
    fn denied_names_the_iam_action() {
        let e = classify(
            Op::AuthorizeSecurityGroupIngress,
            &api(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
            &ctx(),
        );
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        let text = e.to_string();
        assert!(text.contains("ec2:AuthorizeSecurityGroupIngress"), "{text}");
        assert!(text.contains("docs/iam.md"), "{text}");
        let e = classify(
            Op::DescribeTargetHealth,
            &api("AccessDenied", "User: x is not authorized"),
            &ctx(),
        );
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert!(
            e.to_string()
                .contains("elasticloadbalancing:DescribeTargetHealth")
        );
    }

    #[test]
    fn each_failure_gets_its_own_kind() {
        let cases = [
            (
                api("RequestLimitExceeded", "Request limit exceeded."),
                ErrorKind::Throttled,
            ),
            (api("Throttling", "Rate exceeded"), ErrorKind::Throttled),
            (
                api(
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ),
                ErrorKind::ExpiredCredentials,
            ),
            (
                api("RequestExpired", "Request has expired."),
                ErrorKind::ExpiredCredentials,
            ),
            (
                api(
                    "AuthFailure",
                    "AWS was not able to validate the provided access credentials",
                ),
                ErrorKind::InvalidCredentials,
            ),
            (
                api("OptInRequired", "You are not subscribed to this service"),
                ErrorKind::WrongRegion,
            ),
            (
                api("InternalError", "An internal error has occurred"),
                ErrorKind::ServerError,
            ),
            (
                api("InternalFailure", "An internal error has occurred."),
                ErrorKind::ServerError,
            ),
            (
                api(
                    "InvalidGroup.NotFound",
                    "The security group 'sg-1' does not exist",
                ),
                ErrorKind::Api,
            ),
        ];
        for (f, kind) in cases {
            assert_eq!(
                classify(Op::DescribeSecurityGroups, &f, &ctx()).kind,
                kind,
                "{f:?}"
            );
        }
    }

    #[test]
    fn missing_credentials_and_region() {
        let f = Failure {
            transport: Some(Transport::Other),
            credentials: true,
            chain: "dispatch failure: other: the credential provider was not enabled".into(),
            ..Default::default()
        };
        let e = classify(Op::DescribeVpcs, &f, &ctx());
        assert_eq!(e.kind, ErrorKind::NoCredentials);
        assert!(e.to_string().contains("--profile"), "{e}");

        let f = Failure {
            transport: Some(Transport::Construction),
            chain:
                "failed to construct request: A region must be set when sending requests to EC2."
                    .into(),
            ..Default::default()
        };
        let e = classify(Op::DescribeVpcs, &f, &ErrorContext::default());
        assert_eq!(e.kind, ErrorKind::NoRegion);
        assert!(e.to_string().contains("AWS_REGION"), "{e}");
    }

    #[test]
    fn dns_failure_blames_the_region_unless_the_endpoint_is_custom() {
        let f = Failure {
            transport: Some(Transport::Io),
            chain: "dispatch failure: io error: client error (Connect): dns error: failed to lookup address information: Name or service not known".into(),
            ..Default::default()
        };
        let mut c = ctx();
        c.region = Some("us-esat-1".into());
        let e = classify(Op::DescribeVpcs, &f, &c);
        assert_eq!(e.kind, ErrorKind::WrongRegion);
        assert!(e.to_string().contains("\"us-esat-1\""), "{e}");
        assert!(e.to_string().contains("ec2.us-esat-1.amazonaws.com"), "{e}");

        c.ec2_endpoint = Some("http://emulator.invalid:5000".into());
        let e = classify(Op::DescribeVpcs, &f, &c);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(
            e.to_string().contains("http://emulator.invalid:5000"),
            "{e}"
        );
    }

    #[test]
    fn refused_connection_is_unreachable() {
        let f = Failure {
            transport: Some(Transport::Io),
            chain: "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
            ..Default::default()
        };
        let mut c = ctx();
        c.elb_endpoint = Some("http://127.0.0.1:1".into());
        let e = classify(Op::DescribeLoadBalancers, &f, &c);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.to_string().contains("http://127.0.0.1:1"), "{e}");
        assert!(e.to_string().contains("Connection refused"), "{e}");
    }
}
