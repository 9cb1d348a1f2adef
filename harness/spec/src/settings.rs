//! The training settings a run can be given, declared once: `fpt train`'s flags, a
//! profile's defaults and per-task tables, and suite expansion all read and resolve them
//! through [`Settings`]. Adding an option here gives it a flag, a profile key and its place
//! in every run spec.

use clap::Args;
use serde::Deserialize;

use crate::model::FrozenPrecision;
use crate::run::RunSpec;
use crate::task::{EvalSplit, TaskSpec};

/// Declares [`Settings`] (every field an `Option`) and [`Settings::over`], which takes
/// each field from `self` or else from the defaults, so no field can be forgotten in it.
macro_rules! settings {
    ($( $(#[$attr:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// Training settings; unset ones take the profile's defaults, then the reference
        /// recipe's ([`RunSpec::reference`]).
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Args)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $( $(#[$attr])* pub $field: Option<$ty>, )*
        }

        impl Settings {
            /// These settings with `defaults` filling what they leave unset.
            pub fn over(&self, defaults: &Settings) -> Settings {
                Settings {
                    $( $field: self.$field.clone().or_else(|| defaults.$field.clone()), )*
                }
            }
        }
    };
}

settings! {
    /// The task and its data (a profile's per-task tables; `fpt train` names it with --task).
    #[arg(skip)]
    task: TaskSpec,
    /// Gradient steps.
    #[arg(long)]
    steps: u64,
    /// Examples per gradient step.
    #[arg(long)]
    batch_size: usize,
    /// Examples per forward pass; gradients accumulate to the batch size.
    #[arg(long)]
    micro_batch_size: usize,
    /// Adam learning rate (betas 0.9/0.999, eps 1e-8 as PyTorch). In a profile, a list:
    /// more than one is a sweep, chosen on validation accuracy.
    #[arg(long, num_args = 1, allow_negative_numbers = true, value_name = "LR")]
    lr: Vec<f64>,
    /// Evaluate on the held-out set every N steps (and at the end).
    #[arg(long)]
    eval_every: u64,
    /// Evaluate on N examples spread evenly over the split (default: all of it; the bit tasks
    /// generate 1024).
    #[arg(long)]
    eval_examples: usize,
    /// Which split to evaluate on: test, or validation (for model selection; MNIST and
    /// CIFAR-10 hold out a fixed 10% of their training split for it).
    #[arg(long, value_enum)]
    eval_split: EvalSplit,
    /// Estimate accuracy on N randomly drawn batches, as the reference code did, instead
    /// of the whole split (for comparison only; reports flag such numbers).
    #[arg(long)]
    eval_sampled_batches: usize,
    /// Also score a learning-curve point every N steps, on --curve-examples examples spread
    /// evenly over the evaluated set (cheap points for curves and steps-to-target between
    /// the full evaluations of --eval-every; they never set the run's accuracy).
    #[arg(long)]
    curve_every: u64,
    /// Examples a learning-curve point scores (default: the whole evaluated set).
    #[arg(long)]
    curve_examples: usize,
    /// Save a checkpoint every N steps (default: at every evaluation).
    #[arg(long)]
    checkpoint_every: u64,
    /// Clip the gradients' global norm to this.
    #[arg(long)]
    clip_grad_norm: f64,
    /// Dropout after the input layer.
    #[arg(long)]
    input_dropout: f64,
    /// Dropout inside the backbone (embeddings, attention, residual) in place of its
    /// config's (0.1 in the built-in models); 0 turns it off, e.g. for a cross-check of
    /// trajectories.
    #[arg(long)]
    backbone_dropout: f64,
    /// Gain of the input layer's orthogonal init.
    #[arg(long)]
    orthogonal_gain: f64,
    /// Read losses back from the device every N steps, in one transfer (default: every step
    /// on the CPU, every 25 on CUDA, where each read waits for the device).
    #[arg(long)]
    log_every: u64,
    /// fp32 (the paper's arithmetic) or bf16: keep the frozen attention and feed-forward
    /// matrices in bf16 and multiply in bf16 (about 2x faster on CPUs with AMX and on GPUs,
    /// but slower than fp32 on CPUs without AMX: `fpt info` says which this one is; the
    /// numbers change, and the run id says -bf16).
    #[arg(long, value_parser = clap::value_parser!(FrozenPrecision))]
    frozen_precision: FrozenPrecision,
}

impl Settings {
    /// `base` with every setting given here put in (the task too, when given); a setting
    /// left unset keeps `base`'s value, except the checkpoint interval, which follows the
    /// evaluation interval. The learning rate is put in only when exactly one is given (a
    /// sweep's runs each take one of [`Self::lr`]).
    pub fn apply(&self, base: RunSpec) -> RunSpec {
        let eval_every = self.eval_every.unwrap_or(base.eval_every);
        let mut optimizer = base.optimizer;
        if let Some(&[lr]) = self.lr.as_deref() {
            optimizer.lr = lr;
        }
        RunSpec {
            task: self.task.unwrap_or(base.task),
            steps: self.steps.unwrap_or(base.steps),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            micro_batch_size: self.micro_batch_size.unwrap_or(base.micro_batch_size),
            optimizer,
            eval_every,
            eval_examples: self.eval_examples.or(base.eval_examples),
            eval_split: self.eval_split.unwrap_or(base.eval_split),
            eval_sampled_batches: self.eval_sampled_batches.or(base.eval_sampled_batches),
            curve_every: self.curve_every.or(base.curve_every),
            curve_examples: self.curve_examples.or(base.curve_examples),
            checkpoint_every: self.checkpoint_every.unwrap_or(eval_every),
            clip_grad_norm: self.clip_grad_norm.unwrap_or(base.clip_grad_norm),
            input_dropout: self.input_dropout.unwrap_or(base.input_dropout),
            backbone_dropout: self.backbone_dropout.or(base.backbone_dropout),
            orthogonal_gain: self.orthogonal_gain.unwrap_or(base.orthogonal_gain),
            log_every: self.log_every.or(base.log_every),
            frozen_precision: self.frozen_precision.unwrap_or(base.frozen_precision),
            ..base
        }
    }
}

/// What unset settings come to for `fpt train`: the reference recipe's values, for
/// `--help` (read from [`RunSpec::reference`], so the help cannot drift from it).
pub fn reference_help() -> String {
    let task = TaskSpec::BitXor {
        n: 5,
        patterns: 2,
        patch: 1,
    };
    let r = RunSpec::reference(task, crate::model::ModelSource::Named("gpt2".into()));
    format!(
        "Unset settings take the reference code's recipe: --steps {} --batch-size {} \
         --micro-batch-size {} --lr {} --eval-every {} --eval-split test (every example) \
         --checkpoint-every (the evaluation interval) --clip-grad-norm {} --input-dropout {} \
         --orthogonal-gain {} --frozen-precision {}.",
        r.steps,
        r.batch_size,
        r.micro_batch_size,
        r.optimizer.lr,
        r.eval_every,
        r.clip_grad_norm,
        r.input_dropout,
        r.orthogonal_gain,
        r.frozen_precision.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSource;

    fn reference() -> RunSpec {
        let task = TaskSpec::from_name("bit-xor", None, None, None).unwrap();
        RunSpec::reference(task, ModelSource::Named("gpt2-tiny".into()))
    }

    #[test]
    fn unset_settings_keep_the_base_spec() {
        assert_eq!(Settings::default().apply(reference()), reference());
    }

    #[test]
    fn every_setting_reaches_the_spec() {
        let given: Settings = toml::from_str(
            r#"steps = 7
            batch_size = 8
            micro_batch_size = 4
            lr = [0.5]
            eval_every = 3
            eval_examples = 11
            eval_split = "validation"
            eval_sampled_batches = 2
            checkpoint_every = 6
            clip_grad_norm = 0.25
            input_dropout = 0.2
            backbone_dropout = 0.0
            orthogonal_gain = 1.0
            log_every = 5
            frozen_precision = "bf16""#,
        )
        .unwrap();
        let spec = given.apply(reference());
        assert_eq!(
            (
                spec.steps,
                spec.batch_size,
                spec.micro_batch_size,
                spec.optimizer.lr
            ),
            (7, 8, 4, 0.5)
        );
        assert_eq!(
            (spec.eval_every, spec.eval_examples, spec.eval_split),
            (3, Some(11), EvalSplit::Validation)
        );
        assert_eq!(
            (
                spec.eval_sampled_batches,
                spec.checkpoint_every,
                spec.log_every
            ),
            (Some(2), 6, Some(5))
        );
        assert_eq!(
            (
                spec.clip_grad_norm,
                spec.input_dropout,
                spec.orthogonal_gain
            ),
            (0.25, 0.2, 1.0)
        );
        assert_eq!(spec.frozen_precision, FrozenPrecision::Bf16);
        assert_eq!(spec.backbone_dropout, Some(0.0));
    }

    #[test]
    fn checkpoints_follow_evaluations_unless_set_and_a_sweep_sets_no_lr() {
        let given = Settings {
            eval_every: Some(25),
            lr: Some(vec![1e-4, 1e-3]),
            ..Settings::default()
        };
        let spec = given.apply(reference());
        assert_eq!((spec.eval_every, spec.checkpoint_every), (25, 25));
        assert_eq!(spec.optimizer.lr, reference().optimizer.lr);
    }

    #[test]
    fn a_task_setting_wins_over_the_defaults() {
        let defaults = Settings {
            steps: Some(10),
            eval_every: Some(5),
            ..Settings::default()
        };
        let task = Settings {
            steps: Some(20),
            ..Settings::default()
        };
        let merged = task.over(&defaults);
        assert_eq!((merged.steps, merged.eval_every), (Some(20), Some(5)));
    }
}
