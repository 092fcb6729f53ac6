//! Edits: the annotation and rule editors, the LBC-owned-SG offer, the plan dialog, apply.
//! Every path refuses in read-only mode before anything is planned or applied.

use std::sync::Arc;

use ratatui::crossterm::event::KeyEvent;

use super::{flash, install};
use crate::core::plan::{ApplyReport, Edit, ResourceRef};
use crate::tui::action::Loaded;
use crate::tui::config::keymap::{Intent, KeySpec, Section};
use crate::tui::effect::Effect;
use crate::tui::fields::{self, kind_of};
use crate::tui::model::graph::NodeLink;
use crate::tui::model::plan::PlanPreview;
use crate::tui::model::{SgOwner, SgRow};
use crate::tui::state::{
    AnnotationEditor, Level, Offer, Overlay, PlanDialog, RuleEditor, State, View,
};
use crate::world::World;

const READONLY: &str = "read-only mode (--readonly): edits are disabled";

/// The resource the current view is about.
pub fn current_resource(s: &State) -> Option<ResourceRef> {
    match s.view() {
        View::Resources(_, lv) => lv.cursor.current().cloned(),
        View::Graph(g) => Some(g.root.clone()),
        View::Findings(lv) => lv
            .cursor
            .current()
            .and_then(|k| s.data.finding(k))
            .and_then(|f| f.resource_ref()),
        View::Sgs(lv) => lv
            .cursor
            .current()
            .and_then(|id| s.data.sg(id))
            .and_then(|sg| match &sg.owner {
                SgOwner::LbcFrontend { resources, .. } => resources.first().cloned(),
                _ => None,
            }),
        View::Lbs(lv) => lv
            .cursor
            .current()
            .and_then(|arn| s.data.graphs.iter().find(|(_, g)| g.lbs.contains(arn)))
            .map(|(r, _)| r.clone()),
        View::Drift { .. } | View::Contexts(_) => None,
    }
}

/// The SG the current view points at.
fn current_sg(s: &State) -> Option<String> {
    match s.view() {
        View::Sgs(lv) => lv.cursor.current().cloned(),
        View::Graph(g) => {
            let node = s.data.graphs.get(&g.root)?.node(g.selected.as_deref()?)?;
            match &node.link {
                NodeLink::Sg(id) => Some(id.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn open_annotations(s: &mut State) -> Vec<Effect> {
    let Some(r) = current_resource(s) else {
        flash(s, Level::Warn, "select a Service or Ingress first");
        return Vec::new();
    };
    open_annotation_editor(s, &r, None);
    Vec::new()
}

fn open_annotation_editor(s: &mut State, r: &ResourceRef, focus: Option<&str>) {
    let editor = s
        .world
        .as_deref()
        .and_then(|w| AnnotationEditor::open(w, r, focus));
    match editor {
        Some(e) => s.overlay = Some(Overlay::Annotations(e)),
        None => flash(s, Level::Warn, format!("{r} is not in the loaded world")),
    }
}

pub fn open_rules(s: &mut State) -> Vec<Effect> {
    let Some(id) = current_sg(s) else {
        flash(
            s,
            Level::Warn,
            "select a security group first (in :sg, or an SG node of the graph)",
        );
        return Vec::new();
    };
    let Some(sg) = s.data.sg(&id).cloned() else {
        flash(s, Level::Warn, format!("{id} is not in the loaded world"));
        return Vec::new();
    };
    s.overlay = Some(match &sg.owner {
        SgOwner::User => Overlay::Rules(RuleEditor::new(
            &sg.id,
            sg.rules.iter().map(|r| (r.rule.clone(), r.owner)).collect(),
        )),
        _ => Overlay::Offer(lbc_owned_offer(&sg)),
    });
    Vec::new()
}

/// Why a rule edit on an LBC-owned SG is pointless, and the annotation that does the job.
pub fn lbc_owned_offer(sg: &SgRow) -> Offer {
    match &sg.owner {
        SgOwner::LbcFrontend { stack, resources } => {
            let target = resources.first().map(|r| (r.clone(), fields::source_field(kind_of(r))));
            let mut lines = vec![
                format!("{} is the frontend SG the Load Balancer Controller manages for {stack}.", sg.id),
                "The LBC owns every inbound rule on it and reverts hand edits on its next reconcile.".into(),
                String::new(),
            ];
            match &target {
                Some((r, field)) => {
                    lines.push(format!("Say who may connect with the {field} annotation of {r} instead."));
                }
                None => lines.push(format!("No Service or Ingress of stack {stack} is loaded; nothing to edit.")),
            }
            Offer {
                title: format!("{}: managed by the LBC", sg.id),
                lines,
                annotation: target,
            }
        }
        _ => Offer {
            title: format!("{}: the shared backend SG", sg.id),
            lines: vec![
                format!("{} is the cluster's shared backend SG: it has no inbound rules by design.", sg.id),
                "Target SGs admit it. To have the LBC add those rules for a load balancer with".into(),
                "custom SGs, set manage-backend-security-group-rules=true on its Service or Ingress (e).".into(),
            ],
            annotation: None,
        },
    }
}

pub fn apply_remedy(s: &mut State) -> Vec<Effect> {
    let View::Findings(lv) = s.view() else {
        flash(
            s,
            Level::Warn,
            "f applies the remedy of the selected finding: open :findings",
        );
        return Vec::new();
    };
    let Some(f) = lv.cursor.current().and_then(|k| s.data.finding(k)).cloned() else {
        flash(s, Level::Warn, "no finding selected");
        return Vec::new();
    };
    match f
        .remedy
        .as_ref()
        .and_then(|r| r.edit.clone().map(|e| (r.summary.clone(), e)))
    {
        Some((summary, edit)) => {
            start_plan(s, edit, format!("{} {}: {summary}", f.id, f.resource), None)
        }
        None => {
            let why = f
                .remedy
                .map(|r| r.summary)
                .unwrap_or_else(|| "no remedy".into());
            flash(
                s,
                Level::Info,
                format!("{}: {why} (not an edit lbsg can plan)", f.id),
            );
            Vec::new()
        }
    }
}

/// Open the plan dialog for an edit and ask for the plan.
pub fn start_plan(s: &mut State, edit: Edit, title: String, back: Option<Overlay>) -> Vec<Effect> {
    if s.readonly {
        flash(s, Level::Warn, READONLY);
        return Vec::new();
    }
    let Some(world) = s.world.clone() else {
        flash(s, Level::Warn, "no world loaded yet");
        return Vec::new();
    };
    let request = s.next_request;
    s.next_request += 1;
    s.overlay = Some(Overlay::Plan(Box::new(PlanDialog {
        request,
        title,
        edit: edit.clone(),
        world: Arc::clone(&world),
        preview: None,
        error: None,
        apply_focused: false,
        scroll: 0,
        applying: false,
        note: None,
        replan: false,
        back: back.map(Box::new),
    })));
    s.dirty = true;
    vec![Effect::ComputePlan {
        request,
        world,
        edit,
    }]
}

pub fn plan_computed(s: &mut State, request: u64, result: Result<Box<PlanPreview>, String>) {
    let Some(Overlay::Plan(p)) = &mut s.overlay else {
        return;
    };
    if p.request != request {
        return;
    }
    match result {
        Ok(preview) => p.preview = Some(*preview),
        Err(e) => p.error = Some(e),
    }
    s.dirty = true;
}

pub fn plan_applied(
    s: &mut State,
    request: u64,
    loaded: Option<Loaded>,
    report: &ApplyReport,
    message: String,
) {
    let ours = matches!(&s.overlay, Some(Overlay::Plan(p)) if p.request == request);
    if let Some(l) = loaded {
        install(s, l);
    }
    if !ours {
        return;
    }
    s.overlay = None;
    let level = if report.is_complete() {
        Level::Info
    } else {
        Level::Warn
    };
    flash(s, level, message);
}

pub fn plan_apply_failed(s: &mut State, request: u64, error: String) {
    if let Some(Overlay::Plan(p)) = &mut s.overlay
        && p.request == request
    {
        p.applying = false;
        p.error = Some(error.clone());
    }
    flash(s, Level::Error, format!("apply failed: {error}"));
}

/// Something the plan read changed since it was shown (409): nothing was written. Never retry
/// the old plan; plan the same edit again on the current world and show that instead.
pub fn plan_conflict(s: &mut State, request: u64, message: String) -> Vec<Effect> {
    flash(s, Level::Warn, format!("planning again: {message}"));
    let Some(Overlay::Plan(p)) = &mut s.overlay else {
        return Vec::new();
    };
    if p.request != request {
        return Vec::new();
    }
    p.applying = false;
    p.apply_focused = false;
    // The old plan can no longer be applied; the dialog waits for the object as it is now.
    p.preview = None;
    p.error = None;
    p.note = Some(format!(
        "Planned again: {message}. Nothing was written; this plan is computed on the state as it is now."
    ));
    p.replan = true;
    replan_pending(s)
}

/// Whether what `edit` is about differs between two worlds (so a plan made on `new` is not the
/// plan that met the conflict).
fn subject_changed(old: &World, new: &World, edit: &Edit) -> bool {
    match edit {
        Edit::Annotations { resource, .. } => {
            let version = |w: &World| match resource {
                ResourceRef::Service(k) => w
                    .kube
                    .services
                    .as_ref()
                    .and_then(|m| m.get(k))
                    .map(|o| o.meta.resource_version.clone()),
                ResourceRef::Ingress(k) => w
                    .kube
                    .ingresses
                    .as_ref()
                    .and_then(|m| m.get(k))
                    .map(|o| o.meta.resource_version.clone()),
            };
            version(old) != version(new)
        }
        Edit::Rules { sg, .. } => {
            let group = |w: &World| {
                w.aws
                    .security_groups
                    .as_ref()
                    .and_then(|m| m.get(sg))
                    .cloned()
            };
            group(old) != group(new)
        }
        Edit::ControllerFlag { .. } => true,
    }
}

/// After a conflict, re-plan once a world is in where the edited object has changed (a world
/// delivered before the watch saw the other writer would only reproduce the conflict).
pub fn replan_pending(s: &mut State) -> Vec<Effect> {
    let Some(world) = s.world.clone() else {
        return Vec::new();
    };
    let Some(Overlay::Plan(p)) = &mut s.overlay else {
        return Vec::new();
    };
    if !p.replan || p.applying || !subject_changed(&p.world, &world, &p.edit) {
        return Vec::new();
    }
    let request = s.next_request;
    s.next_request += 1;
    p.request = request;
    p.world = Arc::clone(&world);
    p.preview = None;
    p.error = None;
    p.replan = false;
    p.scroll = 0;
    s.dirty = true;
    vec![Effect::ComputePlan {
        request,
        world,
        edit: p.edit.clone(),
    }]
}

/// Keys of the plan dialog and of the offer (both use the `[plan]` keymap section).
pub fn dialog_intent(s: &mut State, i: Intent) -> Vec<Effect> {
    s.dirty = true;
    match s.overlay.take() {
        Some(Overlay::Offer(o)) => {
            match i {
                Intent::Activate => match &o.annotation {
                    Some((r, field)) if !s.readonly => open_annotation_editor(s, r, Some(field)),
                    _ => {}
                },
                Intent::Cancel => {}
                _ => s.overlay = Some(Overlay::Offer(o)),
            }
            Vec::new()
        }
        Some(Overlay::Plan(mut p)) => {
            let applicable =
                p.preview.as_ref().is_some_and(|pv| pv.blocked.is_none()) && !s.readonly;
            match i {
                Intent::DialogNext | Intent::DialogPrev => {
                    p.apply_focused = applicable && !p.apply_focused
                }
                Intent::ScrollDown => {
                    let lines = p.preview.as_ref().map_or(0, |pv| pv.lines.len());
                    p.scroll = (p.scroll + 1).min(lines.saturating_sub(1) as u16);
                }
                Intent::ScrollUp => p.scroll = p.scroll.saturating_sub(1),
                Intent::Cancel if !p.applying => {
                    s.overlay = p.back.map(|b| *b);
                    return Vec::new();
                }
                Intent::Activate if p.applying => {}
                Intent::Activate if p.apply_focused && applicable => {
                    let Some(preview) = &p.preview else {
                        return Vec::new();
                    };
                    p.applying = true;
                    let effect = Effect::ApplyPlan {
                        request: p.request,
                        world: Arc::clone(&p.world),
                        plan: preview.plan.clone(),
                    };
                    s.overlay = Some(Overlay::Plan(p));
                    return vec![effect];
                }
                Intent::Activate => {
                    // Cancel was focused: close, back to the editor if one led here.
                    s.overlay = p.back.map(|b| *b);
                    return Vec::new();
                }
                _ => {}
            }
            s.overlay = Some(Overlay::Plan(p));
            Vec::new()
        }
        other => {
            s.overlay = other;
            Vec::new()
        }
    }
}

/// Keys in the editors: text fields take printable and editing keys first.
pub fn form_key(s: &mut State, ev: &KeyEvent, spec: &KeySpec) -> Vec<Effect> {
    let Some(world) = s.world.clone() else {
        return Vec::new();
    };
    let mut overlay = s.overlay.take();
    let typed = match &mut overlay {
        Some(Overlay::Annotations(e)) => {
            let handled = e
                .fields
                .get_mut(e.focus)
                .is_some_and(|f| f.input.handle(ev));
            if handled {
                e.revalidate(&world);
            }
            handled
        }
        Some(Overlay::Rules(e)) if e.on_input() => {
            let handled = e.input.handle(ev);
            if handled {
                e.revalidate(&world);
            }
            handled
        }
        _ => false,
    };
    if typed {
        s.overlay = overlay;
        return Vec::new();
    }
    let intent = s.config.keymap.lookup(Section::Form, spec);
    if s.config.keymap.lookup(Section::Normal, spec) == Some(Intent::ForceQuit) {
        s.quit = true;
        return Vec::new();
    }
    match (intent, overlay) {
        (Some(Intent::Cancel), _) => Vec::new(),
        (Some(Intent::NextField), Some(mut o)) | (Some(Intent::PrevField), Some(mut o)) => {
            let forward = intent == Some(Intent::NextField);
            let (focus, n) = match &mut o {
                Overlay::Annotations(e) => (&mut e.focus, e.fields.len()),
                Overlay::Rules(e) => (&mut e.focus, e.rules.len() + 1),
                _ => {
                    s.overlay = Some(o);
                    return Vec::new();
                }
            };
            if n > 0 {
                *focus = if forward {
                    (*focus + 1) % n
                } else {
                    (*focus + n - 1) % n
                };
            }
            s.overlay = Some(o);
            Vec::new()
        }
        (Some(Intent::ToggleRemove), Some(Overlay::Rules(mut e))) => {
            if let Some(r) = e.rules.get_mut(e.focus) {
                r.remove = !r.remove;
            }
            s.overlay = Some(Overlay::Rules(e));
            Vec::new()
        }
        (Some(Intent::Submit), Some(o)) => {
            let (edit, title) = match &o {
                Overlay::Annotations(e) => (e.edit(), format!("annotations of {}", e.resource)),
                Overlay::Rules(e) => (e.edit(&world), format!("inbound rules of {}", e.sg)),
                _ => (Err(String::new()), String::new()),
            };
            match edit {
                Ok(edit) => start_plan(s, edit, title, Some(o)),
                Err(msg) => {
                    s.overlay = Some(o);
                    flash(s, Level::Warn, msg);
                    Vec::new()
                }
            }
        }
        (_, o) => {
            s.overlay = o;
            Vec::new()
        }
    }
}
