//! A run's metrics as TensorBoard event files, in the run's `tensorboard/` folder
//! ([`spec::run_dir::TENSORBOARD`]), so `tensorboard --logdir runs/quick` shows every run's
//! curves side by side.
//!
//! No maintained Rust crate writes them, so this module does: CRC-32C ([`crc32c`]), TFRecord
//! framing ([`record`]), the few protobuf messages of a scalar event ([`event`]) and the
//! files themselves ([`log`]).
//!
//! Each process that trains the run writes a file of its own holding only the steps it
//! takes. A resumed run redoes the steps after its checkpoint, which the killed process may
//! already have logged, so on resume the earlier files are cut back to what the checkpoint
//! covers ([`RunEvents::resumed`]): no step appears twice for a tag, across all the files.
//!
//! The files are a view of numbers metrics.jsonl, steps.jsonl and result.json keep: an I/O
//! error here is a warning and never stops the run (see [`log`]).

pub mod crc32c;
pub mod event;
pub mod log;
pub mod record;

use spec::run_dir::{RunDir, TENSORBOARD};
use spec::schema::{EvalRecord, StepRecord};

use self::log::EventLog;

/// The scalars' tags.
pub mod tags {
    /// Each step's batch loss (steps.jsonl's `loss`), at the step's index: the loss of the
    /// weights after that many updates, as an evaluation at that step scores them.
    pub const TRAIN_LOSS: &str = "train/loss";
    /// Each step's gradient norm before clipping.
    pub const TRAIN_GRAD_NORM: &str = "train/grad_norm";
    /// Accuracy on the training batches since the previous full evaluation.
    pub const TRAIN_ACCURACY: &str = "train/accuracy";
    pub const LEARNING_RATE: &str = "train/learning_rate";
    /// Mean seconds per gradient step since the previous full evaluation (or the resume).
    pub const STEP_SECONDS: &str = "train/step_seconds";
    /// A full evaluation on the held-out set (metrics.jsonl).
    pub const EVAL_ACCURACY: &str = "eval/accuracy";
    pub const EVAL_LOSS: &str = "eval/loss";
    /// A learning-curve point, scored on a subset of the held-out set.
    pub const CURVE_ACCURACY: &str = "eval/curve_accuracy";
    /// The validation split's accuracy at the end, when the run measures it.
    pub const VALIDATION_ACCURACY: &str = "validation/accuracy";

    /// The tags an evaluation writes: the evaluation at a checkpoint's step comes before
    /// the checkpoint is saved, so a run resumed from it keeps them at that step.
    pub const EVALUATION: [&str; 6] = [
        TRAIN_ACCURACY,
        LEARNING_RATE,
        STEP_SECONDS,
        EVAL_ACCURACY,
        EVAL_LOSS,
        CURVE_ACCURACY,
    ];
}

/// The event log of a run being trained, in the trainer's terms.
pub struct RunEvents {
    log: EventLog,
    learning_rate: f64,
    /// Where [`tags::STEP_SECONDS`] measures from: a step and the training time by then.
    timed_from: (u64, f64),
}

impl RunEvents {
    /// A run starting from scratch: every event of earlier processes is redone, so none stays.
    pub fn fresh(dir: &RunDir, learning_rate: f64) -> Self {
        Self {
            log: EventLog::open(&dir.file(TENSORBOARD), |_, _| false),
            learning_rate,
            timed_from: (0, 0.0),
        }
    }

    /// A run resumed from its checkpoint at `step`, after `train_seconds` of training:
    /// earlier processes' events stay as far as the checkpoint covers them.
    pub fn resumed(dir: &RunDir, learning_rate: f64, step: u64, train_seconds: f64) -> Self {
        Self {
            log: EventLog::open(&dir.file(TENSORBOARD), |tag, at| {
                survives_resume(tag, at, step)
            }),
            learning_rate,
            timed_from: (step, train_seconds),
        }
    }

    /// Training steps as steps.jsonl records them.
    pub fn steps(&mut self, records: &[StepRecord]) {
        for r in records {
            self.log.scalars(
                r.step,
                &[
                    (tags::TRAIN_LOSS, r.loss),
                    (tags::TRAIN_GRAD_NORM, r.grad_norm),
                ],
            );
        }
    }

    /// An evaluation as metrics.jsonl records it, `train_seconds` into the training; then
    /// flushes, so a killed run keeps its events up to here.
    pub fn evaluation(&mut self, record: &EvalRecord, train_seconds: f64) {
        if record.curve_point {
            self.log
                .scalars(record.step, &[(tags::CURVE_ACCURACY, record.test_accuracy)]);
        } else {
            let mut values = vec![
                (tags::EVAL_ACCURACY, record.test_accuracy),
                (tags::EVAL_LOSS, record.test_loss),
                (tags::LEARNING_RATE, self.learning_rate),
            ];
            values.extend(record.train_accuracy.map(|a| (tags::TRAIN_ACCURACY, a)));
            let (from_step, from_seconds) = self.timed_from;
            if record.step > from_step {
                let per_step = (train_seconds - from_seconds) / (record.step - from_step) as f64;
                values.push((tags::STEP_SECONDS, per_step));
            }
            self.timed_from = (record.step, train_seconds);
            self.log.scalars(record.step, &values);
        }
        self.log.flush();
    }

    /// The validation split's accuracy at `step` (the end of the run).
    pub fn validation(&mut self, step: u64, accuracy: f64) {
        self.log
            .scalars(step, &[(tags::VALIDATION_ACCURACY, accuracy)]);
    }

    pub fn flush(&mut self) {
        self.log.flush();
    }
}

/// Whether an earlier process's scalar `tag` at `step` stays in a run resumed from its
/// checkpoint at `checkpoint`: what came before the checkpoint was saved. At the
/// checkpoint's own step that is the evaluation; that step's loss and the validation
/// come after it, and the resumed run writes them again.
fn survives_resume(tag: &str, step: i64, checkpoint: u64) -> bool {
    let checkpoint = checkpoint as i64;
    step < checkpoint || (step == checkpoint && tags::EVALUATION.contains(&tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_keeps_what_its_checkpoint_saw() {
        for tag in tags::EVALUATION {
            assert!(survives_resume(tag, 40, 40), "{tag}");
            assert!(!survives_resume(tag, 41, 40), "{tag}");
        }
        for tag in [
            tags::TRAIN_LOSS,
            tags::TRAIN_GRAD_NORM,
            tags::VALIDATION_ACCURACY,
        ] {
            assert!(survives_resume(tag, 39, 40), "{tag}");
            assert!(!survives_resume(tag, 40, 40), "{tag}");
        }
    }
}
