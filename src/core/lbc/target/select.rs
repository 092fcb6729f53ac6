//! Which SG of a target ENI receives the rules (lbc-semantics §8.2, `resolveEndpointSGForENI`).

use std::collections::{BTreeMap, BTreeSet};

use crate::world::Tags;

/// The endpoint SG of one ENI: its only SG, or else the single SG carrying the tag key
/// `kubernetes.io/cluster/<cluster>` (any value) plus every `extra_tags` pair
/// (`--service-target-eni-security-group-tags`). `sg_tags` answers the tags of an SG, `None`
/// when the SG is unknown. Errors carry the LBC's exact text.
pub fn select_target_sg<'t>(
    cluster: &str,
    extra_tags: &BTreeMap<String, String>,
    eni_id: &str,
    eni_sgs: &[String],
    sg_tags: &dyn Fn(&str) -> Option<&'t Tags>,
) -> Result<String, String> {
    if let [only] = eni_sgs {
        return Ok(only.clone());
    }
    let missing: BTreeSet<&str> = eni_sgs
        .iter()
        .map(String::as_str)
        .filter(|id| sg_tags(id).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "couldn't fetch SecurityGroupInfos: {}",
            go_list(missing.iter().copied())
        ));
    }
    let cluster_key = format!("kubernetes.io/cluster/{cluster}");
    let matching: BTreeSet<&str> = eni_sgs
        .iter()
        .map(String::as_str)
        .filter(|id| {
            sg_tags(id).is_some_and(|tags| {
                tags.contains_key(&cluster_key)
                    && extra_tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            })
        })
        .collect();
    if let (1, Some(sg)) = (matching.len(), matching.first()) {
        return Ok(sg.to_string());
    }
    let got = go_list(matching.iter().copied());
    if extra_tags.is_empty() {
        Err(format!(
            "expected exactly one securityGroup tagged with {cluster_key} for eni {eni_id}, got: {got} (clusterName: {cluster})"
        ))
    } else {
        Err(format!(
            "expected exactly one securityGroup tagged with {cluster_key} and {} for eni {eni_id}, got: {got} (clusterName: {cluster})",
            go_map(extra_tags)
        ))
    }
}

/// Go's `%v` of a string slice: `[a b]`.
pub(crate) fn go_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(" "))
}

/// Go's `%v` of a `map[string]string` (keys sorted): `map[k:v k2:v2]`.
fn go_map(m: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", pairs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sgs(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn extra_tags_must_all_match_and_error_lists_them_as_a_go_map() {
        let db: BTreeMap<String, Tags> = BTreeMap::from([
            ("sg-a".into(), tags(&[("kubernetes.io/cluster/c", "owned")])),
            (
                "sg-b".into(),
                tags(&[("kubernetes.io/cluster/c", ""), ("x", "1"), ("y", "2")]),
            ),
        ]);
        let lookup = |id: &str| db.get(id);
        let extra = BTreeMap::from([("y".into(), "2".into()), ("x".into(), "1".into())]);
        assert_eq!(
            select_target_sg("c", &extra, "eni-1", &sgs(&["sg-a", "sg-b"]), &lookup),
            Ok("sg-b".to_string())
        );
        let extra = BTreeMap::from([("y".into(), "2".into()), ("x".into(), "9".into())]);
        assert_eq!(
            select_target_sg("c", &extra, "eni-1", &sgs(&["sg-a", "sg-b"]), &lookup),
            Err("expected exactly one securityGroup tagged with kubernetes.io/cluster/c and map[x:9 y:2] for eni eni-1, got: [] (clusterName: c)".to_string())
        );
    }

    #[test]
    fn unknown_sg_is_reported_like_a_failed_fetch() {
        let lookup = |_: &str| None;
        assert_eq!(
            select_target_sg(
                "c",
                &BTreeMap::new(),
                "eni-1",
                &sgs(&["sg-b", "sg-a"]),
                &lookup
            ),
            Err("couldn't fetch SecurityGroupInfos: [sg-a sg-b]".to_string())
        );
        // a single SG needs no lookup at all
        assert_eq!(
            select_target_sg("c", &BTreeMap::new(), "eni-1", &sgs(&["sg-z"]), &lookup),
            Ok("sg-z".to_string())
        );
    }
}
