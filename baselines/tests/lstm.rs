//! The LN-LSTM as a model: shapes, gradients, determinism, dropout and a task it learns.

mod common;

use common::{accuracy, exclusive_rng};

use baselines::{LnLstm, LstmConfig, LstmParamKind, PRESETS};
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

fn small(num_layers: usize, hidden_size: i64) -> LstmConfig {
    LstmConfig {
        num_layers,
        hidden_size,
        ..LstmConfig::default()
    }
}

fn build(config: LstmConfig) -> (nn::VarStore, LnLstm) {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = LnLstm::new(&vs.root(), config).expect("valid config");
    (vs, model)
}

fn randn(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Float, Device::Cpu))
}

fn all_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}

fn same(a: &Tensor, b: &Tensor) -> bool {
    a.equal(b)
}

#[test]
fn the_model_can_sit_behind_the_harness_backbone_trait() {
    let _rng = exclusive_rng();
    // The harness's `Backbone` requires `Debug + Send`.
    fn backbone_bounds<T: std::fmt::Debug + Send>() {}
    backbone_bounds::<LnLstm>();
}

#[test]
fn presets_map_full_sequences_and_name_every_parameter() {
    let _rng = exclusive_rng();
    tch::manual_seed(0);
    for name in PRESETS {
        let config = LstmConfig::preset(name).unwrap();
        let (vs, model) = build(config.clone());
        let width = config.hidden_size;
        let xs = randn(&[2, 5, width]);
        let ys = model.forward(&xs, false);
        assert_eq!(ys.size(), [2, 5, width], "{name}");
        assert!(all_finite(&ys), "{name}: non-finite outputs");

        let mut counted = 0;
        let mut positions = 0;
        for (var, tensor) in vs.variables() {
            let role = model
                .role(&var)
                .unwrap_or_else(|| panic!("{name}: '{var}' has no role"));
            counted += tensor.numel() as i64;
            match role.kind {
                LstmParamKind::Positions => positions += tensor.numel() as i64,
                _ => assert!(role.layer.unwrap() < config.num_layers, "{var}"),
            }
        }
        assert_eq!(counted, config.parameter_count(), "{name}");
        assert_eq!(positions > 0, config.learned_positions, "{name}");
        assert_eq!(
            model.max_positions(),
            config.learned_positions.then_some(1024)
        );
    }
}

#[test]
fn each_variable_carries_the_kind_and_layer_it_was_created_with() {
    let _rng = exclusive_rng();
    let config = LstmConfig {
        learned_positions: true,
        ..small(3, 8)
    };
    let (vs, model) = build(config);
    let role = |name: &str| model.role(name).map(|r| (r.kind, r.layer));
    assert_eq!(
        role("position_embeddings.weight"),
        Some((LstmParamKind::Positions, None))
    );
    assert_eq!(
        role("layers.0.i2h.weight"),
        Some((LstmParamKind::Recurrent, Some(0)))
    );
    assert_eq!(
        role("layers.2.h2h.bias"),
        Some((LstmParamKind::Recurrent, Some(2)))
    );
    assert_eq!(
        role("layers.1.ln_cell.weight"),
        Some((LstmParamKind::LayerNorm, Some(1)))
    );
    assert_eq!(
        role("layers.1.ln_h2h.bias"),
        Some((LstmParamKind::LayerNorm, Some(1)))
    );
    // A role for exactly the variables the model made, none for a foreign name.
    assert_eq!(role("layers.3.i2h.weight"), None);
    assert_eq!(role("input.weight"), None);
    for (var, _) in vs.variables() {
        assert!(model.role(&var).is_some(), "{var}");
    }
    let (_, without) = build(small(1, 8));
    assert_eq!(without.role("position_embeddings.weight"), None);
}

#[test]
fn gradients_reach_every_parameter_of_twelve_residual_layers() {
    let _rng = exclusive_rng();
    tch::manual_seed(1);
    let config = LstmConfig {
        hidden_size: 32,
        ..LstmConfig::preset("lstm-12-residual-positions").unwrap()
    };
    let (vs, model) = build(config);
    let ys = model.forward(&randn(&[4, 6, 32]), true);
    // A loss on the last token only, as FPT's output layer reads it.
    let loss = ys.select(1, -1).square().mean(Kind::Float);
    loss.backward();
    let vars = vs.variables();
    assert_eq!(vars.len(), 1 + 12 * 10);
    for (name, tensor) in vars {
        let grad = tensor.grad();
        assert!(grad.defined(), "{name}: no gradient");
        assert!(all_finite(&grad), "{name}: non-finite gradient");
        let norm = grad.norm().double_value(&[]);
        assert!(norm > 0.0, "{name}: zero gradient");
    }
}

#[test]
fn same_seed_gives_identical_models_and_outputs() {
    let _rng = exclusive_rng();
    let run = |seed| {
        tch::manual_seed(seed);
        let (_vs, model) = build(small(2, 16));
        let xs = randn(&[3, 4, 16]);
        // Training mode, so that the dropout masks must repeat too.
        model.forward(&xs, true)
    };
    assert!(same(&run(3), &run(3)));
    assert!(!same(&run(3), &run(4)));
}

#[test]
fn dropout_is_off_in_evaluation_and_on_in_training() {
    let _rng = exclusive_rng();
    tch::manual_seed(5);
    let (_vs, model) = build(small(2, 64));
    let xs = randn(&[4, 5, 64]);
    let eval = model.forward(&xs, false);
    assert!(same(&eval, &model.forward(&xs, false)));
    let train = model.forward(&xs, true);
    assert!(!same(&train, &model.forward(&xs, true)));
    assert!(!same(&train, &eval));
    // Dropout 0.1 on the top layer's hidden states: about a tenth of them are exactly zero.
    let zeros = train.eq(0.0).to_kind(Kind::Float).mean(Kind::Float);
    let zeros = zeros.double_value(&[]);
    assert!((0.05..0.15).contains(&zeros), "zeroed fraction {zeros}");
    assert_eq!(eval.eq(0.0).sum(Kind::Int64).int64_value(&[]), 0);
}

#[test]
fn residual_connections_add_each_layer_input() {
    let _rng = exclusive_rng();
    let xs = randn(&[2, 3, 8]);
    let run = |residual| {
        tch::manual_seed(6);
        let (_vs, model) = build(LstmConfig {
            residual,
            ..small(1, 8)
        });
        model.forward(&xs, false)
    };
    let (residual, plain) = (run(true), run(false));
    let diff = (&residual - &plain - &xs).abs().max().double_value(&[]);
    // Both runs compute the plain part bit for bit alike; what is left is the rounding of
    // the residual add and of the two subtractions here: three roundings, each at most
    // u = 2^-24 of the magnitudes involved.
    let scale = residual.abs().max().double_value(&[]) + xs.abs().max().double_value(&[]);
    let tol = 3.0 * (f32::EPSILON as f64 / 2.0) * scale;
    assert!(
        diff <= tol,
        "residual output minus plain output minus input: {diff} > {tol}"
    );
}

#[test]
fn learned_positions_start_at_zero_and_shift_the_input() {
    let _rng = exclusive_rng();
    let config = LstmConfig {
        learned_positions: true,
        max_positions: 4,
        ..small(1, 8)
    };
    tch::manual_seed(7);
    let (vs, with_table) = build(config.clone());
    tch::manual_seed(7);
    let (_, without) = build(LstmConfig {
        learned_positions: false,
        ..config
    });
    let xs = randn(&[2, 4, 8]);
    // A zero table leaves the model as it would be without one.
    assert!(same(
        &with_table.forward(&xs, false),
        &without.forward(&xs, false)
    ));
    let mut table = vs.variables().remove("position_embeddings.weight").unwrap();
    tch::no_grad(|| {
        let _ = table.fill_(0.5);
    });
    let shifted = with_table.forward(&xs, false);
    assert!(same(&shifted, &without.forward(&(&xs + 0.5), false)));
}

#[test]
#[should_panic(expected = "exceeds the LSTM's 4 learned positions")]
fn sequences_longer_than_the_position_table_are_refused() {
    let _rng = exclusive_rng();
    let (_vs, model) = build(LstmConfig {
        learned_positions: true,
        max_positions: 4,
        ..small(1, 8)
    });
    let _ = model.forward(&randn(&[1, 5, 8]), false);
}

#[test]
fn invalid_configs_are_refused_with_the_reason() {
    let _rng = exclusive_rng();
    let vs = nn::VarStore::new(Device::Cpu);
    let err = LnLstm::new(&vs.root(), small(0, 8)).unwrap_err();
    assert!(err.to_string().contains("num_layers is 0"), "{err}");
    let err = LnLstm::new(
        &vs.root(),
        LstmConfig {
            dropout: 1.5,
            ..small(1, 8)
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("dropout is 1.5"), "{err}");
    assert!(
        vs.variables().is_empty(),
        "a refused config created variables"
    );
}

/// Sequences of ±1 of odd length (so no ties) labelled by the sign of their sum.
fn sign_of_sum_batch(batch: i64, steps: i64) -> (Tensor, Tensor) {
    let bits = Tensor::randint(2, [batch, steps, 1], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let labels = bits
        .sum_dim_intlist(1, false, Kind::Float)
        .view([-1])
        .gt(0.0);
    (bits, labels.to_kind(Kind::Int64))
}

#[test]
fn a_tiny_lstm_learns_the_sign_of_a_sum() {
    let _rng = exclusive_rng();
    // A model this small is all per-op overhead, and libtorch's OpenMP workers spin-wait:
    // on 2 shared cores two threads made this test 20x slower than one.
    tch::set_num_threads(1);
    tch::manual_seed(11);
    let (hidden, steps) = (32, 9);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let input = nn::linear(&root / "input", 1, hidden, Default::default());
    let lstm = LnLstm::new(&(&root / "lstm"), small(1, hidden)).unwrap();
    let head = nn::linear(&root / "output", hidden, 2, Default::default());
    let logits = |xs: &Tensor, train| {
        let hs = lstm.forward(&input.forward(xs), train);
        head.forward(&hs.select(1, -1))
    };
    let mut adam = nn::Adam::default().build(&vs, 1e-2).unwrap();
    for _ in 0..300 {
        let (xs, ys) = sign_of_sum_batch(64, steps);
        adam.backward_step(&logits(&xs, true).cross_entropy_for_logits(&ys));
    }
    let (xs, ys) = sign_of_sum_batch(2000, steps);
    let accuracy = tch::no_grad(|| accuracy(&logits(&xs, false), &ys));
    assert!(accuracy > 0.95, "accuracy {accuracy}");
}
