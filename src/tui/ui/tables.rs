//! The table views: resources, security groups, load balancers, findings. Each draws only the
//! visible window of its cached rows, plus a detail pane for the selected row.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use super::style::{exposure, fit, rule_owner, severity};
use crate::tui::layout::{self, Pane};
use crate::tui::model::{SgOwner, ViewData};
use crate::tui::state::{KindFilter, ListView, State};
use crate::tui::update::lists;

fn block<'a>(s: &State, title: String) -> Block<'a> {
    Block::bordered()
        .border_style(s.config.skin.border)
        .title(Span::styled(title, s.config.skin.title))
}

fn title<K>(name: &str, lv: &ListView<K>, sorts: &[&str], total: usize) -> String {
    let mut t = format!(" {name} ({}/{total})", lv.cursor.keys.len());
    if !lv.filter.is_empty() {
        t.push_str(&format!(" /{}", lv.filter));
    }
    if lv.sort != 0 || lv.reverse {
        t.push_str(&format!(
            " sort:{}{}",
            sorts.get(lv.sort).unwrap_or(&"?"),
            if lv.reverse { "↓" } else { "" }
        ));
    }
    t.push(' ');
    t
}

/// Render `rows` (already the visible window) with the cursor row highlighted.
/// Column headers and widths of a table.
struct Columns<'a> {
    header: Vec<&'a str>,
    widths: Vec<Constraint>,
}

fn table(
    s: &State,
    f: &mut Frame,
    area: Rect,
    block: Block<'_>,
    cols: Columns<'_>,
    rows: Vec<Row<'_>>,
    selected: Option<usize>,
) {
    let skin = &s.config.skin;
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if Some(i) == selected {
                r.style(skin.selected)
            } else {
                r
            }
        })
        .collect();
    let t = Table::new(rows, cols.widths)
        .header(Row::new(cols.header).style(skin.muted))
        .block(block)
        .column_spacing(1);
    f.render_widget(t, area);
}

fn window<K>(lv: &ListView<K>, cap: usize) -> (std::ops::Range<usize>, Option<usize>) {
    let start = lv.cursor.offset.min(lv.cursor.keys.len());
    let end = (start + cap).min(lv.cursor.keys.len());
    let sel = lv
        .cursor
        .pos
        .checked_sub(start)
        .filter(|p| *p < end - start);
    (start..end, sel)
}

pub fn resources(
    s: &State,
    f: &mut Frame,
    body: Rect,
    kind: KindFilter,
    lv: &ListView<crate::core::plan::ResourceRef>,
) {
    let d: &ViewData = &s.data;
    let skin = &s.config.skin;
    let (list, _) = layout::list_split(Pane::Resources, body);
    let (range, sel) = window(lv, layout::table_capacity(list));
    let wide = body.width >= 120;
    let g = &s.config.glyphs;
    // REACH is as wide as its widest visible cell: a large target group's `✓ 250/250`
    // would otherwise be cut to `✓ 250/`.
    let mut reach_width = 6;
    let rows: Vec<Row> = lv.cursor.keys[range]
        .iter()
        .filter_map(|k| d.resource(k))
        .map(|r| {
            let reach = if r.reach.blocked > 0 {
                Span::styled(
                    format!(
                        "{} {}/{}",
                        g.blocked,
                        r.reach.reachable,
                        r.reach.reachable + r.reach.blocked + r.reach.unknown
                    ),
                    skin.error,
                )
            } else if r.reach.reachable + r.reach.unknown == 0 {
                Span::styled("-".to_string(), skin.muted)
            } else {
                Span::styled(
                    format!(
                        "{} {}/{}",
                        g.ok,
                        r.reach.reachable,
                        r.reach.reachable + r.reach.unknown
                    ),
                    skin.ok,
                )
            };
            let badges: Vec<Span> = if d.findings.is_none() {
                vec![Span::styled("-", skin.muted)]
            } else {
                r.findings
                    .iter()
                    .map(|(sev, id)| Span::styled(format!("{id} "), severity(skin, *sev)))
                    .collect()
            };
            let mut cells = vec![
                Cell::from(Span::styled(r.kind, skin.muted)),
                Cell::from(r.namespace.clone()),
                Cell::from(r.name.clone()),
            ];
            if wide {
                cells.push(Cell::from(
                    format!("{} {}", r.lb_kind, r.lb).trim().to_string(),
                ));
            }
            cells.push(Cell::from(r.scheme.replace("internet-facing", "internet")));
            cells.push(Cell::from(Span::styled(
                r.exposure.text.clone(),
                exposure(skin, r.exposure.level),
            )));
            reach_width = reach_width.max(reach.width());
            cells.push(Cell::from(Line::from(reach)));
            cells.push(Cell::from(Line::from(badges)));
            Row::new(cells)
        })
        .collect();
    let reach_width = Constraint::Length(u16::try_from(reach_width.min(16)).unwrap_or(16));
    let (header, widths) = if wide {
        (
            vec![
                "KIND",
                "NAMESPACE",
                "NAME",
                "LOAD BALANCER",
                "SCHEME",
                "EXPOSURE",
                "REACH",
                "FINDINGS",
            ],
            vec![
                Constraint::Length(4),
                Constraint::Length(14),
                Constraint::Length(14),
                Constraint::Min(20),
                Constraint::Length(8),
                Constraint::Length(28),
                reach_width,
                Constraint::Length(16),
            ],
        )
    } else {
        (
            vec![
                "KIND",
                "NAMESPACE",
                "NAME",
                "SCHEME",
                "EXPOSURE",
                "REACH",
                "FINDINGS",
            ],
            vec![
                Constraint::Length(4),
                Constraint::Length(14),
                Constraint::Length(13),
                Constraint::Length(8),
                Constraint::Min(16),
                reach_width,
                Constraint::Length(8),
            ],
        )
    };
    let name = match kind {
        KindFilter::All => "services & ingresses",
        KindFilter::Services => "services",
        KindFilter::Ingresses => "ingresses",
    };
    let b = block(s, title(name, lv, lists::RESOURCE_SORTS, d.resources.len()));
    table(s, f, list, b, Columns { header, widths }, rows, sel);
}

pub fn sgs(s: &State, f: &mut Frame, body: Rect, lv: &ListView<String>) {
    let d = &s.data;
    let skin = &s.config.skin;
    let (list, detail) = layout::list_split(Pane::Sgs, body);
    let (range, sel) = window(lv, layout::table_capacity(list));
    let rows: Vec<Row> = lv.cursor.keys[range]
        .iter()
        .filter_map(|k| d.sg(k))
        .map(|sg| {
            let open = sg.rules.iter().any(|r| r.open);
            Row::new(vec![
                Cell::from(sg.id.clone()),
                Cell::from(sg.name.clone()),
                Cell::from(Span::styled(
                    sg.owner.label(),
                    if sg.owner.is_lbc() {
                        skin.key
                    } else {
                        skin.base
                    },
                )),
                Cell::from(Span::styled(
                    format!("{}", sg.rules.len()),
                    if open { skin.exposed } else { skin.base },
                )),
                Cell::from(sg.used_by.join(", ")),
            ])
        })
        .collect();
    let b = block(
        s,
        title("security groups", lv, lists::SG_SORTS, d.sgs.len()),
    );
    table(
        s,
        f,
        list,
        b,
        Columns {
            header: vec!["ID", "NAME", "OWNER", "IN", "USED BY"],
            widths: vec![
                Constraint::Length(16),
                Constraint::Length(28),
                Constraint::Length(12),
                Constraint::Length(3),
                Constraint::Min(10),
            ],
        },
        rows,
        sel,
    );
    let Some(sg) = lv.cursor.current().and_then(|k| d.sg(k)) else {
        return;
    };
    let owner_note = match &sg.owner {
        SgOwner::LbcFrontend { stack, .. } => {
            format!("managed by the LBC for {stack}: edit the annotation, not the rules")
        }
        SgOwner::LbcBackend => "the shared backend SG: no inbound rules by design".into(),
        SgOwner::User => {
            "user-owned: r edits its rules (LBC rules are re-added by the controller)".into()
        }
    };
    let rows: Vec<Row> = sg
        .rules
        .iter()
        .map(|r| {
            let src_style = if r.open { skin.exposed } else { skin.base };
            Row::new(vec![
                Cell::from(r.ports.clone()),
                Cell::from(Span::styled(r.source.clone(), src_style)),
                Cell::from(Span::styled(r.owner.label(), rule_owner(skin, r.owner))),
                Cell::from(r.description.clone()),
            ])
        })
        .collect();
    let b = block(s, format!(" {} inbound rules: {owner_note} ", sg.id));
    table(
        s,
        f,
        detail,
        b,
        Columns {
            header: vec!["PORTS", "SOURCE", "OWNER", "DESCRIPTION"],
            widths: vec![
                Constraint::Length(18),
                Constraint::Length(22),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        },
        rows,
        None,
    );
}

pub fn lbs(s: &State, f: &mut Frame, body: Rect, lv: &ListView<String>) {
    let d = &s.data;
    let skin = &s.config.skin;
    let (list, detail) = layout::list_split(Pane::Lbs, body);
    let (range, sel) = window(lv, layout::table_capacity(list));
    let rows: Vec<Row> = lv.cursor.keys[range]
        .iter()
        .filter_map(|k| d.lb(k))
        .map(|lb| {
            let health = if lb.total == 0 {
                Span::styled("-".to_string(), skin.muted)
            } else {
                Span::styled(
                    format!("{}/{}", lb.healthy, lb.total),
                    if lb.healthy < lb.total {
                        skin.error
                    } else {
                        skin.ok
                    },
                )
            };
            Row::new(vec![
                Cell::from(lb.name.clone()),
                Cell::from(lb.kind),
                Cell::from(lb.scheme.replace("internet-facing", "internet")),
                Cell::from(Line::from(health)),
                Cell::from(lb.owner.clone()),
                Cell::from(if lb.security_groups.is_empty() {
                    "(none)".to_string()
                } else {
                    lb.security_groups.join(",")
                }),
            ])
        })
        .collect();
    let b = block(s, title("load balancers", lv, lists::LB_SORTS, d.lbs.len()));
    table(
        s,
        f,
        list,
        b,
        Columns {
            header: vec![
                "NAME",
                "TYPE",
                "SCHEME",
                "HEALTH",
                "OWNER",
                "SECURITY GROUPS",
            ],
            widths: vec![
                Constraint::Length(32),
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(6),
                Constraint::Length(26),
                Constraint::Min(10),
            ],
        },
        rows,
        sel,
    );
    let Some(lb) = lv.cursor.current().and_then(|k| d.lb(k)) else {
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("listeners ", skin.muted),
        Span::raw(if lb.listeners.is_empty() {
            "(none)".to_string()
        } else {
            lb.listeners.join(", ")
        }),
    ])];
    for tg in &lb.target_groups {
        lines.push(Line::from(vec![
            Span::styled("TG ", skin.muted),
            Span::styled(tg.name.clone(), skin.title),
            Span::raw(format!(
                " {} {} {}{}",
                tg.protocol,
                tg.port.map(|p| p.to_string()).unwrap_or_default(),
                tg.target_type,
                tg.health_check_port
                    .as_deref()
                    .map(|p| format!(" hc {p}"))
                    .unwrap_or_default()
            )),
        ]));
        match &tg.targets {
            None => lines.push(Line::styled("   target health not loaded", skin.muted)),
            Some(ts) => {
                for t in ts {
                    let st = if t.state == "healthy" {
                        skin.ok
                    } else {
                        skin.error
                    };
                    let mut spans = vec![
                        Span::raw(format!(
                            "   {}:{} ",
                            t.id,
                            t.port.map(|p| p.to_string()).unwrap_or_default()
                        )),
                        Span::styled(t.state.clone(), st),
                    ];
                    if let Some(r) = &t.reason {
                        spans.push(Span::styled(format!(" {r}"), skin.muted));
                    }
                    lines.push(Line::from(spans));
                }
            }
        }
    }
    let b = block(s, format!(" {} ({} {}) ", lb.name, lb.kind, lb.scheme));
    f.render_widget(Paragraph::new(lines).block(b), detail);
}

pub fn findings(s: &State, f: &mut Frame, body: Rect, lv: &ListView<String>) {
    let d = &s.data;
    let skin = &s.config.skin;
    let Some(all) = &d.findings else {
        let text = vec![
            Line::from("The audit (core::audit) is not part of this build yet."),
            Line::from("Findings, their evidence and remedies appear here once it is."),
            Line::styled(
                "The graph (enter on a resource) already shows blocked hops and exposure.",
                skin.muted,
            ),
        ];
        f.render_widget(
            Paragraph::new(text).block(block(s, " findings ".into())),
            body,
        );
        return;
    };
    let (list, detail) = layout::list_split(Pane::Findings, body);
    let (range, sel) = window(lv, layout::table_capacity(list));
    let rows: Vec<Row> = lv.cursor.keys[range]
        .iter()
        .filter_map(|k| d.finding(k))
        .map(|x| {
            Row::new(vec![
                Cell::from(Span::styled(x.severity.label(), severity(skin, x.severity))),
                Cell::from(x.id.clone()),
                Cell::from(x.resource.clone()),
                Cell::from(x.title.clone()),
            ])
        })
        .collect();
    let b = block(s, title("findings", lv, lists::FINDING_SORTS, all.len()));
    table(
        s,
        f,
        list,
        b,
        Columns {
            header: vec!["SEVERITY", "ID", "RESOURCE", "TITLE"],
            widths: vec![
                Constraint::Length(8),
                Constraint::Length(4),
                Constraint::Length(30),
                Constraint::Min(10),
            ],
        },
        rows,
        sel,
    );
    let Some(x) = lv.cursor.current().and_then(|k| d.finding(k)) else {
        return;
    };
    let mut lines = vec![Line::from(Span::styled(
        x.title.clone(),
        severity(skin, x.severity),
    ))];
    for e in &x.evidence {
        lines.push(Line::from(format!("  {e}")));
    }
    if let Some(r) = &x.remedy {
        let hint = match (&r.edit, s.readonly) {
            (Some(_), false) => {
                let k = s.config.keymap.keys_text(
                    crate::tui::config::Section::Normal,
                    crate::tui::config::Intent::ApplyRemedy,
                );
                format!("   [{k}] plan it")
            }
            (Some(_), true) => "   (read-only: not applicable here)".into(),
            (None, _) => String::new(),
        };
        lines.push(Line::from(vec![
            Span::styled("remedy: ", skin.key),
            Span::raw(r.summary.clone()),
            Span::styled(hint, skin.muted),
        ]));
    }
    let b = block(
        s,
        format!(" {} {} ", x.id, fit(&x.resource, 60, s.config.glyphs.ascii)),
    );
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(b)
            .style(Style::default()),
        detail,
    );
}
