//! The event loop: terminal events, effect results, timers and signals become actions; the
//! reducer runs; the screen is redrawn when something changed, at most ~30 times a second.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::{Instant as TokioInstant, sleep_until};

use super::action::Action;
use super::config::UiConfig;
use super::runtime::Runtime;
use super::source::WorldSource;
use super::state::{Level, State};
use super::{terminal, ui, update};

const FRAME: Duration = Duration::from_millis(33);
const FAST_TICK: Duration = Duration::from_millis(100);
const SLOW_TICK: Duration = Duration::from_secs(1);

pub struct Options {
    pub config: UiConfig,
    pub readonly: bool,
    pub source: Box<dyn WorldSource>,
    /// Shown in the banner at start (config problems and the like).
    pub warnings: Vec<String>,
}

pub async fn run(opts: Options) -> Result<(), String> {
    let info = opts.source.info();
    let (tx, mut rx) = unbounded_channel::<Action>();
    let runtime = Runtime::spawn(opts.source, tx);
    let mut guard = terminal::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let size = guard
        .terminal
        .size()
        .map_err(|e| format!("cannot read the terminal size: {e}"))?;

    let mut state = State::new(
        Arc::new(opts.config),
        info,
        opts.readonly,
        SystemTime::now(),
    );
    state.width = size.width;
    state.height = size.height;
    if !opts.warnings.is_empty() {
        update::flash(&mut state, Level::Warn, opts.warnings.join("; "));
    }
    for e in update::start(&mut state) {
        runtime.run(e);
    }

    let mut events = EventStream::new();
    let signal_err = |e: std::io::Error| format!("cannot watch signals: {e}");
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_err)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut last_draw = Instant::now() - FRAME;
    let mut next_tick = TokioInstant::now() + SLOW_TICK;

    loop {
        if state.dirty && last_draw.elapsed() >= FRAME {
            guard
                .terminal
                .draw(|f| ui::render(&state, f))
                .map_err(|e| format!("drawing failed: {e}"))?;
            state.dirty = false;
            last_draw = Instant::now();
            // The end-to-end tests check that a panic leaves the terminal usable.
            if std::env::var_os("LBSG_TEST_PANIC").is_some() {
                panic!("LBSG_TEST_PANIC: deliberate panic after the first frame");
            }
        }
        let redraw_at = TokioInstant::from_std(last_draw + FRAME);
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => Action::Key(k),
                Some(Ok(Event::Resize(w, h))) => Action::Resize { width: w, height: h },
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::error!("terminal input failed: {e}");
                    Action::Quit
                }
                None => Action::Quit,
            },
            Some(a) = rx.recv() => a,
            _ = sleep_until(next_tick) => {
                let period = if state.wants_ticks() { FAST_TICK } else { SLOW_TICK };
                next_tick = TokioInstant::now() + period;
                Action::Tick(SystemTime::now())
            }
            _ = sleep_until(redraw_at), if state.dirty => continue,
            _ = sigterm.recv() => Action::Quit,
            _ = sighup.recv() => Action::Quit,
            _ = sigint.recv() => Action::Quit,
        };
        // Run it and whatever else is queued, then draw once. (Nothing writes to stderr while
        // the TUI runs: live progress and notes arrive as actions.)
        let mut next = Some(action);
        while let Some(a) = next {
            runtime.observe(&a);
            for e in update::update(&mut state, a) {
                runtime.run(e);
            }
            next = rx.try_recv().ok();
        }
        if state.wants_ticks() {
            next_tick = next_tick.min(TokioInstant::now() + FAST_TICK);
        }
        if state.quit {
            break;
        }
    }
    drop(guard);
    Ok(())
}
