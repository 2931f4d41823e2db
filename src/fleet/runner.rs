//! Schedules the targets: at most `concurrency` checks under way, each target given a slot (its
//! position in input order) and passed on when its connection string's hosts have all finished,
//! in input order or as they finish. In input order, targets that finished early wait for those
//! before them; no new check starts while too many wait, so what is held stays bounded.

use std::collections::{BTreeMap, HashMap};

use tokio::task::JoinSet;

use super::progress::Progress;
use super::{Input, Loaded, Order, Prepared, Stream, check, prepare};
use crate::judge::{self, Context};
use crate::probe::CheckOptions;
use crate::report::TargetReport;

/// One connection string's targets: their first slot, how many, how many finished.
struct Group {
    first: usize,
    count: usize,
    done: usize,
}

pub(crate) struct Runner<F: FnMut(usize, TargetReport)> {
    order: Order,
    sink: F,
    concurrency: usize,
    /// Finished targets not passed on yet, by slot.
    held: BTreeMap<usize, TargetReport>,
    /// Connection strings not passed on yet, by input index (their slots follow that order).
    groups: BTreeMap<usize, Group>,
    /// Slots given out so far.
    slots: usize,
    /// The slot and input index of each check under way.
    tasks: HashMap<tokio::task::Id, (usize, usize)>,
    progress: Option<Progress>,
}

type Joined = Result<(tokio::task::Id, TargetReport), tokio::task::JoinError>;

impl<F: FnMut(usize, TargetReport)> Runner<F> {
    pub(crate) fn new(stream: Stream<F>, concurrency: usize) -> Self {
        Runner {
            order: stream.order,
            sink: stream.sink,
            concurrency,
            held: BTreeMap::new(),
            groups: BTreeMap::new(),
            slots: 0,
            tasks: HashMap::new(),
            progress: stream.progress.then(Progress::new),
        }
    }

    /// The most finished targets held back for input order before no new check starts.
    fn hold_limit(&self) -> usize {
        (self.concurrency * 4).max(256)
    }

    pub(crate) async fn run(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        run: CheckOptions,
        ctx: Context<'static>,
    ) -> Result<(), super::FleetError> {
        let mut loaded = Loaded::default();
        let mut set = JoinSet::new();
        for (index, input) in inputs.into_iter().enumerate() {
            match prepare(index, input, &mut loaded)? {
                Prepared::Done(reports) => {
                    let first = self.group(index, reports.len());
                    for (n, report) in reports.into_iter().enumerate() {
                        self.finished(first + n, index, report);
                    }
                }
                Prepared::Jobs(jobs) => {
                    let first = self.group(index, jobs.len());
                    for (n, job) in jobs.into_iter().enumerate() {
                        while set.len() >= self.concurrency
                            || (self.held.len() >= self.hold_limit() && !set.is_empty())
                        {
                            if let Some(joined) = set.join_next_with_id().await {
                                self.join(joined);
                            }
                        }
                        let task = set.spawn(check(job, run, ctx.clone()));
                        self.tasks.insert(task.id(), (first + n, index));
                        self.draw(set.len());
                    }
                }
            }
        }
        if let Some(progress) = &mut self.progress {
            progress.total(self.slots);
        }
        while let Some(joined) = set.join_next_with_id().await {
            self.join(joined);
            self.draw(set.len());
        }
        Ok(())
    }

    /// Gives a connection string `count` slots; returns the first.
    fn group(&mut self, index: usize, count: usize) -> usize {
        let first = self.slots;
        self.slots += count;
        if count > 0 {
            self.groups.insert(
                index,
                Group {
                    first,
                    count,
                    done: 0,
                },
            );
        }
        first
    }

    /// A check ended (one that panicked is an internal error).
    fn join(&mut self, joined: Joined) {
        let (id, report) = match joined {
            Ok((id, report)) => (id, Ok(report)),
            Err(e) => (e.id(), Err(e.to_string())),
        };
        let Some((slot, index)) = self.tasks.remove(&id) else {
            return;
        };
        let report = report.unwrap_or_else(|e| judge::internal(index, &e));
        self.finished(slot, index, report);
    }

    fn finished(&mut self, slot: usize, index: usize, report: TargetReport) {
        if let Some(progress) = &mut self.progress {
            progress.done(report.exit_code);
        }
        self.held.insert(slot, report);
        let Some(group) = self.groups.get_mut(&index) else {
            return;
        };
        group.done += 1;
        if group.done < group.count {
            return;
        }
        // The string is complete: a libpq client ends up on its first host that connects.
        let (first, count) = (group.first, group.count);
        let mut chosen = false;
        for slot in first..first + count {
            if let Some(t) = self.held.get_mut(&slot) {
                t.libpq_uses = t.libpq_connects && !chosen;
                chosen |= t.libpq_connects;
            }
        }
        match self.order {
            Order::Finish => {
                self.groups.remove(&index);
                self.pass_on(first, count);
            }
            Order::Input => {
                while let Some(entry) = self.groups.first_entry() {
                    if entry.get().done < entry.get().count {
                        break;
                    }
                    let group = entry.remove();
                    self.pass_on(group.first, group.count);
                }
            }
        }
    }

    fn pass_on(&mut self, first: usize, count: usize) {
        // What the sink prints must not land after the progress line.
        if let Some(progress) = &mut self.progress {
            progress.erase();
        }
        for slot in first..first + count {
            if let Some(report) = self.held.remove(&slot) {
                (self.sink)(slot, report);
            }
        }
    }

    fn draw(&mut self, running: usize) {
        // One target needs no progress line.
        if self.slots < 2 {
            return;
        }
        if let Some(progress) = &mut self.progress {
            progress.draw(running, false);
        }
    }

    /// The run is over: after Ctrl-C, what finished is passed on, in slot order (the hosts of a
    /// string cut short keep `libpq_uses` false); the progress line is cleared.
    pub(crate) fn end(&mut self, interrupted: bool) {
        if interrupted {
            let held = std::mem::take(&mut self.held);
            for (slot, report) in held {
                (self.sink)(slot, report);
            }
            self.groups.clear();
        }
        if let Some(progress) = &mut self.progress {
            progress.clear(self.slots);
        }
    }
}
