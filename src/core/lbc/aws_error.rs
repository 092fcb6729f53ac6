//! An AWS API failure as the LBC sees it: a code to classify on, and Go's rendering of it.
//!
//! The LBC decides retries by the API error code found anywhere in the error chain
//! (`errors.As(err, &smithy.APIError)`), and prints errors the Go way
//! (`api error <Code>: <Message>`, wrappers as `<context>: <inner>`). This type keeps both.

use std::fmt;

/// A failed call: an AWS API error, a non-API error, or either wrapped with context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsError {
    /// An error the API returned (smithy `GenericAPIError`).
    Api { code: String, message: String },
    /// Any other failure (network, client-side, a Kubernetes list error, …).
    Other(String),
    /// `errors.Wrap(inner, context)`.
    Wrapped {
        context: String,
        inner: Box<AwsError>,
    },
}

impl AwsError {
    pub fn api(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError::Api {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        AwsError::Other(message.into())
    }

    /// Wrap with context, as Go's `errors.Wrap` does.
    pub fn wrap(self, context: impl Into<String>) -> Self {
        AwsError::Wrapped {
            context: context.into(),
            inner: Box::new(self),
        }
    }

    /// The API error code anywhere in the chain, if the failure came from the API.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            AwsError::Other(_) => None,
            AwsError::Wrapped { inner, .. } => inner.code(),
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// Read a failure written as `Code: message`, or a bare `Code` (an API error with an empty
    /// message). Anything that does not start with an AWS-style code (`Word.Word…`, starting
    /// with an uppercase letter, no spaces) is a non-API error with that text.
    pub fn parse(text: &str) -> Self {
        let (head, message) = match text.split_once(": ") {
            Some((h, m)) => (h, m),
            None => (text, ""),
        };
        if looks_like_code(head) {
            AwsError::api(head, message)
        } else {
            AwsError::other(text)
        }
    }
}

fn looks_like_code(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsError::Api { code, message } => write!(f, "api error {code}: {message}"),
            AwsError::Other(m) => f.write_str(m),
            AwsError::Wrapped { context, inner } => write!(f, "{context}: {inner}"),
        }
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    #[test]
    fn renders_like_go() {
        let e = AwsError::parse("Some.Other.Error: unable to tag security group");
        assert_eq!(
            e.to_string(),
            "api error Some.Other.Error: unable to tag security group"
        );
        let w = AwsError::parse("DependencyViolation").wrap("failed to delete securityGroup");
        assert_eq!(
            w.to_string(),
            "failed to delete securityGroup: api error DependencyViolation: "
        );
        assert_eq!(w.code(), Some("DependencyViolation"));
    }

    #[test]
    fn plain_text_is_not_an_api_error() {
        for s in ["bad thing", "failed", "some other error", "authorize error"] {
            let e = AwsError::parse(s);
            assert_eq!(e.code(), None, "{s}");
            assert_eq!(e.to_string(), s);
        }
        assert_eq!(
            AwsError::parse("InvalidPermission.NotFound").code(),
            Some("InvalidPermission.NotFound")
        );
    }
}
