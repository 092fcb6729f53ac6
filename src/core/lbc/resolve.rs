//! Custom SG resolution: annotation tokens (ids or `Name` tag values) to SG ids (lbc-semantics §6).

/// Resolves the tokens of a `security-groups` annotation to SG ids, in the LBC's order, or fails
/// with the LBC's message (`couldn't find all security groups: …`).
pub trait SgResolver {
    fn resolve(&self, names_or_ids: &[String]) -> Result<Vec<String>, String>;
}
