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
        // Lines quote resource names and services' messages: printed as data.
        let text = crate::escape::log_text(text);
        if self.interactive {
            let _ = self.multi.println(text);
        } else {
            eprintln!("[{:>6.1}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }

    /// The live lines of one resource while its steps run.
    pub fn step(&self, resource: &str) -> StepProgress {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(spinner_style());
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

/// The resource on one line and what it waits for on the next, so a long resource id never
/// leaves the message no room (indicatif cuts a line at the terminal's width; on 80 columns a
/// 40-character id beside a bar would leave `wide_msg` nothing).
fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}\n    {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn percent_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} [{bar:20}] {pos:>3}%\n    {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
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
        // A wait without a percentage after one with: back to a spinner, not a stale bar.
        if self.bar.length().is_some() {
            self.reset_bar();
        }
        self.bar
            .set_message(crate::escape::printable(text).into_owned());
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
    /// A percentage lower than the last one means another wait has begun (the next volume's
    /// modification): the bar starts again from it.
    pub fn percent(&self, done: u64, text: &str) {
        let done = done.min(100);
        if self.bar.length() != Some(100) || done < self.bar.position() {
            self.bar.reset();
            self.bar.set_length(100);
            self.bar.set_style(percent_style());
        }
        self.bar.set_position(done);
        self.bar
            .set_message(crate::escape::printable(text).into_owned());
    }

    fn reset_bar(&self) {
        self.bar.reset();
        self.bar.unset_length();
        self.bar.set_style(spinner_style());
    }

    /// Whether the live line is a percentage bar (for tests).
    pub fn shows_percent(&self) -> Option<u64> {
        (self.bar.length() == Some(100)).then(|| self.bar.position())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden_step() -> StepProgress {
        let reporter = Reporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            interactive: true,
            started: Instant::now(),
        };
        reporter.step("eks.volume.kafka/data-kafka-broker-0")
    }

    #[test]
    fn the_bar_starts_again_when_the_wait_changes() {
        let step = hidden_step();
        step.percent(80, "vol-1 optimizing");
        assert_eq!(step.shows_percent(), Some(80));
        step.percent(5, "vol-2 modifying");
        assert_eq!(
            step.shows_percent(),
            Some(5),
            "a new wait starts from its own percentage"
        );
        step.status("waiting for the claim to resize");
        assert_eq!(
            step.shows_percent(),
            None,
            "a wait without a percentage shows a spinner"
        );
    }
}
