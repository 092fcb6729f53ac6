//! Conformance handlers for this area's scopes.

use crate::common::Handler;

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        _ => None,
    }
}
