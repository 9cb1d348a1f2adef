//! The training loop: Adam, clipping, micro-batches, periodic evaluation, checkpoints,
//! resume and divergence detection.
//!
//! Determinism: the model is initialised right after `manual_seed(seed)`, each step's
//! batch is a pure function of (seed, step), and torch's RNG (dropout) is reseeded from
//! (seed, step) before every step. A run resumed from a checkpoint therefore takes exactly
//! the steps an uninterrupted run would, and on the CPU gives the same numbers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tch::{Kind, Tensor};

use crate::feature_cache::{Draws, StepInputs};
use crate::flops;
use crate::predictions;
use crate::tensorboard::RunEvents;
use models::device::TchDevice;
use spec::model::{FrozenPrecision, InitKind};
use spec::run::{DeviceSpec, RunSpec, SpecError};
use spec::run_dir::{RunDir, RunDirError, CHECKPOINT};
use spec::schema::{DataFile, EvalRecord, RunResult, SlurmPlacement, StepRecord, SCHEMA_VERSION};
use spec::task::TaskShape;

use crate::optim::Adam;
use crate::task::{Batch, BuildTask, DataContext, Splits, Task, TaskError};
use models::model::{FptModel, ModelError, ModelRecipe};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid spec: {0}")]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("{device} was requested but this libtorch sees no CUDA device; use --device cpu")]
    NoCuda { device: String },
    #[error(
        "checkpoint {path} cannot be used: {reason}; delete it to restart the run from scratch"
    )]
    Checkpoint { path: String, reason: String },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("cannot export the run to {path}: {reason}")]
    Export { path: String, reason: String },
}

/// Examples per forward pass during evaluation.
const EVAL_CHUNK: i64 = 256;

/// SplitMix64: decorrelates nearby (seed, step) pairs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn step_seed(seed: u64, step: u64) -> i64 {
    (mix(seed ^ mix(step)) >> 1) as i64
}

/// Loss and correct-prediction counts accumulated over training steps.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    loss_sum: f64,
    steps: u64,
    correct: f64,
    predictions: f64,
}

impl Window {
    /// Adds steps in order up to the first whose loss or gradient norm is not finite, which
    /// it returns (the run diverged there).
    fn absorb(&mut self, steps: Vec<StepValues>) -> Option<StepValues> {
        for s in steps {
            if !s.loss.is_finite() || !s.grad_norm.is_finite() {
                return Some(s);
            }
            self.loss_sum += s.loss;
            self.correct += s.correct;
            self.predictions += s.predictions;
            self.steps += 1;
        }
        None
    }

    fn mean_loss(&self) -> Option<f64> {
        (self.steps > 0).then(|| self.loss_sum / self.steps as f64)
    }
    fn accuracy(&self) -> Option<f64> {
        (self.predictions > 0.0).then(|| self.correct / self.predictions)
    }
}

/// Mean cross-entropy of `logits` against `targets`, and the count of correct predictions
/// (a float scalar on the logits' device: reading it is left to the caller).
pub fn loss_and_correct(logits: &Tensor, targets: &Tensor) -> (Tensor, Tensor) {
    let classes = *logits.size().last().expect("logits have a class dimension");
    let flat = logits.reshape([-1, classes]);
    let targets = targets.reshape([-1]);
    let loss = flat.cross_entropy_for_logits(&targets);
    let correct = tch::no_grad(|| flat.argmax(-1, false).eq_tensor(&targets).sum(Kind::Float));
    (loss, correct)
}

/// Forward and backward over `batch` in micro-batches of `micro` examples, `logits` giving
/// each micro-batch's logits; every loss is scaled so the accumulated gradient is that of
/// the whole batch's mean loss. Returns that loss and the count of correct predictions as
/// scalars on the device, so a step need not wait for the device to finish.
pub fn accumulate_gradients(
    batch: &Batch,
    micro: i64,
    logits: impl Fn(&Tensor) -> Tensor,
) -> (Tensor, Tensor) {
    let mut sums: Option<(Tensor, Tensor)> = None;
    let mut start = 0;
    while start < batch.len() {
        let part = batch.slice(start, micro);
        let (loss, correct) = loss_and_correct(&logits(&part.inputs), &part.targets);
        let scaled = loss * (micro as f64 / batch.len() as f64);
        scaled.backward();
        let scaled = scaled.detach();
        sums = Some(match sums {
            None => (scaled, correct),
            Some((loss_sum, correct_sum)) => (loss_sum + scaled, correct_sum + correct),
        });
        start += micro;
    }
    sums.expect("a batch holds at least one example")
}

/// One step's loss, correct predictions and gradient norm, still on the device.
struct StepSums {
    step: u64,
    loss: Tensor,
    correct: Tensor,
    grad_norm: Tensor,
    predictions: f64,
}

/// A step's [`StepSums`] on the host.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StepValues {
    step: u64,
    loss: f64,
    correct: f64,
    grad_norm: f64,
    predictions: f64,
}

/// The steps.jsonl records of `steps` up to the first non-finite one.
fn finite_steps(steps: &[StepValues]) -> Vec<StepRecord> {
    steps
        .iter()
        .take_while(|s| s.loss.is_finite() && s.grad_norm.is_finite())
        .map(|s| StepRecord {
            step: s.step,
            loss: s.loss,
            grad_norm: s.grad_norm,
        })
        .collect()
}

/// Reads `unread` back to the host in one transfer, emptying it.
fn read_back(unread: &mut Vec<StepSums>) -> Vec<StepValues> {
    if unread.is_empty() {
        return Vec::new();
    }
    // (loss, correct, grad_norm) of each step in turn.
    let scalars: Vec<Tensor> = unread
        .iter()
        .flat_map(|s| [&s.loss, &s.correct, &s.grad_norm])
        .map(|t| t.to_kind(Kind::Double))
        .collect();
    let values = Vec::<f64>::try_from(Tensor::stack(&scalars, 0).to_device(tch::Device::Cpu))
        .expect("a vector of doubles");
    unread
        .drain(..)
        .zip(values.chunks_exact(3))
        .map(|(s, v)| StepValues {
            step: s.step,
            loss: v[0],
            correct: v[1],
            grad_norm: v[2],
            predictions: s.predictions,
        })
        .collect()
}

/// Loss and accuracy on `data` of `logits` (the model's, in eval mode; or its head's, on
/// cached features).
pub fn evaluate(data: &Batch, logits: impl Fn(&Tensor) -> Tensor) -> (f64, f64) {
    tch::no_grad(|| {
        // Summed on the device, read once.
        let zero = || Tensor::zeros([], (Kind::Double, data.targets.device()));
        let (mut loss_sum, mut correct) = (zero(), zero());
        let n = data.len();
        let mut start = 0;
        while start < n {
            let len = EVAL_CHUNK.min(n - start);
            let chunk = data.slice(start, len);
            let (loss, right) = loss_and_correct(&logits(&chunk.inputs), &chunk.targets);
            let count = chunk.targets.numel() as f64;
            loss_sum = loss.to_kind(Kind::Double) * count + loss_sum;
            correct = right.to_kind(Kind::Double) + correct;
            start += len;
        }
        let predictions = data.targets.numel() as f64;
        (
            loss_sum.double_value(&[]) / predictions,
            correct.double_value(&[]) / predictions,
        )
    })
}

/// State carried from one step to the next and through checkpoints.
#[derive(Clone, Copy, Default)]
struct Progress {
    step: u64,
    wall_before: f64,
    /// Time in the steps themselves: not feature caching, evaluations or checkpoints.
    train_seconds: f64,
    window: Window,
}

fn save_checkpoint(
    dir: &RunDir,
    model: &FptModel,
    adam: &Adam,
    p: &Progress,
) -> Result<(), TrainError> {
    let mut named: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (format!("param.{n}"), t.detach()))
        .collect();
    named.extend(adam.state());
    let w = p.window;
    for (name, value) in [
        ("meta.wall_seconds", p.wall_before),
        ("meta.train_seconds", p.train_seconds),
        ("meta.window.loss_sum", w.loss_sum),
        ("meta.window.correct", w.correct),
        ("meta.window.predictions", w.predictions),
    ] {
        named.push((name.into(), Tensor::from(value)));
    }
    named.push(("meta.step".into(), Tensor::from(p.step as i64)));
    named.push(("meta.window.steps".into(), Tensor::from(w.steps as i64)));
    let path = dir.file(CHECKPOINT);
    let tmp = path.with_extension("safetensors.tmp");
    let named: Vec<(String, Tensor)> = named
        .into_iter()
        .map(|(n, t)| (n, t.to_device(tch::Device::Cpu).contiguous()))
        .collect();
    Tensor::write_safetensors(&named, &tmp)?;
    std::fs::rename(&tmp, &path).map_err(|source| RunDirError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(())
}

/// Copies a checkpoint's trained tensors (`param.NAME`) into the model's trainable variables.
fn load_trained_params(saved: &BTreeMap<String, Tensor>, model: &FptModel) -> Result<(), String> {
    tch::no_grad(|| {
        for (name, var) in model.trainable() {
            let key = format!("param.{name}");
            let value = saved.get(&key).ok_or_else(|| format!("it lacks '{key}'"))?;
            if value.size() != var.size() {
                return Err(format!(
                    "'{key}' has shape {:?}, the model {:?}",
                    value.size(),
                    var.size()
                ));
            }
            var.shallow_clone().copy_(value);
        }
        Ok(())
    })
}

fn restore_checkpoint(
    path: &Path,
    model: &FptModel,
    adam: &mut Adam,
) -> Result<Progress, TrainError> {
    let bad = |reason: String| TrainError::Checkpoint {
        path: path.display().to_string(),
        reason,
    };
    let saved: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| bad(e.to_string()))?
        .into_iter()
        .collect();
    let get = |name: &str| saved.get(name).map(|t| t.shallow_clone());
    let missing = |name: &str| bad(format!("it lacks '{name}'"));
    load_trained_params(&saved, model).map_err(bad)?;
    adam.restore(|name| get(name).map(|t| t.to_device(model.var_store().device())))
        .map_err(|name| missing(&name))?;
    let float = |name: &str| {
        get(name)
            .map(|t| t.double_value(&[]))
            .ok_or_else(|| missing(name))
    };
    let int = |name: &str| {
        get(name)
            .map(|t| t.int64_value(&[]) as u64)
            .ok_or_else(|| missing(name))
    };
    Ok(Progress {
        step: int("meta.step")?,
        wall_before: float("meta.wall_seconds")?,
        // Absent from checkpoints written before it was kept.
        train_seconds: float("meta.train_seconds").unwrap_or(0.0),
        window: Window {
            loss_sum: float("meta.window.loss_sum")?,
            steps: int("meta.window.steps")?,
            correct: float("meta.window.correct")?,
            predictions: float("meta.window.predictions")?,
        },
    })
}

/// The progress of the run's checkpoint, restored into `model` and `adam`, with the run's
/// metrics and steps cut back to it; `None`, with them cleared, when it has none (a run
/// starting from scratch evaluates step 0 again).
fn resume(dir: &RunDir, model: &FptModel, adam: &mut Adam) -> Result<Option<Progress>, TrainError> {
    let checkpoint = dir.file(CHECKPOINT);
    if !checkpoint.exists() {
        dir.clear_metrics()?;
        dir.truncate_steps(0)?;
        return Ok(None);
    }
    let state = restore_checkpoint(&checkpoint, model, adam)?;
    dir.truncate_metrics(state.step)?;
    dir.truncate_steps(state.step)?;
    tracing::info!("resuming {} at step {}", dir.path().display(), state.step);
    Ok(Some(state))
}

/// Fails when the spec asks for a CUDA device this libtorch cannot see.
pub fn check_device(spec: &RunSpec) -> Result<(), TrainError> {
    if spec.device.is_cuda() && !tch::Cuda::is_available() {
        return Err(TrainError::NoCuda {
            device: spec.device.to_string(),
        });
    }
    Ok(())
}

/// The run's model for a task of `shape` as it starts: `manual_seed(seed)`, then the init
/// the spec names (a checkpoint is fetched when missing, unless `offline`).
pub fn build_model(
    spec: &RunSpec,
    shape: TaskShape,
    offline: bool,
) -> Result<FptModel, TrainError> {
    let weights = match spec.init {
        InitKind::Pretrained | InitKind::Stats => {
            Some(models::model::pretrained_weights(&spec.model, offline)?)
        }
        InitKind::Random | InitKind::Run(_) => None,
    };
    tch::manual_seed(spec.seed as i64);
    let mut model = FptModel::new(&ModelRecipe {
        source: &spec.model,
        layers: spec.layers,
        init: &spec.init,
        weights: weights.as_deref(),
        freeze: &spec.freeze,
        shape,
        input_dropout: spec.input_dropout,
        backbone_dropout: spec.backbone_dropout,
        orthogonal_gain: spec.orthogonal_gain,
        device: spec.device.tch(),
    })?;
    if spec.frozen_precision == FrozenPrecision::Bf16 && spec.device == DeviceSpec::Cpu {
        let paths = spec::machine::MatmulPaths::current();
        match paths.bf16 {
            spec::machine::MatmulPath::Amx => {
                tracing::info!("bf16 frozen body: {}", paths.bf16_advice())
            }
            _ => tracing::warn!("bf16 frozen body: {}", paths.bf16_advice()),
        }
    }
    model.set_frozen_precision(spec.frozen_precision);
    Ok(model)
}

/// A finished (or checkpointed) run's model as trained, with its task: the init rebuilt,
/// then the checkpoint's trained tensors loaded over it.
pub fn trained_model(
    spec: &RunSpec,
    dir: &RunDir,
    data: &DataContext,
) -> Result<(FptModel, Task), TrainError> {
    let _rng = TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    check_device(spec)?;
    let task = spec.task.build(data, Splits::only(spec.eval_split))?;
    let model = build_model(spec, task.shape(), data.offline)?;
    let path = dir.file(CHECKPOINT);
    let bad = |reason: String| TrainError::Checkpoint {
        path: path.display().to_string(),
        reason,
    };
    let saved: BTreeMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| bad(e.to_string()))?
        .into_iter()
        .collect();
    load_trained_params(&saved, &model).map_err(bad)?;
    Ok((model, task))
}

/// Serialises trainings within a process: torch's RNG (init, dropout) is process-global,
/// so two runs interleaving their `manual_seed` calls would both lose reproducibility.
/// Parallel runs belong in separate processes.
pub(crate) static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains the run described by `spec` in `dir`, continuing from its checkpoint if it has
/// one, and writes result.json. `progress` shows a bar on a terminal.
pub fn train(
    spec: &RunSpec,
    dir: &RunDir,
    data: &DataContext,
    progress: bool,
) -> Result<RunResult, TrainError> {
    // A panic in another run leaves the lock poisoned but the RNG as usable as ever.
    let _rng = TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    spec.validate()?;
    let task = spec.task.build(
        data,
        Splits {
            eval: spec.eval_split,
            validation: spec.record_validation,
        },
    )?;
    check_device(spec)?;
    let model = build_model(spec, task.shape(), data.offline)?;
    let (mut session, mut state) = Session::open(spec, dir, &task, &model)?;
    if state.step == 0 {
        session.evaluate(&mut state, false)?;
    }
    let bar = progress_bar(spec, state.step, progress);
    let diverged_at = session.run_steps(&mut state, &bar)?;
    bar.finish_and_clear();
    session.finish(&task, &state, diverged_at)
}

/// One training of a run: its model, optimiser, held-out set and step inputs.
struct Session<'a> {
    spec: &'a RunSpec,
    dir: &'a RunDir,
    model: &'a FptModel,
    adam: Adam,
    /// The evaluated examples, as the task gives them (what predictions and the data hash
    /// describe).
    held_out: Batch,
    /// What evaluations feed [`StepInputs::logits`]: `held_out` itself, or the frozen
    /// body's features of it when the training steps run on cached features.
    scored: Batch,
    /// What a learning-curve point scores: `curve_examples` of `scored`, evenly spread.
    curve_set: Batch,
    /// The evaluated split's name, as result.json records it.
    eval_split: String,
    inputs: StepInputs<'a>,
    /// The TensorBoard view of what metrics.jsonl and steps.jsonl record.
    events: RunEvents,
    /// Time spent caching features (training and evaluated examples) before the first
    /// step; 0 without a cache.
    cache_seconds: f64,
    started: Instant,
    /// Dropout in training steps: off when only the output trains (the cached path could
    /// not apply it, and before the head it would only add noise).
    dropout: bool,
}

impl<'a> Session<'a> {
    /// Prepares the run's inputs, then continues from its checkpoint or starts afresh: the
    /// session and the progress it starts from.
    fn open(
        spec: &'a RunSpec,
        dir: &'a RunDir,
        task: &'a Task,
        model: &'a FptModel,
    ) -> Result<(Self, Progress), TrainError> {
        let device = spec.device.tch();
        let mut adam = Adam::new(spec.optimizer, model.trainable());
        let (held_out, mut eval_split) = task.eval_set(spec.eval_examples);
        let held_out = held_out.to_device(device);
        if let Some(batches) = spec.eval_sampled_batches {
            eval_split = format!(
                "{eval_split}, estimated on {batches} random batches of {} per evaluation",
                spec.batch_size
            );
        }
        let started = Instant::now();
        let draws = Draws {
            seed: spec.seed,
            steps: spec.steps,
            batch: spec.batch_size,
        };
        let inputs = StepInputs::new(task, model, spec.cache_features, draws, device);
        let scored = inputs.held_out(model, &held_out);
        let curve_set = evenly_spread(&scored, spec.curve_examples);
        let cache_seconds = started.elapsed().as_secs_f64();
        let resumed = resume(dir, model, &mut adam)?;
        let lr = spec.optimizer.lr;
        let events = match &resumed {
            Some(p) => RunEvents::resumed(dir, lr, p.step, p.train_seconds),
            None => RunEvents::fresh(dir, lr),
        };
        let session = Self {
            spec,
            dir,
            model,
            adam,
            held_out,
            scored,
            curve_set,
            eval_split,
            inputs,
            events,
            cache_seconds,
            started,
            dropout: !model.trains_only_output(),
        };
        Ok((session, resumed.unwrap_or_default()))
    }

    fn wall(&self, s: &Progress) -> f64 {
        s.wall_before + self.started.elapsed().as_secs_f64()
    }

    /// Evaluates on the held-out set (or the spec's sampled batches; or, for a learning-
    /// curve point, its `curve_examples` evenly spread) and appends the record.
    fn evaluate(&mut self, s: &mut Progress, curve_point: bool) -> Result<EvalRecord, TrainError> {
        let logits = |x: &Tensor| self.inputs.logits(self.model, x, false);
        let sampled;
        let scored = match (curve_point, self.spec.eval_sampled_batches) {
            (true, _) => &self.curve_set,
            (false, Some(batches)) => {
                sampled = sampled_batches(&self.scored, self.spec, s.step, batches);
                &sampled
            }
            (false, None) => &self.scored,
        };
        let (test_loss, test_accuracy) = evaluate(scored, logits);
        let record = EvalRecord {
            step: s.step,
            train_loss: s.window.mean_loss(),
            train_accuracy: s.window.accuracy(),
            test_loss,
            test_accuracy,
            wall_seconds: self.wall(s),
            examples: Some(scored.len() as u64),
            curve_point,
        };
        self.dir.append_metric(&record)?;
        self.events.evaluation(&record, s.train_seconds);
        if !curve_point {
            s.window = Window::default();
        }
        Ok(record)
    }

    /// Step `step`'s gradients over its batch, clipped, with the sums that step logs (still
    /// on the device: nothing is read back here).
    fn gradients(&mut self, step: u64) -> StepSums {
        let spec = self.spec;
        let micro = spec.micro_batch_size.min(spec.batch_size) as i64;
        tch::manual_seed(step_seed(spec.seed, step));
        self.adam.zero_grad();
        let batch = self
            .inputs
            .batch(spec.seed, step, spec.batch_size, spec.device.tch());
        let (loss, correct) = accumulate_gradients(&batch, micro, |x| {
            self.inputs.logits(self.model, x, self.dropout)
        });
        StepSums {
            step,
            loss,
            correct,
            grad_norm: self.adam.clip_grad_norm(spec.clip_grad_norm),
            predictions: batch.targets.numel() as f64,
        }
    }

    /// Steps until the spec's last, evaluating and checkpointing on schedule; returns the
    /// step whose loss or gradient was not finite, if one was (the run stops there).
    fn run_steps(
        &mut self,
        state: &mut Progress,
        bar: &ProgressBar,
    ) -> Result<Option<u64>, TrainError> {
        let spec = self.spec;
        let log_every = spec.log_every();
        let mut unread: Vec<StepSums> = Vec::new();
        while state.step < spec.steps {
            let step_started = Instant::now();
            unread.push(self.gradients(state.step));
            let done = state.step + 1;
            let eval_due = done.is_multiple_of(spec.eval_every) || done == spec.steps;
            let curve_due = spec.curve_every.is_some_and(|n| done.is_multiple_of(n));
            let checkpoint_due = done.is_multiple_of(spec.checkpoint_every) || done == spec.steps;
            // The only host reads of a step, before its update: with `log_every` 1 (the CPU
            // default) a non-finite step never updates the weights.
            if done.is_multiple_of(log_every) || eval_due || checkpoint_due {
                let steps = read_back(&mut unread);
                let records = finite_steps(&steps);
                self.dir.append_steps(&records)?;
                self.events.steps(&records);
                if let Some(bad) = state.window.absorb(steps) {
                    tracing::warn!(
                        "{}: loss {} / gradient norm {} at step {}: diverged",
                        self.dir.path().display(),
                        bad.loss,
                        bad.grad_norm,
                        bad.step
                    );
                    state.step = bad.step;
                    return Ok(Some(bad.step));
                }
            }
            self.adam.step();
            state.train_seconds += step_started.elapsed().as_secs_f64();
            state.step = done;
            bar.inc(1);
            if eval_due || curve_due {
                let r = self.evaluate(state, !eval_due)?;
                bar.set_message(format!("test acc {:.3}", r.test_accuracy));
            }
            if checkpoint_due {
                // What is logged up to the checkpoint must outlive a kill after it.
                self.events.flush();
                let saved = Progress {
                    wall_before: self.wall(state),
                    ..*state
                };
                save_checkpoint(self.dir, self.model, &self.adam, &saved)?;
            }
        }
        Ok(None)
    }

    /// The validation split's accuracy when the spec asks for it, then result.json.
    fn finish(
        mut self,
        task: &Task,
        state: &Progress,
        diverged_at: Option<u64>,
    ) -> Result<RunResult, TrainError> {
        let spec = self.spec;
        let validation_accuracy = match spec.record_validation {
            true => task.validation_set(spec.eval_examples).map(|(set, _)| {
                let set = set.to_device(spec.device.tch());
                evaluate(&set, |x| self.model.forward(x, false)).1
            }),
            false => None,
        };
        if let Some(accuracy) = validation_accuracy {
            self.events.validation(state.step, accuracy);
        }
        self.events.flush();
        // The last weights' answers on the whole evaluated split (also under a
        // sampled-batch evaluation), and what that split and the spec were.
        let logits = |x: &Tensor| self.inputs.logits(self.model, x, false);
        self.dir
            .write_predictions(&predictions::predictions(&self.scored, logits))?;
        let spec_toml = self.dir.spec_bytes()?;
        let wall_seconds = self.wall(state);
        let result = summarise(
            spec,
            self.dir,
            self.model,
            Outcome {
                data_sha256: predictions::data_sha256(&self.held_out),
                data_files: task.data_files(),
                spec_sha256: predictions::bytes_sha256(&spec_toml),
                eval_split: self.eval_split,
                diverged_at,
                validation_accuracy,
                cached_features: self.inputs.is_cached(),
                cache_seconds: self.cache_seconds,
                train_seconds: state.train_seconds,
                wall_seconds,
                steps: state.step,
            },
        )?;
        self.dir.write_result(&result)?;
        Ok(result)
    }
}

fn progress_bar(spec: &RunSpec, start: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(spec.steps).with_position(start);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(spec.run_id());
    bar
}

/// `wanted` examples of `set` spread evenly over it ([`crate::task::spread`]); all of it
/// when `wanted` is absent or not smaller.
fn evenly_spread(set: &Batch, wanted: Option<usize>) -> Batch {
    let n = set.len() as usize;
    let m = wanted.map_or(n, |m| m.min(n));
    if m == n {
        return set.slice(0, set.len());
    }
    let indices: Vec<i64> = crate::task::spread(n, m)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    let index = Tensor::from_slice(&indices).to_device(set.targets.device());
    Batch {
        inputs: set.inputs.index_select(0, &index),
        targets: set.targets.index_select(0, &index),
    }
}

/// The reference code's accuracy estimate: `batches` batches of `batch_size` examples
/// drawn with replacement from `set`, seeded by (seed, step).
fn sampled_batches(set: &Batch, spec: &RunSpec, step: u64, batches: usize) -> Batch {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix(spec.seed ^ 0xE7A1) ^ mix(step));
    let n = set.len();
    let indices: Vec<i64> = (0..batches * spec.batch_size)
        .map(|_| rng.random_range(0..n))
        .collect();
    let index = Tensor::from_slice(&indices).to_device(set.targets.device());
    Batch {
        inputs: set.inputs.index_select(0, &index),
        targets: set.targets.index_select(0, &index),
    }
}

/// How a training ended, for result.json.
struct Outcome {
    data_sha256: String,
    data_files: Vec<DataFile>,
    spec_sha256: String,
    eval_split: String,
    diverged_at: Option<u64>,
    validation_accuracy: Option<f64>,
    cached_features: bool,
    cache_seconds: f64,
    train_seconds: f64,
    wall_seconds: f64,
    steps: u64,
}

/// The full evaluation with the highest test accuracy, the earliest on a tie.
fn best_evaluation(metrics: &[EvalRecord]) -> &EvalRecord {
    metrics
        .iter()
        .filter(|r| !r.curve_point)
        .max_by(|a, b| {
            a.test_accuracy
                .total_cmp(&b.test_accuracy)
                .then(b.step.cmp(&a.step))
        })
        .expect("a run always evaluates at step 0")
}

fn summarise(
    spec: &RunSpec,
    dir: &RunDir,
    model: &FptModel,
    outcome: Outcome,
) -> Result<RunResult, TrainError> {
    let Outcome {
        data_sha256,
        data_files,
        spec_sha256,
        eval_split,
        diverged_at,
        validation_accuracy,
        cached_features,
        cache_seconds,
        train_seconds,
        wall_seconds,
        steps,
    } = outcome;
    let metrics = dir.read_metrics()?;
    let last = metrics
        .iter()
        .rfind(|r| !r.curve_point)
        .expect("a run always evaluates at step 0");
    let best = best_evaluation(&metrics);
    let train_accuracy = metrics.iter().rev().find_map(|r| r.train_accuracy);
    let counts = model.counts();
    Ok(RunResult {
        schema_version: SCHEMA_VERSION,
        task: spec.task.name().into(),
        model: spec.model.label(),
        init: spec.init.clone(),
        freeze: spec.freeze.name().into(),
        seed: spec.seed,
        profile: spec.profile.clone(),
        lr: spec.optimizer.lr,
        steps,
        test_accuracy: last.test_accuracy,
        eval_split,
        train_accuracy,
        best_test_accuracy: best.test_accuracy,
        best_step: best.step,
        validation_accuracy,
        sampled_eval: spec.eval_sampled_batches.is_some(),
        cached_features,
        diverged: diverged_at.is_some(),
        diverged_at_step: diverged_at,
        trainable_params: counts.values().map(|c| c.trainable).sum(),
        total_params: counts.values().map(|c| c.total).sum(),
        params_by_group: counts
            .iter()
            .map(|(g, c)| (g.name().to_string(), *c))
            .collect(),
        wall_seconds,
        seconds_per_step: (steps > 0).then(|| train_seconds / steps as f64),
        feature_cache_seconds: cached_features.then_some(cache_seconds),
        flops_per_step: flops_per_step(spec, model, cached_features),
        device: spec.device.to_string(),
        threads: tch::get_num_threads(),
        versions: crate::versions(),
        finished_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        slurm: SlurmPlacement::from_env(),
        data_sha256: Some(data_sha256),
        data_files,
        spec_sha256: Some(spec_sha256),
    })
}

/// [`flops::step_flops_of`] for the run's model and batch.
fn flops_per_step(spec: &RunSpec, model: &FptModel, cached: bool) -> Option<f64> {
    let architecture = spec.model.architecture_with_layers(spec.layers).ok()?;
    let shape = spec.task.shape().ok()?;
    flops::step_flops_of(&architecture, shape, spec.batch_size as i64, model, cached)
}

impl TrainError {
    /// Whether the user's input (spec, names, files) is at fault rather than the run.
    pub fn is_bad_input(&self) -> bool {
        match self {
            TrainError::Torch(_) => false,
            TrainError::RunDir(e) => e.is_bad_input(),
            TrainError::Task(e) => e.is_bad_input(),
            TrainError::Model(e) => e.is_bad_input(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_subset_spreads_over_a_class_ordered_set() {
        // Ten examples ordered by class (five 0s, five 1s): four spread evenly are examples
        // 0, 2, 5 and 7, both classes; the first four would all be 0s.
        let set = Batch {
            inputs: Tensor::arange(10, (Kind::Float, tch::Device::Cpu)).reshape([10, 1, 1]),
            targets: Tensor::from_slice(&[0i64, 0, 0, 0, 0, 1, 1, 1, 1, 1]).reshape([10, 1]),
        };
        let picked = evenly_spread(&set, Some(4));
        let inputs: Vec<f32> = Vec::try_from(picked.inputs.reshape([-1])).unwrap();
        assert_eq!(inputs, [0.0, 2.0, 5.0, 7.0]);
        let targets: Vec<i64> = Vec::try_from(picked.targets.reshape([-1])).unwrap();
        assert_eq!(targets, [0, 0, 1, 1]);
        assert_eq!(evenly_spread(&set, Some(50)).len(), 10);
        assert_eq!(evenly_spread(&set, None).len(), 10);
    }
}
