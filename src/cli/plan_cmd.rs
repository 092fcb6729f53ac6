//! `lbsg plan` and `lbsg apply`: an edit through the reconcile core, printed like a terraform
//! plan, applied only after confirmation.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use super::args::{ApplyArgs, EditArgs, PlanFormat, SourceArgs};
use super::source::{self, WorldOrigin};
use crate::core::plan::apply::apply_to_world;
use crate::core::plan::edit::{ResourceRef, parse_rule};
use crate::core::plan::render::render_text;
use crate::core::plan::{Edit, Owner, Plan, plan};
use crate::world::World;
use crate::world::file::save_path_atomic;

/// Build the edit the flags describe; the message names what is wrong.
pub fn edit_from_args(a: &EditArgs) -> Result<Edit, String> {
    if a.target.starts_with("sg-") {
        if !a.set.is_empty() || !a.unset.is_empty() {
            return Err(format!(
                "{} is a security group: use --add-rule/--remove-rule (--set/--unset are for service/… and ingress/…)",
                a.target
            ));
        }
        let add = a
            .add_rule
            .iter()
            .map(|r| parse_rule(r))
            .collect::<Result<Vec<_>, _>>()?;
        let remove = a
            .remove_rule
            .iter()
            .map(|r| parse_rule(r))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Edit::Rules {
            sg: a.target.clone(),
            add,
            remove,
        });
    }
    let resource = ResourceRef::parse(&a.target)?;
    if !a.add_rule.is_empty() || !a.remove_rule.is_empty() {
        return Err(format!(
            "{resource} is not a security group: --add-rule/--remove-rule take an sg-… target; use --set/--unset for annotations"
        ));
    }
    let mut set = std::collections::BTreeMap::new();
    for kv in &a.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--set {kv:?}: expected KEY=VALUE"))?;
        if k.trim().is_empty() {
            return Err(format!("--set {kv:?}: the annotation key is empty"));
        }
        set.insert(k.trim().to_string(), v.to_string());
    }
    Ok(Edit::Annotations {
        resource,
        set,
        unset: a.unset.clone(),
    })
}

fn make_plan(src: &SourceArgs, a: &EditArgs) -> Result<(World, WorldOrigin, Plan), String> {
    let edit = edit_from_args(a)?;
    let (world, origin) = source::load(src)?;
    let p = plan(&world, &edit).map_err(|e| e.to_string())?;
    Ok((world, origin, p))
}

fn print_plan(world: &World, p: &Plan, format: PlanFormat) {
    match format {
        PlanFormat::Text => print!("{}", render_text(world, p, &p.exposure.lines())),
        PlanFormat::Json => match serde_json::to_string_pretty(p) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("lbsg: cannot encode the plan: {e}"),
        },
    }
}

/// `lbsg plan`: exit 0 with the plan printed (even if empty), 2 for an invalid edit.
pub fn run_plan(src: &SourceArgs, a: &EditArgs) -> ExitCode {
    match make_plan(src, a) {
        Ok((world, _, p)) => {
            print_plan(&world, &p, a.format);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lbsg plan: {e}");
            ExitCode::from(2)
        }
    }
}

/// `lbsg apply`: 0 applied, 1 declined or nothing to do, 2 invalid/refused/failed.
pub fn run_apply(src: &SourceArgs, a: &ApplyArgs) -> ExitCode {
    if src.readonly {
        eprintln!(
            "lbsg apply: refused: --readonly makes every mutation impossible; nothing was changed."
        );
        return ExitCode::from(2);
    }
    let (world, origin, p) = match make_plan(src, &a.edit) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lbsg apply: {e}");
            return ExitCode::from(2);
        }
    };
    print_plan(&world, &p, a.edit.format);
    if p.is_empty() {
        eprintln!("Nothing to do.");
        return ExitCode::from(1);
    }
    if !p.errors.is_empty() {
        eprintln!(
            "lbsg apply: refused: the LBC would fail on this change (errors above); nothing was changed."
        );
        return ExitCode::from(2);
    }
    if !a.yes && !confirm() {
        eprintln!("Declined; nothing was changed.");
        return ExitCode::from(1);
    }
    match origin {
        WorldOrigin::Demo => {
            let after = apply_to_world(&world, &p);
            let left = crate::core::plan::drift(&after);
            eprintln!(
                "Applied to the in-memory demo world (the embedded demo is never modified); the LBC would then have {} change(s) left.",
                left.changes.len()
            );
            ExitCode::SUCCESS
        }
        WorldOrigin::File(path) => {
            let after = apply_to_world(&world, &p);
            match save_path_atomic(&after, &path) {
                Ok(()) => {
                    let by_lbc = p.changes.iter().filter(|c| c.owner == Owner::Lbc).count();
                    eprintln!(
                        "Applied to {} ({} change(s), {by_lbc} of them simulating the LBC); the previous file is {}.bak",
                        path.display(),
                        p.changes.len(),
                        path.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!(
                        "lbsg apply: could not write {}: {e}; the file is unchanged.",
                        path.display()
                    );
                    ExitCode::from(2)
                }
            }
        }
        WorldOrigin::Live(live) => {
            let (rt, live) = &*live;
            match rt.block_on(super::live_apply::apply_live(
                live,
                &world,
                &p,
                src.readonly,
            )) {
                super::live_apply::LiveOutcome::Applied(msg) => {
                    eprintln!("Applied: {msg}.");
                    ExitCode::SUCCESS
                }
                super::live_apply::LiveOutcome::Conflict(msg) => {
                    eprintln!("lbsg apply: {msg}");
                    // Never retry blindly: re-read, re-plan and show the new plan.
                    if let Ok((fresh, _)) = source::load(src)
                        && let Ok(edit) = edit_from_args(&a.edit)
                        && let Ok(np) = plan(&fresh, &edit)
                    {
                        eprintln!(
                            "Re-planned on the current object; nothing was applied. Review and run again:"
                        );
                        print_plan(&fresh, &np, a.edit.format);
                    }
                    ExitCode::from(2)
                }
                super::live_apply::LiveOutcome::Failed(msg) => {
                    eprintln!("lbsg apply: {msg}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Ask on the terminal; anything but `yes` declines. No terminal means no consent.
fn confirm() -> bool {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("No terminal to confirm on: pass --yes to apply without asking.");
        return false;
    }
    eprint!("Apply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err() {
        return false;
    }
    line.trim() == "yes"
}
