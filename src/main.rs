//! lbsg: parse the command line, set up logging, dispatch. Nothing else lives here.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use lbsg::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "lbsg", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let man = clap_mangen::Man::new(Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("lbsg man: {e}");
                    ExitCode::from(2)
                }
            }
        }
        None => lbsg::tui::main(&cli),
        Some(Command::Audit(a)) => lbsg::cli::audit_cmd::run_audit(&cli.source, &a),
        Some(Command::Plan(a)) => lbsg::cli::plan_cmd::run_plan(&cli.source, &a),
        Some(Command::Apply(a)) => lbsg::cli::plan_cmd::run_apply(&cli.source, &a),
        Some(Command::Snapshot(a)) => lbsg::cli::snapshot_cmd::run_snapshot(&cli.source, &a),
        Some(Command::Graph(a)) => lbsg::cli::graph_cmd::run_graph(&cli.source, &a),
        Some(Command::Dev(d)) => lbsg::cli::dev_cmd::run(&cli.source, &d),
    }
}
