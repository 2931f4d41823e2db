//! The progress line on a terminal: targets checked (of how many, once the input is read),
//! checks under way, counts by exit code and, once the total is known, the time left. Drawn on
//! stderr at most ten times a second, and cleared when the run ends.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::exit::Code;

/// Whether a run should draw progress: stderr is a terminal, `NO_COLOR` is not set, and the
/// user did not ask for quiet.
pub fn progress_wanted(quiet: bool, env: &crate::config::Environment) -> bool {
    !quiet && env.var("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

pub(crate) struct Progress {
    started: Instant,
    drawn: Option<Instant>,
    /// Whether the line is on the terminal now.
    visible: bool,
    done: usize,
    total: Option<usize>,
    by_code: BTreeMap<Code, usize>,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Progress {
            started: Instant::now(),
            drawn: None,
            visible: false,
            done: 0,
            total: None,
            by_code: BTreeMap::new(),
        }
    }

    pub(crate) fn done(&mut self, code: Code) {
        self.done += 1;
        *self.by_code.entry(code).or_default() += 1;
    }

    pub(crate) fn total(&mut self, total: usize) {
        self.total = Some(total);
    }

    /// The line, without drawing it.
    fn line(&self, running: usize) -> String {
        let mut line = match self.total {
            Some(total) => format!("pgtls: {} of {total} checked", self.done),
            None => format!("pgtls: {} checked", self.done),
        };
        line.push_str(&format!(", {running} under way"));
        let counts: Vec<String> = self
            .by_code
            .iter()
            .map(|(code, n)| match code {
                Code::Ok => format!("{n} OK"),
                code => format!("{n} exit {}", *code as u8),
            })
            .collect();
        if !counts.is_empty() {
            line.push_str(&format!(": {}", counts.join(", ")));
        }
        if let Some(total) = self.total.filter(|_| self.done > 0) {
            let per = self.started.elapsed().as_secs_f64() / self.done as f64;
            let left = per * total.saturating_sub(self.done) as f64;
            line.push_str(&format!("; about {} left", seconds(left)));
        }
        line
    }

    pub(crate) fn draw(&mut self, running: usize, force: bool) {
        if !force
            && self
                .drawn
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        self.visible = true;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", self.line(running));
        let _ = err.flush();
    }

    /// Erases the line, if drawn, so that other output can follow; the next draw puts it back.
    pub(crate) fn erase(&mut self) {
        if std::mem::take(&mut self.visible) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    /// Clears the line (drawn only for more than one target).
    pub(crate) fn clear(&mut self, targets: usize) {
        if self.visible || targets > 1 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

fn seconds(s: f64) -> String {
    if s < 90.0 {
        format!("{} s", s.ceil() as u64)
    } else {
        format!("{} min", (s / 60.0).ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_by_exit_code_and_says_what_is_left_once_the_total_is_known() {
        let mut progress = Progress::new();
        for code in [Code::Ok, Code::Ok, Code::Unreachable, Code::Untrusted] {
            progress.done(code);
        }
        assert_eq!(
            progress.line(3),
            "pgtls: 4 checked, 3 under way: 2 OK, 1 exit 3, 1 exit 6"
        );
        progress.total(10);
        let line = progress.line(3);
        assert!(
            line.starts_with(
                "pgtls: 4 of 10 checked, 3 under way: 2 OK, 1 exit 3, 1 exit 6; about "
            ),
            "{line}"
        );
        assert_eq!(seconds(12.2), "13 s");
        assert_eq!(seconds(600.0), "10 min");
    }
}
