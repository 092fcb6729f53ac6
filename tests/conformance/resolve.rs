//! Conformance handlers: `resolve.sg_name_or_id` (08-sg-resolution.yaml).
//!
//! The vector's AWS answers become an [`SgLookup`] (`by_ids` / `by_name_tag`), or, when the
//! vector lists the VPC's SGs (`security_groups_in_vpc`), a [`World`] read by `WorldLookup`.
//! Requests the core makes are checked against the vector's `request` / `filters`.

use std::cell::RefCell;

use lbsg::core::lbc::aws_error::AwsError;
use lbsg::core::lbc::resolve::{FoundSg, LookupResolver, SgLookup, SgResolver, WorldLookup};
use lbsg::world::{SecurityGroup, World};
use serde_json::{Value, json};

use crate::common::{Handler, Vector, check_error, str_of, string_list};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "resolve.sg_name_or_id" => Some(resolve_sg),
        _ => None,
    }
}

const DEFAULT_VPC: &str = "vpc-test";

/// Answers from the vector; records request mismatches.
struct VectorLookup<'a> {
    aws: &'a Value,
    problems: RefCell<Vec<String>>,
}

fn found_from(v: &Value) -> Vec<FoundSg> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|g| match g {
                    Value::String(id) => FoundSg {
                        id: id.clone(),
                        name_tag: None,
                    },
                    _ => FoundSg {
                        id: g.get("id").and_then(str_of).unwrap_or_default(),
                        name_tag: g.get("name_tag").and_then(str_of),
                    },
                })
                .collect()
        })
        .unwrap_or_default()
}

impl VectorLookup<'_> {
    fn answer(
        &self,
        call: &str,
        asked: &[String],
        expected: Option<Vec<String>>,
    ) -> Result<Vec<FoundSg>, AwsError> {
        let Some(spec) = self.aws.get(call) else {
            self.problems.borrow_mut().push(format!(
                "core called {call} {asked:?}, the vector has no answer"
            ));
            return Ok(Vec::new());
        };
        if let Some(want) = expected.filter(|w| w != asked) {
            self.problems.borrow_mut().push(format!(
                "{call}: core asked {asked:?}, vector expects {want:?}"
            ));
        }
        if let Some(e) = spec.get("error").and_then(str_of) {
            return Err(AwsError::parse(&e));
        }
        Ok(found_from(spec.get("found").unwrap_or(&Value::Null)))
    }
}

impl SgLookup for VectorLookup<'_> {
    fn by_ids(&self, ids: &[String]) -> Result<Vec<FoundSg>, AwsError> {
        let want = self
            .aws
            .get("by_ids")
            .and_then(|s| s.get("request"))
            .map(string_list);
        self.answer("by_ids", ids, want)
    }

    fn by_name_tags(&self, names: &[String], vpc_id: &str) -> Result<Vec<FoundSg>, AwsError> {
        let filters = self.aws.get("by_name_tag").and_then(|s| s.get("filters"));
        let want = filters.and_then(|f| f.get("tag:Name")).map(string_list);
        if let Some(vpcs) = filters.and_then(|f| f.get("vpc-id")).map(string_list) {
            // `<controller vpc>` is a placeholder for whatever VPC the resolver was given.
            if !vpcs.iter().any(|v| v == vpc_id || v.starts_with('<')) {
                self.problems.borrow_mut().push(format!(
                    "vpc-id filter: core used {vpc_id}, vector expects {vpcs:?}"
                ));
            }
        }
        self.answer("by_name_tag", names, want)
    }
}

fn world_from(sgs: &Value, vpc: &str) -> World {
    let mut w = World::default();
    let groups = sgs
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| {
                    let mut sg = SecurityGroup {
                        id: g.get("id").and_then(str_of).unwrap_or_default(),
                        name: g.get("group_name").and_then(str_of).unwrap_or_default(),
                        vpc_id: Some(
                            g.get("vpc_id")
                                .and_then(str_of)
                                .unwrap_or_else(|| vpc.to_string()),
                        ),
                        ..SecurityGroup::default()
                    };
                    if let Some(n) = g.get("name_tag").and_then(str_of) {
                        sg.tags.insert("Name".into(), n);
                    }
                    (sg.id.clone(), sg)
                })
                .collect()
        })
        .unwrap_or_default();
    w.aws.security_groups = Some(groups);
    w
}

fn resolve_sg(v: &Vector) -> Result<(), String> {
    let tokens = string_list(v.input("names_or_ids"));
    let vpc = v
        .input("vpc_id")
        .as_str()
        .unwrap_or(DEFAULT_VPC)
        .to_string();
    let aws = v.input("aws");
    let result = if let Some(sgs) = aws.get("security_groups_in_vpc") {
        let world = world_from(sgs, &vpc);
        LookupResolver::new(WorldLookup::new(&world), vpc).resolve(&tokens)
    } else {
        let lookup = VectorLookup {
            aws,
            problems: RefCell::new(Vec::new()),
        };
        let resolver = LookupResolver::new(lookup, vpc);
        let r = resolver.resolve(&tokens);
        let problems = resolver.lookup.problems.into_inner();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        r
    };
    let got = result.map(|ids| {
        let mut sorted = ids.clone();
        sorted.sort();
        json!({ "ids": ids, "ids_in_code_order": ids, "ids_any_order": sorted })
    });
    // `ids_any_order` compares sorted; sort the expectation too.
    let mut v = v.clone();
    if let Some(Value::Array(a)) = v.expected.get_mut("ids_any_order") {
        a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
    check_error(&v, &got)
}
