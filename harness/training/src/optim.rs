//! Adam and gradient-norm clipping with PyTorch's exact arithmetic, written out so that the
//! optimiser state can be checkpointed and a resumed run continues bit for bit.

use spec::run::AdamConfig;
use tch::{Kind, Tensor};

/// Adam over a fixed list of parameters (no weight decay, as the reference).
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    params: Vec<(String, Tensor)>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    step: i64,
}

impl Adam {
    pub fn new(config: AdamConfig, params: &[(String, Tensor)]) -> Self {
        let zeros = || params.iter().map(|(_, p)| p.zeros_like()).collect();
        Self {
            config,
            params: params
                .iter()
                .map(|(n, p)| (n.clone(), p.shallow_clone()))
                .collect(),
            exp_avg: zeros(),
            exp_avg_sq: zeros(),
            step: 0,
        }
    }

    pub fn zero_grad(&self) {
        for (_, p) in &self.params {
            let mut grad = p.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// Scales all gradients so their joint L2 norm is at most `max_norm` (as
    /// `torch.nn.utils.clip_grad_norm_`); returns the norm before clipping, a scalar on the
    /// gradients' device (nothing waits for the device here).
    pub fn clip_grad_norm(&self, max_norm: f64) -> Tensor {
        let grads: Vec<Tensor> = self
            .params
            .iter()
            .map(|(_, p)| p.grad())
            .filter(|g| g.defined())
            .collect();
        if grads.is_empty() {
            return Tensor::from(0.0f32);
        }
        tch::no_grad(|| {
            let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
            let total = Tensor::stack(&norms, 0).norm();
            let max = Tensor::full([], max_norm, (Kind::Double, total.device()));
            let coef = (max / (&total + 1e-6)).clamp_max(1.0);
            for g in &grads {
                let _ = g.shallow_clone().g_mul_(&coef);
            }
            total
        })
    }

    pub fn step(&mut self) {
        self.step += 1;
        let c = self.config;
        let t = self.step as f64;
        let bias1 = 1.0 - c.beta1.powf(t);
        let bias2_sqrt = (1.0 - c.beta2.powf(t)).sqrt();
        let moments = self.exp_avg.iter_mut().zip(self.exp_avg_sq.iter_mut());
        tch::no_grad(|| {
            for ((_, p), (m, v)) in self.params.iter().zip(moments) {
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let _ = m.lerp_(&grad, 1.0 - c.beta1);
                let _ = v
                    .g_mul_scalar_(c.beta2)
                    .addcmul_(&(&grad * (1.0 - c.beta2)), &grad);
                let denom = v.sqrt() / bias2_sqrt + c.eps;
                let _ = p.shallow_clone().addcdiv_(&(&*m * (-c.lr / bias1)), &denom);
            }
        });
    }

    /// The state as named tensors, for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("adam.step".to_string(), Tensor::from(self.step))];
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((
                format!("adam.exp_avg.{name}"),
                self.exp_avg[i].shallow_clone(),
            ));
            out.push((
                format!("adam.exp_avg_sq.{name}"),
                self.exp_avg_sq[i].shallow_clone(),
            ));
        }
        out
    }

    /// Restores what [`Adam::state`] saved; `None` names the first tensor missing.
    pub fn restore(&mut self, lookup: impl Fn(&str) -> Option<Tensor>) -> Result<(), String> {
        let step = lookup("adam.step").ok_or("adam.step")?;
        tch::no_grad(|| {
            for (i, (name, _)) in self.params.iter().enumerate() {
                for (prefix, slot) in [
                    ("adam.exp_avg", &mut self.exp_avg[i]),
                    ("adam.exp_avg_sq", &mut self.exp_avg_sq[i]),
                ] {
                    let key = format!("{prefix}.{name}");
                    let saved = lookup(&key).ok_or(key)?;
                    slot.copy_(&saved);
                }
            }
            Ok::<(), String>(())
        })?;
        self.step = step.to_kind(Kind::Int64).int64_value(&[]);
        Ok(())
    }
}
