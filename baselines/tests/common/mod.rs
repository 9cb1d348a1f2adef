//! What the baselines' integration tests share.

use tch::{Kind, Tensor};

/// torch's RNG is process-global and tests run on parallel threads: every test holds this
/// lock, so no test's draws (init, inputs, dropout) interleave with a seeded test's.
pub fn exclusive_rng() -> std::sync::MutexGuard<'static, ()> {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The share of rows of `logits` `[N, classes]` whose argmax is the label in `ys` `[N]`.
pub fn accuracy(logits: &Tensor, ys: &Tensor) -> f64 {
    logits
        .argmax(-1, false)
        .eq_tensor(ys)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[])
}
