//! The TUI (`lbsg` with no subcommand). One owner of state: the app loop holds the `State`;
//! input, data arrivals and effect results become `Action`s on one channel; `update` is the only
//! place state changes and returns `Effect`s (IO as data) that the runtime executes;
//! `ui::render` is a pure function of the state.

pub mod action;
pub mod app;
#[doc(hidden)]
pub mod bench;
pub mod bridge;
pub mod config;
pub mod effect;
pub mod fields;
pub mod layout;
pub mod live;
pub mod logging;
pub mod model;
pub mod planning;
pub mod runtime;
pub mod source;
pub mod state;
pub mod terminal;
pub mod ui;
pub mod update;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod screens;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::Cli;
use source::{LocalSource, WorldSource};

/// Where the TUI's world comes from, from the command line (`live` says how a live source runs).
pub fn source_for(cli: &Cli, live: live::LiveOptions) -> Box<dyn WorldSource> {
    let readonly = cli.source.readonly;
    let args = cli.source.clone();
    // --cluster-name and --controller-arg win over what the world says, as in every command.
    let overridden = move |mut w: crate::world::World| {
        crate::cli::source::apply_overrides(&mut w, &args)?;
        Ok(w)
    };
    if cli.source.demo {
        return Box::new(LocalSource::demo(
            Box::new(move || overridden(source::parse_world(source::DEMO_WORLD, "demo world")?)),
            readonly,
        ));
    }
    if let Some(path) = cli.source.world.clone() {
        let read_path = path.clone();
        let save_path = path.clone();
        return Box::new(LocalSource::file(
            path,
            Box::new(move || {
                let w = crate::world::file::load_path(&read_path).map_err(|e| e.to_string())?;
                overridden(w)
            }),
            Box::new(move |w| source::save_world(&save_path, w)),
            readonly,
        ));
    }
    Box::new(live::LiveSource::new(cli.source.clone(), live))
}

/// Run the TUI until the user quits. Exit code 0 on quit, 2 when it could not start.
pub fn main(cli: &Cli) -> ExitCode {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "lbsg: the TUI needs a terminal; for scripts use `lbsg audit`, `lbsg graph` or `lbsg plan`"
        );
        return ExitCode::from(2);
    }
    let env = |k: &str| std::env::var(k).ok();
    let paths = config::Paths::from_env(&env);
    let log_file = cli.log_file.clone().unwrap_or_else(|| paths.log_file());
    let mut warnings = Vec::new();
    if let Err(e) = logging::init(&log_file) {
        warnings.push(e);
    }
    let (ui_config, more) = config::load(&paths.config_dir, &env);
    warnings.extend(more);
    tracing::info!(
        pid = std::process::id(),
        log = %log_file.display(),
        config = %paths.config_dir.display(),
        "lbsg TUI starting"
    );
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lbsg: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let live = live::LiveOptions {
        aws_every: ui_config.refresh_every,
        ..live::LiveOptions::default()
    };
    let opts = app::Options {
        config: ui_config,
        readonly: cli.source.readonly,
        source: source_for(cli, live),
        warnings,
    };
    let result = rt.block_on(app::run(opts));
    // Background tasks (the source actor) end with the runtime; never wait on them.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => {
            tracing::info!("lbsg TUI quit");
            ExitCode::SUCCESS
        }
        Err(e) => {
            terminal::restore();
            tracing::error!("TUI failed: {e}");
            eprintln!("lbsg: {e}");
            ExitCode::from(2)
        }
    }
}
