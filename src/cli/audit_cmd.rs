//! `lbsg audit`: exposure and diagnoses as a table, JSON (`lbsg.audit/v1`, `cli.md`), SARIF
//! 2.1.0 or Markdown. Only the report goes to stdout; notes and errors go to stderr.
//! Exit 0: no finding at or above `--fail-on`; 1: some; 2: the world could not be loaded.

use std::fmt::Write;
use std::process::ExitCode;

use serde::Serialize;

use super::args::{AuditArgs, AuditFormat, Severity as CliSeverity, SourceArgs};
use super::source::{self, WorldOrigin};
use crate::core::audit::{Audit, ExposureLine, Finding, Severity, audit};
use crate::core::export::sarif::sarif;

pub const SCHEMA: &str = "lbsg.audit/v1";

fn threshold(s: CliSeverity) -> Severity {
    match s {
        CliSeverity::Low => Severity::Low,
        CliSeverity::Medium => Severity::Medium,
        CliSeverity::High => Severity::High,
        CliSeverity::Critical => Severity::Critical,
    }
}

pub fn run_audit(src: &SourceArgs, a: &AuditArgs) -> ExitCode {
    let (world, origin) = match source::load(src) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lbsg audit: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = audit(&world);
    if let Some(ns) = &src.namespace {
        scope(&mut report, ns);
    }
    let out = match a.format {
        AuditFormat::Json => json(&report),
        AuditFormat::Sarif => {
            let uri = match &origin {
                WorldOrigin::Demo => "assets/demo/world.yaml".to_string(),
                WorldOrigin::File(p) => p.display().to_string().replace('\\', "/"),
                WorldOrigin::Live(_) => format!("cluster/{}", report.cluster),
            };
            pretty(&sarif(&report, &uri, env!("CARGO_PKG_VERSION")))
        }
        AuditFormat::Markdown => markdown(&report),
        AuditFormat::Table => table(&report),
    };
    let out = match out {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lbsg audit: cannot encode the report: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{out}");
    for n in &report.notes {
        eprintln!("lbsg audit: note: {n}");
    }
    if report.count_at_least(threshold(a.fail_on)) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Keep what concerns namespace `ns`: its Services and Ingresses, and cluster-wide findings
/// (SGs, IngressGroups) that name one of its objects.
pub fn scope(report: &mut Audit, ns: &str) {
    let in_ns = |r: &str| {
        let mut parts = r.split('/');
        matches!(
            (parts.next(), parts.next()),
            (Some("service" | "ingress"), Some(n)) if n == ns
        )
    };
    let namespaced = |r: &str| r.starts_with("service/") || r.starts_with("ingress/");
    report.findings.retain(|f| {
        in_ns(&f.resource) || (!namespaced(&f.resource) && f.objects.iter().any(|o| in_ns(o)))
    });
    report.exposure.retain(|e| in_ns(&e.resource));
}

#[derive(Serialize)]
struct JsonAudit<'a> {
    schema: &'static str,
    cluster: &'a str,
    findings: Vec<JsonFinding<'a>>,
    exposure: &'a [ExposureLine],
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    id: &'a str,
    severity: Severity,
    title: &'a str,
    resource: &'a str,
    objects: &'a [String],
    evidence: &'a [String],
    remedy: Option<JsonRemedy<'a>>,
}

#[derive(Serialize)]
struct JsonRemedy<'a> {
    summary: &'a str,
    /// The `lbsg apply …` that runs the fix; `null` when the fix is not an edit lbsg can make.
    command: Option<String>,
}

fn pretty<T: Serialize>(v: &T) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

/// The `lbsg.audit/v1` document.
pub fn json(report: &Audit) -> Result<String, serde_json::Error> {
    let doc = JsonAudit {
        schema: SCHEMA,
        cluster: &report.cluster,
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                id: &f.id,
                severity: f.severity,
                title: &f.title,
                resource: &f.resource,
                objects: &f.objects,
                evidence: &f.evidence,
                remedy: f.remedy.as_ref().map(|r| JsonRemedy {
                    summary: &r.summary,
                    command: r.command(),
                }),
            })
            .collect(),
        exposure: &report.exposure,
    };
    pretty(&doc)
}

fn counts(report: &Audit) -> String {
    if report.findings.is_empty() {
        return "no findings".into();
    }
    let mut parts = Vec::new();
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        if n > 0 {
            parts.push(format!("{n} {s}"));
        }
    }
    format!(
        "{} finding{} ({})",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Sources for a line of text: the first few, then how many in all.
fn sources_text(e: &ExposureLine) -> String {
    let mut s = if e.sources.len() > 3 {
        format!(
            "{}, … ({} in all)",
            e.sources[..3].join(", "),
            e.sources.len()
        )
    } else if e.sources.is_empty() {
        "nobody".to_string()
    } else {
        e.sources.join(", ")
    };
    if e.internet {
        s.push_str(" (internet)");
    }
    s
}

fn targets_text(e: &ExposureLine) -> String {
    let t = &e.targets;
    let mut s = format!("{} reachable, {} blocked", t.reachable, t.blocked);
    if !t.ports.is_empty() {
        s.push_str(&format!(" on {}", t.ports.join(", ")));
    }
    s
}

/// Columns padded to their widest cell.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn details(out: &mut String, f: &Finding, indent: &str) {
    for e in &f.evidence {
        let _ = writeln!(out, "{indent}- {e}");
    }
    if !f.objects.is_empty() {
        let _ = writeln!(out, "{indent}objects: {}", f.objects.join(", "));
    }
    if let Some(r) = &f.remedy {
        let _ = writeln!(out, "{indent}fix: {}", r.summary);
        if let Some(c) = r.command() {
            let _ = writeln!(out, "{indent}run: {c}");
        }
    }
}

/// The human report.
pub fn table(report: &Audit) -> Result<String, serde_json::Error> {
    let mut out = format!(
        "lbsg audit of cluster {}: {}\n",
        if report.cluster.is_empty() {
            "(unnamed)"
        } else {
            &report.cluster
        },
        counts(report)
    );
    if !report.findings.is_empty() {
        out.push('\n');
        let mut rows = vec![vec![
            "SEVERITY".to_string(),
            "ID".into(),
            "RESOURCE".into(),
            "TITLE".into(),
        ]];
        for f in &report.findings {
            rows.push(vec![
                f.severity.to_string(),
                f.id.clone(),
                f.resource.clone(),
                f.title.clone(),
            ]);
        }
        out.push_str(&columns(&rows));
        for f in &report.findings {
            let _ = writeln!(
                out,
                "\n{} {} {} — {}",
                f.severity, f.id, f.resource, f.title
            );
            details(&mut out, f, "  ");
        }
    }
    if !report.exposure.is_empty() {
        out.push_str("\nExposure\n");
        let mut rows = vec![vec![
            "RESOURCE".to_string(),
            "SCHEME".into(),
            "LISTENER".into(),
            "SOURCES".into(),
            "TARGETS".into(),
        ]];
        for e in &report.exposure {
            rows.push(vec![
                e.resource.clone(),
                e.scheme.clone(),
                e.listener.clone(),
                sources_text(e),
                targets_text(e),
            ]);
        }
        out.push_str(&columns(&rows));
    }
    Ok(out)
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report (tickets, pull requests).
pub fn markdown(report: &Audit) -> Result<String, serde_json::Error> {
    let mut out = format!(
        "# lbsg audit: cluster {}\n\n{}.\n",
        md(&report.cluster),
        counts(report)
    );
    if !report.findings.is_empty() {
        out.push_str("\n| Severity | ID | Resource | Title |\n|---|---|---|---|\n");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} |",
                f.severity,
                f.id,
                md(&f.resource),
                md(&f.title)
            );
        }
        for f in &report.findings {
            let _ = writeln!(
                out,
                "\n## {} `{}` ({})\n\n{}\n",
                f.id,
                md(&f.resource),
                f.severity,
                md(&f.title)
            );
            for e in &f.evidence {
                let _ = writeln!(out, "- {}", md(e));
            }
            if !f.objects.is_empty() {
                let objs: Vec<String> = f.objects.iter().map(|o| format!("`{}`", md(o))).collect();
                let _ = writeln!(out, "\nObjects: {}", objs.join(", "));
            }
            if let Some(r) = &f.remedy {
                let _ = writeln!(out, "\n**Fix:** {}", md(&r.summary));
                if let Some(c) = r.command() {
                    let _ = writeln!(out, "\n```sh\n{c}\n```");
                }
            }
        }
    }
    if !report.exposure.is_empty() {
        out.push_str(
            "\n## Exposure\n\n| Resource | Scheme | Listener | Sources | Targets |\n|---|---|---|---|---|\n",
        );
        for e in &report.exposure {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                md(&e.resource),
                e.scheme,
                e.listener,
                md(&sources_text(e)),
                md(&targets_text(e))
            );
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\n## Not decided\n\n");
        for n in &report.notes {
            let _ = writeln!(out, "- {}", md(n));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::Remedy;

    fn report() -> Audit {
        let f = |id: &str, sev, res: &str, objects: &[&str]| {
            let mut f = Finding::new(id, sev, res).evidence("seen | here");
            f.objects = objects.iter().map(|s| s.to_string()).collect();
            f
        };
        Audit {
            cluster: "c".into(),
            findings: vec![
                f("D07", Severity::High, "service/a/web", &["sg-1"])
                    .remedy(Remedy::manual("do it")),
                f("D24", Severity::Low, "sg-1", &["service/b/x"]),
                f("D27", Severity::Low, "sg-2", &[]),
            ],
            exposure: vec![],
            notes: vec!["something unknown".into()],
        }
    }

    #[test]
    fn json_has_the_contract_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&report()).unwrap()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schema", "cluster", "findings", "exposure"]);
        let f = &v["findings"][0];
        let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id", "severity", "title", "resource", "objects", "evidence", "remedy"
            ]
        );
        assert_eq!(f["severity"], "high");
        assert_eq!(f["remedy"]["summary"], "do it");
        assert!(f["remedy"]["command"].is_null());
        assert!(v["findings"][1]["remedy"].is_null());
    }

    #[test]
    fn namespace_scope_keeps_its_objects_and_related_sgs() {
        let mut r = report();
        scope(&mut r, "b");
        let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["D24"]);
    }

    #[test]
    fn markdown_escapes_pipes_and_lists_notes() {
        let m = markdown(&report()).unwrap();
        assert!(m.contains("seen \\| here"));
        assert!(m.contains("## Not decided"));
        let t = table(&report()).unwrap();
        assert!(t.starts_with("lbsg audit of cluster c: 3 findings (1 high, 2 low)"));
    }
}
