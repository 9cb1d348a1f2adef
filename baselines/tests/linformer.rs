//! The Linformer: parity with the formula written out, its reduction to full attention,
//! queries for the last tokens only, roles and counts, configs, dropout and a task it learns.

mod common;

use common::{accuracy, exclusive_rng};

use std::collections::HashMap;

use baselines::{
    Linformer, LinformerConfig, LinformerConfigError, LinformerParamKind, ProjectionSharing,
};
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

const SHARINGS: [ProjectionSharing; 3] = [
    ProjectionSharing::KeyValue,
    ProjectionSharing::Separate,
    ProjectionSharing::Layerwise,
];

/// Two layers, 16 wide, 2 heads of 4, k = 3 over a 10-row kernel (so that slicing the
/// kernel to the sequence matters), no dropout.
fn small(sharing: ProjectionSharing) -> LinformerConfig {
    LinformerConfig {
        num_layers: 2,
        hidden_size: 16,
        num_heads: 2,
        qkv_dim: 8,
        mlp_dim: 32,
        k: 3,
        sharing,
        max_positions: 10,
        dropout: 0.0,
        attention_dropout: 0.0,
    }
}

fn build(config: LinformerConfig) -> (nn::VarStore, Linformer) {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Linformer::new(&vs.root(), config).expect("valid config");
    (vs, model)
}

fn randn(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Float, Device::Cpu))
}

fn max_abs(t: &Tensor) -> f64 {
    t.abs().max().double_value(&[])
}

/// The project's fp32 rounding bound (the harness's `numerics::Arithmetic::fp32_tolerance`,
/// which this crate cannot depend on): `2 · λ · depth · √widest_sum · u · max|y|` with
/// λ = 4 (a sum of K terms rounded in any order is off by about λ √K u of its terms' size,
/// Higham and Mary 2019), u = 2^-24, errors adding up over the blocks, and 2 for both
/// evaluations rounding. The widest sum here is the feed-forward's, the hidden width's,
/// the sequence projection's (over T) or a head merge's (qkv_dim), whichever is longest.
fn fp32_tolerance(config: &LinformerConfig, steps: i64, magnitude: f64) -> f64 {
    let widest = [config.mlp_dim, config.hidden_size, steps, config.qkv_dim]
        .into_iter()
        .max()
        .unwrap();
    let unit_roundoff = f32::EPSILON as f64 / 2.0;
    2.0 * 4.0 * config.num_layers as f64 * (widest as f64).sqrt() * unit_roundoff * magnitude
}

/// Moves every variable off its init (layer norms off 1 and 0, biases off ~0), so that
/// parity checks each one's part in the formula.
fn perturb(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut var) in vs.variables() {
            let _ = var.g_add_(&(var.randn_like() * 0.1));
        }
    });
}

/// How the written-out forward pass computes attention: the Linformer's, plain softmax
/// attention over every token, or one of two small mistakes for the negative controls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Formula {
    Linformer,
    FullAttention,
    /// Scores without the 1/sqrt(head_dim) scale.
    Unscaled,
    /// Projection kernels sliced to their last T rows instead of their first.
    KernelTail,
}

/// The forward pass written out in f64 from the variables by name, with plain tensor ops:
/// layer norm from its mean and variance, attention head by head with an explicit softmax,
/// in LRA's order (key and value layers first, then the sequence projection).
struct Reference {
    vars: HashMap<String, Tensor>,
    config: LinformerConfig,
    formula: Formula,
}

impl Reference {
    fn new(vs: &nn::VarStore, config: &LinformerConfig, formula: Formula) -> Self {
        let vars = vs
            .variables()
            .into_iter()
            .map(|(name, t)| (name, t.detach().to_kind(Kind::Double)))
            .collect();
        Self {
            vars,
            config: config.clone(),
            formula,
        }
    }

    fn var(&self, name: &str) -> &Tensor {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("no variable '{name}'"))
    }

    fn layer_norm(&self, xs: &Tensor, path: &str) -> Tensor {
        let mean = xs.mean_dim(-1, true, Kind::Double);
        let centred = xs - mean;
        let var = centred.square().mean_dim(-1, true, Kind::Double);
        // flax's epsilon.
        centred / (var + 1e-6).sqrt() * self.var(&format!("{path}.weight"))
            + self.var(&format!("{path}.bias"))
    }

    fn dense(&self, xs: &Tensor, path: &str) -> Tensor {
        let ys = xs.matmul(&self.var(&format!("{path}.weight")).tr());
        match self.vars.get(&format!("{path}.bias")) {
            Some(bias) => ys + bias,
            None => ys,
        }
    }

    /// Layer `i`'s key (E) and value (F) kernels, by the names the module docs give.
    fn kernels(&self, i: usize) -> (&Tensor, &Tensor) {
        let own = |name: &str| self.var(&format!("layers.{i}.attention.{name}.weight"));
        match self.config.sharing {
            ProjectionSharing::KeyValue => (own("projection"), own("projection")),
            ProjectionSharing::Separate => (own("projection_key"), own("projection_value")),
            ProjectionSharing::Layerwise => {
                (self.var("projection.weight"), self.var("projection.weight"))
            }
        }
    }

    /// `kernel[:T]^T xs`, one batch element at a time: `[B, T, D]` -> `[B, k, D]`.
    fn project(&self, kernel: &Tensor, xs: &Tensor) -> Tensor {
        let steps = xs.size()[1];
        let start = match self.formula {
            Formula::KernelTail => kernel.size()[0] - steps,
            _ => 0,
        };
        let rows = kernel.narrow(0, start, steps).tr();
        let per_example: Vec<Tensor> = (0..xs.size()[0]).map(|b| rows.mm(&xs.get(b))).collect();
        Tensor::stack(&per_example, 0)
    }

    fn attention(&self, xs: &Tensor, i: usize) -> Tensor {
        let path = |name: &str| format!("layers.{i}.attention.{name}");
        let q = self.dense(xs, &path("query"));
        let mut k = self.dense(xs, &path("key"));
        let mut v = self.dense(xs, &path("value"));
        if self.formula != Formula::FullAttention {
            let (e, f) = self.kernels(i);
            (k, v) = (self.project(e, &k), self.project(f, &v));
        }
        let d = self.config.qkv_dim / self.config.num_heads;
        let scale = match self.formula {
            Formula::Unscaled => 1.0,
            _ => 1.0 / (d as f64).sqrt(),
        };
        let heads: Vec<Tensor> = (0..self.config.num_heads)
            .map(|h| {
                let head = |t: &Tensor| t.narrow(-1, h * d, d);
                let scores = head(&q).matmul(&head(&k).transpose(-2, -1)) * scale;
                let exp = (&scores - scores.amax([-1], true)).exp();
                let weights = &exp / exp.sum_dim_intlist(-1, true, Kind::Double);
                weights.matmul(&head(&v))
            })
            .collect();
        self.dense(&Tensor::cat(&heads, -1), &path("output"))
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let steps = xs.size()[1];
        let mut hs =
            xs.to_kind(Kind::Double) + self.var("position_embeddings.weight").narrow(0, 0, steps);
        for i in 0..self.config.num_layers {
            let layer = |name: &str| format!("layers.{i}.{name}");
            hs = &hs + self.attention(&self.layer_norm(&hs, &layer("ln_attention")), i);
            let inner = self.dense(
                &self.layer_norm(&hs, &layer("ln_mlp")),
                &layer("mlp.dense_in"),
            );
            let inner = gelu_tanh(&inner);
            hs = &hs + self.dense(&inner, &layer("mlp.dense_out"));
        }
        self.layer_norm(&hs, "final_layer_norm")
    }
}

/// flax's default GELU, the tanh approximation:
/// `x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
fn gelu_tanh(xs: &Tensor) -> Tensor {
    let inner = (xs + xs.pow_tensor_scalar(3) * 0.044715) * (2.0 / std::f64::consts::PI).sqrt();
    xs * 0.5 * (inner.tanh() + 1.0)
}

/// The model's output and the written-out one's largest difference, and the bound.
fn difference(
    model: &Linformer,
    reference: &Reference,
    xs: &Tensor,
    config: &LinformerConfig,
) -> (f64, f64) {
    let ours = model.forward(xs, false);
    let theirs = reference.forward(xs);
    let diff = max_abs(&(ours.to_kind(Kind::Double) - &theirs));
    let tol = fp32_tolerance(config, xs.size()[1], max_abs(&theirs));
    (diff, tol)
}

#[test]
fn matches_the_formula_written_out_for_every_sharing_mode() {
    let _rng = exclusive_rng();
    tch::manual_seed(0);
    for sharing in SHARINGS {
        let config = small(sharing);
        let (vs, model) = build(config.clone());
        perturb(&vs);
        let xs = randn(&[3, 7, 16]);
        let (diff, tol) = difference(
            &model,
            &Reference::new(&vs, &config, Formula::Linformer),
            &xs,
            &config,
        );
        assert!(diff <= tol, "{sharing:?}: {diff} > {tol}");
        for mistake in [Formula::Unscaled, Formula::KernelTail] {
            let wrong = Reference::new(&vs, &config, mistake);
            let (diff, tol) = difference(&model, &wrong, &xs, &config);
            assert!(
                diff > 100.0 * tol,
                "{sharing:?}, {mistake:?}: {diff} within {tol}"
            );
        }
    }
}

#[test]
fn with_identity_projections_it_is_full_softmax_attention() {
    let _rng = exclusive_rng();
    tch::manual_seed(1);
    let steps = 7;
    for sharing in SHARINGS {
        let config = LinformerConfig {
            k: steps,
            max_positions: steps,
            ..small(sharing)
        };
        let (vs, model) = build(config.clone());
        perturb(&vs);
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                if name.contains("projection") {
                    var.copy_(&Tensor::eye(steps, (Kind::Float, Device::Cpu)));
                }
            }
        });
        let xs = randn(&[2, steps, 16]);
        let full = Reference::new(&vs, &config, Formula::FullAttention);
        let (diff, tol) = difference(&model, &full, &xs, &config);
        assert!(diff <= tol, "{sharing:?}: {diff} > {tol}");
        // A control: without the last column of each kernel the last token's key and value
        // are lost, which is no longer full attention (a permutation would still be).
        tch::no_grad(|| {
            for (name, var) in vs.variables() {
                if name.contains("projection") {
                    let _ = var.narrow(1, steps - 1, 1).zero_();
                }
            }
        });
        let (diff, tol) = difference(&model, &full, &xs, &config);
        assert!(
            diff > 100.0 * tol,
            "{sharing:?}: a key dropped, {diff} within {tol}"
        );
    }
}

#[test]
fn the_last_tokens_alone_are_the_last_rows_of_the_full_forward() {
    let _rng = exclusive_rng();
    tch::manual_seed(2);
    let config = LinformerConfig::named("linformer-tiny").unwrap();
    let (vs, model) = build(config.clone());
    perturb(&vs);
    let steps = 12;
    let xs = randn(&[2, steps, 128]);
    let full = model.forward(&xs, false);
    assert_eq!(full.size(), [2, steps, 128]);
    for tokens in [1, 3, steps] {
        let tail = model.forward_last(&xs, tokens, false);
        assert_eq!(tail.size(), [2, tokens, 128]);
        let diff = max_abs(&(full.narrow(1, steps - tokens, tokens) - &tail));
        let tol = fp32_tolerance(&config, steps, max_abs(&tail));
        assert!(diff <= tol, "last {tokens}: {diff} > {tol}");
    }
    // A control: the first token's output is not the last one's.
    let first = full.narrow(1, 0, 1);
    let last = model.forward_last(&xs, 1, false);
    let tol = fp32_tolerance(&config, steps, max_abs(&last));
    assert!(max_abs(&(first - last)) > 100.0 * tol);
}

#[test]
#[should_panic(expected = "exceeds the Linformer's 10 positions")]
fn sequences_longer_than_the_kernels_are_refused() {
    let _rng = exclusive_rng();
    let (_vs, model) = build(small(ProjectionSharing::KeyValue));
    let _ = model.forward(&randn(&[1, 11, 16]), false);
}

#[test]
fn every_variable_has_its_role_and_each_sharing_mode_its_kernels() {
    let _rng = exclusive_rng();
    for sharing in SHARINGS {
        let config = LinformerConfig {
            num_layers: 3,
            ..small(sharing)
        };
        let (vs, model) = build(config.clone());
        let mut counted = 0;
        let mut kernels = Vec::new();
        for (name, tensor) in vs.variables() {
            let role = model
                .role(&name)
                .unwrap_or_else(|| panic!("{sharing:?}: '{name}' has no role"));
            counted += tensor.numel() as i64;
            if name.contains("projection") {
                assert_eq!(role.kind, LinformerParamKind::Attention, "{name}");
                assert_eq!(tensor.size(), [10, 3], "{name}");
                kernels.push((name, role.layer));
            }
        }
        assert_eq!(counted, config.parameter_count(), "{sharing:?}");
        assert_eq!(kernels.len(), config.projection_kernels(), "{sharing:?}");
        let expected: Vec<(String, Option<usize>)> = match sharing {
            ProjectionSharing::KeyValue => (0..3)
                .map(|i| (format!("layers.{i}.attention.projection.weight"), Some(i)))
                .collect(),
            ProjectionSharing::Separate => (0..3)
                .flat_map(|i| {
                    ["key", "value"].map(|which| {
                        let name = format!("layers.{i}.attention.projection_{which}.weight");
                        (name, Some(i))
                    })
                })
                .collect(),
            ProjectionSharing::Layerwise => vec![("projection.weight".into(), None)],
        };
        kernels.sort();
        assert_eq!(kernels, expected, "{sharing:?}");
    }

    let (_, model) = build(small(ProjectionSharing::KeyValue));
    let role = |name: &str| model.role(name).map(|r| (r.kind, r.layer));
    use LinformerParamKind::*;
    assert_eq!(role("position_embeddings.weight"), Some((Positions, None)));
    assert_eq!(role("final_layer_norm.bias"), Some((LayerNorm, None)));
    assert_eq!(
        role("layers.1.ln_attention.weight"),
        Some((LayerNorm, Some(1)))
    );
    assert_eq!(role("layers.0.ln_mlp.bias"), Some((LayerNorm, Some(0))));
    assert_eq!(
        role("layers.1.attention.query.weight"),
        Some((Attention, Some(1)))
    );
    assert_eq!(
        role("layers.0.attention.output.weight"),
        Some((Attention, Some(0)))
    );
    assert_eq!(
        role("layers.1.mlp.dense_in.bias"),
        Some((FeedForward, Some(1)))
    );
    assert_eq!(
        role("layers.0.mlp.dense_out.weight"),
        Some((FeedForward, Some(0)))
    );
    // LRA's attention layers have no biases; a foreign name has no role.
    assert_eq!(role("layers.0.attention.key.bias"), None);
    assert_eq!(role("layers.2.attention.query.weight"), None);
}

#[test]
fn the_lra_model_has_the_parameters_counted_by_hand() {
    let _rng = exclusive_rng();
    let config = LinformerConfig::named("linformer-lra").unwrap();
    let (vs, model) = build(config.clone());
    // H = 128, qkv 64, mlp 128, k 16, 1,024 positions, 3 layers, one kernel per layer:
    //   positions                 1024 * 128             = 131,072
    //   per layer: 2 layer norms  2 * 2 * 128            =     512
    //              q, k, v, out   4 * 128 * 64           =  32,768
    //              mlp            2 * 128 * 128 + 128+128 =  33,024
    //              kernel         1024 * 16              =  16,384
    //                                                      = 82,688, times 3 = 248,064
    //   final layer norm          2 * 128                =     256
    //                                                total = 379,392
    let total: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    assert_eq!(total, 379_392);
    assert_eq!(config.parameter_count(), 379_392);
    assert_eq!(
        (
            model.num_layers(),
            model.hidden_size(),
            model.max_positions()
        ),
        (3, 128, 1024)
    );
}

#[test]
fn gradients_reach_every_parameter_through_the_last_token() {
    let _rng = exclusive_rng();
    tch::manual_seed(3);
    for sharing in SHARINGS {
        let (vs, model) = build(small(sharing));
        // A loss on the last token only, as FPT's output layer reads it.
        let ys = model.forward_last(&randn(&[4, 6, 16]), 1, true);
        ys.square().mean(Kind::Float).backward();
        for (name, tensor) in vs.variables() {
            let grad = tensor.grad();
            assert!(grad.defined(), "{sharing:?} {name}: no gradient");
            let norm = grad.norm().double_value(&[]);
            assert!(
                norm.is_finite() && norm > 0.0,
                "{sharing:?} {name}: gradient {norm}"
            );
        }
    }
}

#[test]
fn invalid_configs_are_refused_naming_the_field() {
    let _rng = exclusive_rng();
    let vs = nn::VarStore::new(Device::Cpu);
    let ok = small(ProjectionSharing::KeyValue);
    let refused = |config: LinformerConfig| {
        let err = Linformer::new(&vs.root(), config).unwrap_err();
        (err.clone(), err.to_string())
    };
    let (err, msg) = refused(LinformerConfig {
        num_heads: 3,
        ..ok.clone()
    });
    assert_eq!(
        err,
        LinformerConfigError::HeadsDoNotDivide {
            qkv_dim: 8,
            num_heads: 3
        }
    );
    assert!(
        msg.contains("qkv_dim 8") && msg.contains("num_heads 3"),
        "{msg}"
    );
    let (_, msg) = refused(LinformerConfig {
        k: 11,
        ..ok.clone()
    });
    assert!(
        msg.contains("k is 11") && msg.contains("max_positions is 10"),
        "{msg}"
    );
    for p in [1.0, -0.1, f64::NAN] {
        let (_, msg) = refused(LinformerConfig {
            dropout: p,
            ..ok.clone()
        });
        assert!(
            msg.contains("dropout is") && msg.contains("[0, 1)"),
            "{msg}"
        );
    }
    let (_, msg) = refused(LinformerConfig {
        attention_dropout: 1.0,
        ..ok.clone()
    });
    assert!(msg.contains("attention_dropout is 1"), "{msg}");
    let (_, msg) = refused(LinformerConfig {
        num_layers: 0,
        ..ok.clone()
    });
    assert!(msg.contains("num_layers is 0"), "{msg}");
    let (_, msg) = refused(LinformerConfig { mlp_dim: 0, ..ok });
    assert!(msg.contains("mlp_dim is 0"), "{msg}");
    assert!(
        vs.variables().is_empty(),
        "a refused config created variables"
    );
    for name in LinformerConfig::NAMES {
        LinformerConfig::named(name).unwrap().validate().unwrap();
    }
}

#[test]
fn configs_read_from_toml_with_defaults_and_reject_unknown_fields() {
    let _rng = exclusive_rng();
    let config: LinformerConfig =
        toml::from_str("num_layers = 1\nsharing = \"layerwise\"").unwrap();
    assert_eq!(config.sharing, ProjectionSharing::Layerwise);
    assert_eq!(config.num_layers, 1);
    assert_eq!(config.k, 16);
    let err = toml::from_str::<LinformerConfig>("low_rank_features = 8").unwrap_err();
    assert!(err.to_string().contains("low_rank_features"), "{err}");
    let err = toml::from_str::<LinformerConfig>("sharing = \"headwise\"").unwrap_err();
    assert!(err.to_string().contains("headwise"), "{err}");
}

#[test]
fn dropout_is_off_in_evaluation_and_on_in_training() {
    let _rng = exclusive_rng();
    tch::manual_seed(4);
    let (_vs, model) = build(LinformerConfig::named("linformer-tiny").unwrap());
    let xs = randn(&[2, 9, 128]);
    let eval = model.forward(&xs, false);
    assert!(eval.equal(&model.forward(&xs, false)));
    let train = model.forward(&xs, true);
    assert!(!train.equal(&model.forward(&xs, true)));
    assert!(!train.equal(&eval));
}

/// Sequences of random bits (as ±1) labelled by the XOR of the bits at positions 1 and 5:
/// the last token can only answer by attending to both.
fn xor_batch(batch: i64, steps: i64) -> (Tensor, Tensor) {
    let bits = Tensor::randint(2, [batch, steps, 1], (Kind::Int64, Device::Cpu));
    let labels = bits.select(1, 1).logical_xor(&bits.select(1, 5)).view([-1]);
    (
        bits.to_kind(Kind::Float) * 2.0 - 1.0,
        labels.to_kind(Kind::Int64),
    )
}

#[test]
fn a_tiny_linformer_learns_the_xor_of_two_distant_tokens() {
    let _rng = exclusive_rng();
    // A model this small is all per-op overhead, and libtorch's OpenMP workers spin-wait
    // on 2 shared cores (see the LSTM's test).
    tch::set_num_threads(1);
    tch::manual_seed(11);
    let steps = 8;
    let config = LinformerConfig {
        hidden_size: 32,
        num_heads: 2,
        qkv_dim: 32,
        mlp_dim: 64,
        k: 4,
        max_positions: steps,
        ..small(ProjectionSharing::KeyValue)
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let input = nn::linear(&root / "input", 1, 32, Default::default());
    let linformer = Linformer::new(&(&root / "linformer"), config).unwrap();
    let head = nn::linear(&root / "output", 32, 2, Default::default());
    let logits = |xs: &Tensor, train| {
        let hs = linformer.forward_last(&input.forward(xs), 1, train);
        head.forward(&hs.squeeze_dim(1))
    };
    let mut adam = nn::Adam::default().build(&vs, 3e-3).unwrap();
    for _ in 0..400 {
        let (xs, ys) = xor_batch(32, steps);
        adam.backward_step(&logits(&xs, true).cross_entropy_for_logits(&ys));
    }
    let (xs, ys) = xor_batch(2000, steps);
    let accuracy = tch::no_grad(|| accuracy(&logits(&xs, false), &ys));
    assert!(accuracy >= 0.9, "held-out accuracy {accuracy}");
}
