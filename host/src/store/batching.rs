//! How a batch of commits starts, on both backends' commit paths
//! (`sqlite/writer.rs`, `postgres/committer.rs`): without savepoints, and
//! with one per job only after a job failed. Each backend says there why
//! savepoints are worth skipping on it; what they share is the rule below.

/// Batches run with savepoints from the start after one that had a job
/// fail. Without this, whoever can make one commit fail in every batch
/// (an API client racing bots for the same tickets) would have every
/// batch run twice; with it, such a stream costs what savepoints cost,
/// plus one wasted run in this many batches.
const CAREFUL_AFTER_FAILURE: u32 = 16;

/// How a batch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// No savepoints until a job fails.
    Optimistic,
    /// A savepoint around every job.
    Savepoints,
}

/// Whether every job of a batch stood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ran {
    AllStood,
    SomeFailed,
}

/// One committer's memory of recent failures: the mode of its next batch.
#[derive(Debug, Default)]
pub(super) struct Care {
    /// Batches still to run with savepoints from the start.
    careful: u32,
}

impl Care {
    /// The mode the next batch starts in.
    pub(super) fn next(&mut self) -> Mode {
        if self.careful > 0 {
            self.careful -= 1;
            Mode::Savepoints
        } else {
            Mode::Optimistic
        }
    }

    /// Learns how a batch begun in `mode` went; says whether it ran a
    /// second time (a job failed in an optimistic run).
    pub(super) fn after(&mut self, mode: Mode, ran: Ran) -> bool {
        if ran == Ran::AllStood {
            return false;
        }
        self.careful = CAREFUL_AFTER_FAILURE;
        mode == Mode::Optimistic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_failure_the_next_batches_start_with_savepoints() {
        let mut care = Care::default();
        assert_eq!(care.next(), Mode::Optimistic);
        assert!(!care.after(Mode::Optimistic, Ran::AllStood));
        assert!(care.after(Mode::Optimistic, Ran::SomeFailed), "a rerun");
        for _ in 0..CAREFUL_AFTER_FAILURE {
            assert_eq!(care.next(), Mode::Savepoints);
        }
        assert_eq!(care.next(), Mode::Optimistic);
        // A failure in a careful batch is no rerun, but extends the care.
        let mut care = Care::default();
        care.after(Mode::Optimistic, Ran::SomeFailed);
        let mode = care.next();
        assert!(!care.after(mode, Ran::SomeFailed));
        assert_eq!(care.next(), Mode::Savepoints);
    }
}
