//! Custom SG resolution: annotation tokens (ids or `Name` tag values) to SG ids (lbc-semantics §6).
//!
//! The LBC logic ([`resolve_names_or_ids`]) runs over an [`SgLookup`], which answers the two
//! `DescribeSecurityGroups` calls the LBC makes. [`WorldLookup`] answers them from a loaded
//! [`World`]; [`LookupResolver`] turns any lookup into an [`SgResolver`] for the model builders.

use std::collections::BTreeSet;

use super::aws_error::AwsError;
use crate::world::World;

/// Resolves the tokens of a `security-groups` annotation to SG ids, in the LBC's order, or fails
/// with the LBC's message (`couldn't find all security groups: …`).
pub trait SgResolver {
    fn resolve(&self, names_or_ids: &[String]) -> Result<Vec<String>, String>;
}

/// One SG in a `DescribeSecurityGroups` answer, reduced to what resolution reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSg {
    pub id: String,
    /// The `Name` tag, if the SG has one.
    pub name_tag: Option<String>,
}

/// The two `DescribeSecurityGroups` calls of the resolver.
pub trait SgLookup {
    /// `GroupIds=ids` (no VPC filter). Groups in AWS response order.
    fn by_ids(&self, ids: &[String]) -> Result<Vec<FoundSg>, AwsError>;
    /// Filters `tag:Name=names` and `vpc-id=vpc_id`.
    fn by_name_tags(&self, names: &[String], vpc_id: &str) -> Result<Vec<FoundSg>, AwsError>;
}

/// Keep the first occurrence of each item, in order.
fn dedup_in_order(items: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter(|s| seen.insert(s.as_str()))
        .cloned()
        .collect()
}

/// The LBC's resolution (§6): `sg-…` tokens are ids, everything else a `Name` tag value.
/// Result order: id-lookup groups, then name-lookup groups, each in lookup order.
pub fn resolve_names_or_ids(
    lookup: &dyn SgLookup,
    vpc_id: &str,
    names_or_ids: &[String],
) -> Result<Vec<String>, String> {
    let (ids, names): (Vec<String>, Vec<String>) = names_or_ids
        .iter()
        .cloned()
        .partition(|t| t.starts_with("sg-"));
    let mut resolved: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();

    if !ids.is_empty() {
        match lookup.by_ids(&ids) {
            Err(e) => problems.push(e.to_string()),
            Ok(found) if found.len() != ids.len() => problems.push(format!(
                "requested ids [{}] but found [{}]",
                ids.join(", "),
                found
                    .iter()
                    .map(|g| g.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Ok(found) => resolved.extend(found.into_iter().map(|g| g.id)),
        }
    }

    if !names.is_empty() {
        let names = dedup_in_order(&names);
        match lookup.by_name_tags(&names, vpc_id) {
            Err(e) => problems.push(e.to_string()),
            Ok(found) => {
                let found_names: Vec<String> =
                    found.iter().filter_map(|g| g.name_tag.clone()).collect();
                let found_names = dedup_in_order(&found_names);
                if found_names.len() != names.len() {
                    problems.push(format!(
                        "requested names [{}] but found [{}]",
                        names.join(", "),
                        found_names.join(", ")
                    ));
                } else {
                    resolved.extend(found.into_iter().map(|g| g.id));
                }
            }
        }
    }

    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(format!(
            "couldn't find all security groups: {}",
            problems.join(", ")
        ))
    }
}

/// An [`SgResolver`] running the LBC logic over a lookup in the controller's VPC.
pub struct LookupResolver<L> {
    pub lookup: L,
    pub vpc_id: String,
}

impl<L: SgLookup> LookupResolver<L> {
    pub fn new(lookup: L, vpc_id: impl Into<String>) -> Self {
        Self {
            lookup,
            vpc_id: vpc_id.into(),
        }
    }
}

impl<'a> LookupResolver<WorldLookup<'a>> {
    /// Resolve against a loaded world, in the world's VPC (empty when unknown: then only SGs
    /// with an unknown VPC match names).
    pub fn for_world(world: &'a World) -> Self {
        Self::new(WorldLookup::new(world), world.vpc_id().unwrap_or_default())
    }
}

impl<L: SgLookup> SgResolver for LookupResolver<L> {
    fn resolve(&self, names_or_ids: &[String]) -> Result<Vec<String>, String> {
        resolve_names_or_ids(&self.lookup, &self.vpc_id, names_or_ids)
    }
}

/// Answers lookups from a loaded [`World`], the way EC2 would.
///
/// * By ids: like EC2, an unknown id fails the whole call with `InvalidGroup.NotFound`
///   (`The security group '<id>' does not exist`, first missing id). A repeated id is answered
///   once, so a duplicated annotation entry ends in the LBC's count-mismatch error.
/// * By `Name` tag: SGs whose `Name` tag is one of the names and whose VPC is the filter's VPC
///   (an SG with an unknown VPC is included), in id order.
/// * SGs not loaded at all: every call fails with a non-API error saying so.
#[derive(Debug, Clone, Copy)]
pub struct WorldLookup<'a> {
    pub world: &'a World,
}

impl<'a> WorldLookup<'a> {
    pub fn new(world: &'a World) -> Self {
        Self { world }
    }

    fn groups(
        &self,
    ) -> Result<&'a std::collections::BTreeMap<String, crate::world::SecurityGroup>, AwsError> {
        self.world
            .aws
            .security_groups
            .as_ref()
            .ok_or_else(|| AwsError::other("security groups were not loaded"))
    }
}

impl SgLookup for WorldLookup<'_> {
    fn by_ids(&self, ids: &[String]) -> Result<Vec<FoundSg>, AwsError> {
        let groups = self.groups()?;
        let ids = dedup_in_order(ids);
        if let Some(missing) = ids.iter().find(|id| !groups.contains_key(*id)) {
            return Err(AwsError::api(
                "InvalidGroup.NotFound",
                format!("The security group '{missing}' does not exist"),
            ));
        }
        Ok(ids
            .iter()
            .filter_map(|id| groups.get(id))
            .map(|g| FoundSg {
                id: g.id.clone(),
                name_tag: g.name_tag().map(String::from),
            })
            .collect())
    }

    fn by_name_tags(&self, names: &[String], vpc_id: &str) -> Result<Vec<FoundSg>, AwsError> {
        let groups = self.groups()?;
        Ok(groups
            .values()
            .filter(|g| g.name_tag().is_some_and(|n| names.iter().any(|x| x == n)))
            .filter(|g| g.vpc_id.as_deref().is_none_or(|v| v == vpc_id))
            .map(|g| FoundSg {
                id: g.id.clone(),
                name_tag: g.name_tag().map(String::from),
            })
            .collect())
    }
}

/// [`WorldLookup`] with the `Name` tags of every SG indexed once, for a world whose Services
/// are all resolved (each name lookup would otherwise scan every SG). Same answers.
#[derive(Debug, Clone)]
pub struct IndexedWorldLookup<'a> {
    plain: WorldLookup<'a>,
    by_name: std::collections::BTreeMap<&'a str, Vec<&'a crate::world::SecurityGroup>>,
}

impl<'a> IndexedWorldLookup<'a> {
    pub fn new(world: &'a World) -> Self {
        let mut by_name: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
        for g in world.aws.security_groups.iter().flat_map(|m| m.values()) {
            if let Some(n) = g.name_tag() {
                by_name.entry(n).or_default().push(g);
            }
        }
        Self {
            plain: WorldLookup::new(world),
            by_name,
        }
    }
}

impl SgLookup for IndexedWorldLookup<'_> {
    fn by_ids(&self, ids: &[String]) -> Result<Vec<FoundSg>, AwsError> {
        self.plain.by_ids(ids)
    }

    fn by_name_tags(&self, names: &[String], vpc_id: &str) -> Result<Vec<FoundSg>, AwsError> {
        self.plain.groups()?;
        let mut found: Vec<&crate::world::SecurityGroup> = dedup_in_order(names)
            .iter()
            .filter_map(|n| self.by_name.get(n.as_str()))
            .flatten()
            .copied()
            .filter(|g| g.vpc_id.as_deref().is_none_or(|v| v == vpc_id))
            .collect();
        // the plain lookup answers in SG id order
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found
            .into_iter()
            .map(|g| FoundSg {
                id: g.id.clone(),
                name_tag: g.name_tag().map(String::from),
            })
            .collect())
    }
}

impl<'a> LookupResolver<IndexedWorldLookup<'a>> {
    /// [`LookupResolver::for_world`] over the indexed lookup.
    pub fn indexed_for_world(world: &'a World) -> Self {
        Self::new(
            IndexedWorldLookup::new(world),
            world.vpc_id().unwrap_or_default(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;
    use crate::world::SecurityGroup;

    fn world(sgs: &[(&str, Option<&str>, &str)]) -> World {
        let mut w = World::default();
        w.aws.security_groups = Some(
            sgs.iter()
                .map(|(id, name, vpc)| {
                    let mut g = SecurityGroup {
                        id: id.to_string(),
                        name: format!("group-{id}"),
                        vpc_id: Some(vpc.to_string()),
                        ..SecurityGroup::default()
                    };
                    if let Some(n) = name {
                        g.tags.insert("Name".into(), n.to_string());
                    }
                    (id.to_string(), g)
                })
                .collect(),
        );
        w
    }

    fn toks(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn world_lookup_ids_then_names_in_vpc() {
        let w = world(&[
            ("sg-1", Some("web"), "vpc-a"),
            ("sg-2", Some("web"), "vpc-b"),
            ("sg-3", None, "vpc-a"),
        ]);
        let r = LookupResolver::new(WorldLookup::new(&w), "vpc-a");
        assert_eq!(
            r.resolve(&toks(&["web", "sg-3"])).unwrap(),
            ["sg-3", "sg-1"]
        );
    }

    #[test]
    fn world_lookup_missing_id_is_an_ec2_not_found() {
        let w = world(&[("sg-1", None, "vpc-a")]);
        let r = LookupResolver::new(WorldLookup::new(&w), "vpc-a");
        assert_eq!(
            r.resolve(&toks(&["sg-1", "sg-9"])).unwrap_err(),
            "couldn't find all security groups: api error InvalidGroup.NotFound: The security group 'sg-9' does not exist"
        );
    }

    #[test]
    fn duplicated_id_fails_on_count() {
        let w = world(&[("sg-1", None, "vpc-a")]);
        let r = LookupResolver::new(WorldLookup::new(&w), "vpc-a");
        assert_eq!(
            r.resolve(&toks(&["sg-1", "sg-1"])).unwrap_err(),
            "couldn't find all security groups: requested ids [sg-1, sg-1] but found [sg-1]"
        );
    }

    #[test]
    fn for_world_uses_the_world_vpc() {
        let mut w = world(&[
            ("sg-1", Some("web"), "vpc-a"),
            ("sg-2", Some("web"), "vpc-b"),
        ]);
        w.cluster.vpc_id = Some("vpc-b".into());
        assert_eq!(
            LookupResolver::for_world(&w)
                .resolve(&toks(&["web"]))
                .unwrap(),
            ["sg-2"]
        );
    }

    #[test]
    fn duplicated_names_are_requested_once() {
        let w = world(&[("sg-1", Some("web"), "vpc-a")]);
        let r = LookupResolver::new(WorldLookup::new(&w), "vpc-a");
        assert_eq!(r.resolve(&toks(&["web", "web"])).unwrap(), ["sg-1"]);
    }

    #[test]
    fn the_indexed_lookup_answers_like_the_plain_one() {
        let w = world(&[
            ("sg-3", Some("web"), "vpc-a"),
            ("sg-1", Some("api"), "vpc-a"),
            ("sg-2", Some("web"), "vpc-b"),
            ("sg-4", None, "vpc-a"),
        ]);
        for toks_ in [
            &["web"][..],
            &["api", "web"],
            &["web", "api", "web"],
            &["nope"],
            &["sg-4", "web"],
            &["sg-9"],
        ] {
            for vpc in ["vpc-a", "vpc-b"] {
                let plain = LookupResolver::new(WorldLookup::new(&w), vpc).resolve(&toks(toks_));
                let fast =
                    LookupResolver::new(IndexedWorldLookup::new(&w), vpc).resolve(&toks(toks_));
                assert_eq!(plain, fast, "{toks_:?} in {vpc}");
            }
        }
    }

    #[test]
    fn unloaded_world_says_so() {
        let w = World::default();
        let r = LookupResolver::new(WorldLookup::new(&w), "vpc-a");
        assert_eq!(
            r.resolve(&toks(&["web"])).unwrap_err(),
            "couldn't find all security groups: security groups were not loaded"
        );
        assert_eq!(r.resolve(&[]).unwrap(), Vec::<String>::new());
    }
}
