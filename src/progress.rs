//! Progress for long waits: a spinner line per resource on a terminal, plain timestamped lines
//! elsewhere (CI logs), so both a person and a log reader can follow an apply.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Without a terminal, a wait prints what it waits for this often: CI systems kill jobs whose
/// log stays silent for about ten minutes, and a backfill can take hours.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// Shared by every lane of one apply.
#[derive(Clone)]
pub struct Reporter {
    multi: MultiProgress,
    interactive: bool,
    started: Instant,
}

impl Reporter {
    /// Draws on stderr when it is a terminal, plain lines otherwise.
    pub fn on_stderr() -> Self {
        let interactive = std::io::stderr().is_terminal();
        let target = if interactive {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Reporter {
            multi: MultiProgress::with_draw_target(target),
            interactive,
            started: Instant::now(),
        }
    }

    /// A line that stays (a step started, finished or failed).
    pub fn line(&self, text: &str) {
        if self.interactive {
            let _ = self.multi.println(text);
        } else {
            eprintln!("[{:>6.1}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }

    /// The live line of one resource while its steps run.
    pub fn step(&self, resource: &str) -> StepProgress {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(resource.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        StepProgress {
            bar,
            reporter: self.clone(),
            resource: resource.to_string(),
            started: Instant::now(),
            last_beat: Mutex::new(Instant::now()),
        }
    }
}

pub struct StepProgress {
    bar: ProgressBar,
    reporter: Reporter,
    resource: String,
    started: Instant,
    /// When the last heartbeat line was printed (or the step started).
    last_beat: Mutex<Instant>,
}

impl StepProgress {
    /// Replaces the spinner text (e.g. "index AnomalyScoreIndex: CREATING, backfilling (12s)").
    /// Without a terminal, prints it as a heartbeat line every `HEARTBEAT`.
    pub fn status(&self, text: &str) {
        self.bar.set_message(text.to_string());
        if !self.reporter.interactive {
            self.heartbeat(text);
        }
    }

    fn heartbeat(&self, text: &str) {
        let Ok(mut last) = self.last_beat.lock() else {
            return;
        };
        if last.elapsed() >= HEARTBEAT {
            *last = Instant::now();
            self.note(&format!(
                "still {text} ({}s into this change)",
                self.started.elapsed().as_secs()
            ));
        }
    }

    /// Turns the spinner into a bar for a wait that reports how far it is (an EBS volume
    /// modification's percentage).
    pub fn percent(&self, done: u64, text: &str) {
        if self.bar.length() != Some(100) {
            self.bar.set_length(100);
            self.bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: [{bar:30}] {pos:>3}% {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
        }
        self.bar.set_position(done.min(100));
        self.bar.set_message(text.to_string());
    }

    /// A line that stays, prefixed with the resource.
    pub fn note(&self, text: &str) {
        self.reporter.line(&format!("{}: {text}", self.resource));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for StepProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
