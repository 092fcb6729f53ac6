//! An audit as SARIF 2.1.0 for code-scanning UIs. Every catalogue id is a rule (the usual
//! severity as `security-severity`); every finding a result with its own level, a location in
//! the world's source (GitHub needs a physical location with a start line) plus the Kubernetes
//! or AWS resource as a logical location, and a fingerprint stable across runs.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::core::audit::catalogue::ENTRIES;
use crate::core::audit::{Audit, Finding, Severity};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF `level` of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` score (critical ≥ 9.0, high 7.0–8.9, medium 4.0–6.9, low < 4).
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.id.as_bytes());
    h.update([0]);
    h.update(f.resource.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    hex[..32].to_string()
}

fn message(f: &Finding) -> String {
    let mut s = format!("{}: {}.", f.resource, f.title);
    for e in &f.evidence {
        s.push(' ');
        s.push_str(e);
        if !e.ends_with('.') {
            s.push('.');
        }
    }
    if let Some(r) = &f.remedy {
        s.push_str(&format!(" Fix: {}.", r.summary));
    }
    s
}

/// The SARIF log of an audit. `artifact_uri` names the world's source (a world file path, the
/// demo's asset path); `version` is lbsg's.
pub fn sarif(audit: &Audit, artifact_uri: &str, version: &str) -> Value {
    let rules: Vec<Value> = ENTRIES
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "name": e.name,
                "shortDescription": {"text": e.title},
                "fullDescription": {"text": e.description},
                "help": {
                    "text": format!("{} See docs/diagnoses.md ({}).", e.description, e.id),
                    "markdown": format!("**{}** — {}\n\nSee `docs/diagnoses.md` ({}).", e.title, e.description, e.id),
                },
                "defaultConfiguration": {"level": level(e.severity)},
                "properties": {
                    "tags": ["security", "aws", "kubernetes", "security-group"],
                    "precision": "high",
                    "security-severity": security_severity(e.severity),
                },
            })
        })
        .collect();
    let results: Vec<Value> = audit
        .findings
        .iter()
        .map(|f| {
            let index = ENTRIES.iter().position(|e| e.id == f.id);
            let mut props = json!({
                "severity": f.severity.as_str(),
                "resource": f.resource,
                "objects": f.objects,
                "evidence": f.evidence,
            });
            if let Some(r) = &f.remedy {
                props["remedy"] = json!({"summary": r.summary, "command": r.command()});
            }
            let mut result = json!({
                "ruleId": f.id,
                "level": level(f.severity),
                "message": {"text": message(f)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [{
                        "fullyQualifiedName": f.resource,
                        "kind": "resource",
                    }],
                }],
                "partialFingerprints": {"lbsgFinding/v1": fingerprint(f)},
                "properties": props,
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lbsg",
                "version": version,
                "semanticVersion": version,
                "rules": rules,
            }},
            "automationDetails": {"id": format!("lbsg/audit/{}/", audit.cluster)},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"cluster": audit.cluster, "exposure": audit.exposure},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;
    use crate::core::audit::{Remedy, audit};

    /// SARIF 2.1.0's required members, checked one by one (the schema itself is not vendored).
    #[test]
    fn carries_what_sarif_and_code_scanning_require() {
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(crate::world::SgRule {
                rule: tcp(22, "0.0.0.0/0"),
                id: None,
                tags: Default::default(),
            });
        let mut a = audit(&w);
        assert!(!a.findings.is_empty());
        a.findings[0].remedy = Some(Remedy::manual("by hand"));
        let v = sarif(&a, "world.yaml", "0.1.0");
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["$schema"], SCHEMA);
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "lbsg");
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), ENTRIES.len());
        for r in rules {
            assert!(r["id"].is_string() && r["shortDescription"]["text"].is_string());
            let level = r["defaultConfiguration"]["level"].as_str().unwrap();
            assert!(["none", "note", "warning", "error"].contains(&level));
            let score: f64 = r["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&score));
        }
        let results = runs[0]["results"].as_array().unwrap();
        assert_eq!(results.len(), a.findings.len());
        for (res, f) in results.iter().zip(&a.findings) {
            assert_eq!(res["ruleId"], f.id.as_str());
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], f.id.as_str());
            assert!(!res["message"]["text"].as_str().unwrap().is_empty());
            let loc = &res["locations"][0];
            assert_eq!(
                loc["physicalLocation"]["artifactLocation"]["uri"],
                "world.yaml"
            );
            assert!(
                loc["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
                    >= 1
            );
            assert_eq!(
                loc["logicalLocations"][0]["fullyQualifiedName"],
                f.resource.as_str()
            );
            assert_eq!(
                res["partialFingerprints"]["lbsgFinding/v1"]
                    .as_str()
                    .unwrap()
                    .len(),
                32
            );
        }
        assert_eq!(results[0]["level"], "error"); // X01 is critical
        assert_eq!(results[0]["properties"]["remedy"]["summary"], "by hand");
        // the same world gives the same bytes
        let again = |w: &crate::world::World| sarif(&audit(w), "world.yaml", "0.1.0").to_string();
        assert_eq!(again(&w), again(&w));
    }
}
