//! Building blocks the backbones share: LayerNorm, torch-style Linear, multi-head attention,
//! the GELU variants HF names, and the config checks of the BERT-style encoders.

use spec::freeze::ParamGroup;
use tch::nn::Init;
use tch::Tensor;

use super::vars::RolePath;

/// HF's random init for Linear and Embedding weights: normal(0, `std`).
pub(crate) fn normal(std: f64) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: std,
    }
}

/// `torch.nn.LayerNorm` over the last dimension; init weight 1, bias 0.
#[derive(Debug)]
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub(crate) fn new(p: RolePath, dim: i64, eps: f64) -> Self {
        let p = p.group(ParamGroup::LayerNorm);
        Self {
            weight: p.var("weight", &[dim], Init::Const(1.0)),
            bias: p.var("bias", &[dim], Init::Const(0.0)),
            eps,
        }
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Tensor {
        let dim = *xs
            .size()
            .last()
            .expect("hidden states have a last dimension");
        xs.layer_norm([dim], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

/// `torch.nn.Linear`: `y = x W^T + b` with `W` stored `[out, in]` (BERT's and ViT's layout);
/// init normal(0, `std`) weight, zero bias; its variables have the role of `p`.
#[derive(Debug)]
pub(crate) struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    pub(crate) fn new(p: RolePath, d_in: i64, d_out: i64, std: f64) -> Self {
        let weight = Self::without_bias(p.clone(), d_in, d_out, std).weight;
        Self {
            weight,
            bias: Some(p.var("bias", &[d_out], Init::Const(0.0))),
        }
    }

    /// `torch.nn.Linear(bias=False)`, as T5 has them.
    pub(crate) fn without_bias(p: RolePath, d_in: i64, d_out: i64, std: f64) -> Self {
        Self {
            weight: p.var("weight", &[d_out, d_in], normal(std)),
            bias: None,
        }
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Tensor {
        in_weight_kind(xs, &self.weight, |xs| {
            xs.linear(&self.weight, self.bias.as_ref())
        })
    }
}

/// `f` applied to `xs` in `weight`'s dtype, the result in `xs`'s: a layer kept in bf16
/// (`FrozenPrecision::Bf16`) multiplies in bf16 and hands fp32 on.
pub(crate) fn in_weight_kind(
    xs: &Tensor,
    weight: &Tensor,
    f: impl Fn(&Tensor) -> Tensor,
) -> Tensor {
    if xs.kind() == weight.kind() {
        f(xs)
    } else {
        f(&xs.to_kind(weight.kind())).to_kind(xs.kind())
    }
}

thread_local! {
    /// Attention weights recorded by [`record_attention`], one `[B, T, T]` per call.
    static RECORDED: std::cell::RefCell<Option<Vec<Tensor>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns, beside its result, the attention weights of every attention call
/// it made (in call order: one per layer for a forward pass), averaged over heads
/// (`[B, T, T]`: query rows, key columns). For inspection, in eval mode.
pub fn record_attention<R>(f: impl FnOnce() -> R) -> (R, Vec<Tensor>) {
    /// Stops recording however `f` ends, a panic included.
    struct Stop;
    impl Drop for Stop {
        fn drop(&mut self) {
            RECORDED.with(|r| r.borrow_mut().take());
        }
    }
    RECORDED.with(|r| *r.borrow_mut() = Some(Vec::new()));
    let stop = Stop;
    let result = f();
    let maps = RECORDED.with(|r| r.borrow_mut().take()).unwrap_or_default();
    drop(stop);
    (result, maps)
}

/// The last `tokens` of hidden states `[B, T, H]` (a view; all of them when `tokens` is T).
pub(crate) fn last_tokens(xs: &Tensor, tokens: i64) -> Tensor {
    let t = xs.size()[1];
    xs.narrow(1, t - tokens, tokens)
}

/// How many of the last tokens each of `layers` blocks runs its queries (and everything
/// after attention) for, on `t` tokens of which the caller wants the last `tokens`: every
/// token but in the last block, whose outputs only the wanted tokens need; the earlier
/// blocks feed its keys and values.
pub(crate) fn queries_per_layer(layers: usize, t: i64, tokens: i64) -> impl Iterator<Item = i64> {
    (0..layers).map(move |i| if i + 1 == layers { tokens } else { t })
}

/// Which keys each query may see under a causal mask when the queries are the last `tq` of
/// `tk` tokens: `[tq, tk]`, true up to the query's own position.
fn causal_visibility(tq: i64, tk: i64, device: tch::Device) -> Tensor {
    Tensor::ones([tq, tk], (tch::Kind::Bool, device)).tril(tk - tq)
}

/// Which keys each query of [`attend`] may see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mask<'a> {
    /// Every key (BERT, ViT).
    Full,
    /// The keys up to the query's own position (GPT-2).
    Causal,
    /// `[Tq, Tk]`, true where the query may see the key (Longformer's window).
    Visible(&'a Tensor),
}

impl Mask<'_> {
    /// The `[tq, tk]` visibility, `None` where every key is visible.
    fn visibility(&self, tq: i64, tk: i64, device: tch::Device) -> Option<Tensor> {
        match self {
            Mask::Full => None,
            Mask::Causal => Some(causal_visibility(tq, tk, device)),
            Mask::Visible(v) => Some(v.shallow_clone()),
        }
    }
}

/// Passes attention weights `[B, heads, Tq, Tk]`, computed only when [`record_attention`] is
/// recording, averaged over heads, to the recording.
pub(crate) fn record_weights(weights: impl FnOnce() -> Tensor) {
    RECORDED.with(|r| {
        if let Some(maps) = r.borrow_mut().as_mut() {
            maps.push(tch::no_grad(|| {
                weights().mean_dim(1, false, tch::Kind::Float)
            }));
        }
    });
}

/// softmax(q k^T / sqrt(d)) under `mask`; q `[B, heads, Tq, d]` for the last Tq of the Tk
/// tokens of k `[B, heads, Tk, d]`.
fn attention_weights(q: &Tensor, k: &Tensor, mask: Mask) -> Tensor {
    let (_, _, tq, d) = q.size4().expect("[B, heads, Tq, d]");
    let tk = k.size()[2];
    let mut scores = q.matmul(&k.transpose(-2, -1)) / (d as f64).sqrt();
    if let Some(visible) = mask.visibility(tq, tk, q.device()) {
        scores = scores.masked_fill(&visible.logical_not(), f64::NEG_INFINITY);
    }
    scores.softmax(-1, tch::Kind::Float)
}

/// Multi-head scaled dot-product attention: `q` `[B, Tq, H]`, the queries of the last Tq of
/// the Tk tokens whose keys and values `k`, `v` `[B, Tk, H]` hold, split into `heads`
/// heads, scaled by `1/sqrt(head_dim)`, merged back to `[B, Tq, H]`. Attention dropout
/// `dropout` applies only when `train`.
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: i64,
    dropout: f64,
    mask: Mask,
    train: bool,
) -> Tensor {
    let (b, tq, h) = q.size3().expect("hidden states are [B, T, H]");
    let tk = k.size()[1];
    // [B, heads, T, head_dim]
    let split = |xs: &Tensor| {
        xs.reshape([b, xs.size()[1], heads, h / heads])
            .transpose(1, 2)
    };
    record_weights(|| attention_weights(&split(q), &split(k), mask));
    // SDPA's own causal mask aligns the first query with the first key: right only when
    // every token queries; otherwise the mask goes in as a visibility.
    let fused_causal = matches!(mask, Mask::Causal) && tq == tk;
    let visible = if fused_causal {
        None
    } else {
        mask.visibility(tq, tk, q.device())
    };
    let ys = Tensor::scaled_dot_product_attention(
        &split(q),
        &split(k),
        &split(v),
        visible,
        if train { dropout } else { 0.0 },
        fused_causal,
        None,
        false,
    );
    ys.transpose(1, 2).reshape([b, tq, h])
}

/// BERT's and ViT's self-attention: separate `query`, `key`, `value` Linears under one
/// path, bidirectional (no mask); returns the per-head contexts merged, before the output
/// projection.
#[derive(Debug)]
pub(crate) struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    heads: i64,
}

impl SelfAttention {
    pub(crate) fn new(p: RolePath, hidden: i64, heads: i64, std: f64) -> Self {
        let p = p.group(ParamGroup::Attention);
        Self {
            query: Linear::new(p.sub("query"), hidden, hidden, std),
            key: Linear::new(p.sub("key"), hidden, hidden, std),
            value: Linear::new(p.sub("value"), hidden, hidden, std),
            heads,
        }
    }

    /// Contexts `[B, queries, H]` of the last `queries` tokens of `xs` `[B, T, H]`, which
    /// attend to all T.
    pub(crate) fn forward(&self, xs: &Tensor, queries: i64, dropout: f64, train: bool) -> Tensor {
        attend(
            &self.query.forward(&last_tokens(xs, queries)),
            &self.key.forward(xs),
            &self.value.forward(xs),
            self.heads,
            dropout,
            Mask::Full,
            train,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::Arithmetic;

    /// The recorded weights are the ones the fused kernel applied: with one head, weights
    /// times values give attention's output; rows sum to 1; causal weights never look ahead.
    #[test]
    fn recorded_attention_weights_reproduce_the_output() {
        tch::manual_seed(0);
        let (q, k, v) = (
            Tensor::randn([2, 5, 8], tch::kind::FLOAT_CPU),
            Tensor::randn([2, 5, 8], tch::kind::FLOAT_CPU),
            Tensor::randn([2, 5, 8], tch::kind::FLOAT_CPU),
        );
        let (ys, maps) = record_attention(|| attend(&q, &k, &v, 1, 0.0, Mask::Causal, false));
        assert_eq!(maps.len(), 1);
        let w = &maps[0];
        assert_eq!(w.size(), [2, 5, 5]);
        // One block of sums over at most 8 terms (head width 8, 5 keys).
        let bound = |magnitude| Arithmetic {
            depth: 1,
            widest_sum: 8,
            magnitude,
        };
        let diff = (w.matmul(&v) - &ys).abs().max().double_value(&[]);
        let tol = bound(ys.abs().max().double_value(&[])).fp32_tolerance();
        assert!(diff <= tol, "{diff} > {tol}");
        let row_sums = w.sum_dim_intlist(-1, false, tch::Kind::Float);
        let off = (row_sums - 1.0).abs().max().double_value(&[]);
        assert!(off <= bound(1.0).fp32_tolerance(), "{off}");
        assert_eq!(w.triu(1).abs().sum(tch::Kind::Float).double_value(&[]), 0.0);
        // Outside record_attention nothing is kept.
        let (_, none) = record_attention(|| ());
        assert!(none.is_empty());
    }

    /// The last tokens' queries alone give the last rows of full attention, causal or not,
    /// and record the matching rows of the weights.
    #[test]
    fn attention_of_the_last_queries_is_the_last_rows_of_full_attention() {
        tch::manual_seed(1);
        let [q, k, v] = [0, 1, 2].map(|_| Tensor::randn([2, 6, 8], tch::kind::FLOAT_CPU));
        // Sums over at most 8 terms (head width 4 or 8, 6 keys); weights are at most 1.
        let bound = |magnitude| {
            Arithmetic {
                depth: 1,
                widest_sum: 8,
                magnitude,
            }
            .fp32_tolerance()
        };
        for (causal, mask) in [(true, Mask::Causal), (false, Mask::Full)] {
            let (full, full_maps) = record_attention(|| attend(&q, &k, &v, 2, 0.0, mask, false));
            let (tail, tail_maps) =
                record_attention(|| attend(&last_tokens(&q, 2), &k, &v, 2, 0.0, mask, false));
            assert_eq!(tail.size(), [2, 2, 8]);
            let diff = (last_tokens(&full, 2) - &tail)
                .abs()
                .max()
                .double_value(&[]);
            let tol = bound(full.abs().max().double_value(&[]));
            assert!(diff <= tol, "causal {causal}: {diff} > {tol}");
            assert_eq!(tail_maps[0].size(), [2, 2, 6]);
            let diff = (full_maps[0].narrow(1, 4, 2) - &tail_maps[0])
                .abs()
                .max()
                .double_value(&[]);
            assert!(diff <= bound(1.0), "causal {causal}: weights {diff}");
        }
        // Causal: the second-to-last token does not see the last one.
        let (_, maps) =
            record_attention(|| attend(&last_tokens(&q, 2), &k, &v, 1, 0.0, Mask::Causal, false));
        assert_eq!(maps[0].get(0).get(0).get(5).double_value(&[]), 0.0);
        assert!(maps[0].get(0).get(1).get(5).double_value(&[]) > 0.0);
    }

    #[test]
    fn attention_without_mask_sees_later_tokens() {
        tch::manual_seed(0);
        let q = Tensor::randn([1, 4, 8], tch::kind::FLOAT_CPU);
        let k = Tensor::randn([1, 4, 8], tch::kind::FLOAT_CPU);
        let v = Tensor::randn([1, 4, 8], tch::kind::FLOAT_CPU);
        let both = attend(&q, &k, &v, 2, 0.0, Mask::Full, false);
        let causal = attend(&q, &k, &v, 2, 0.0, Mask::Causal, false);
        // The last token sees everything either way; the first differs.
        let diff = |i: i64| (both.get(0).get(i) - causal.get(0).get(i)).abs().max();
        let tol = Arithmetic {
            depth: 1,
            widest_sum: 8,
            magnitude: both.abs().max().double_value(&[]),
        }
        .fp32_tolerance();
        assert!(diff(3).double_value(&[]) <= tol);
        assert!(diff(0).double_value(&[]) > tol);
    }
}
