//! The final evaluation's per-example predictions, and the hashes that say what a run
//! scored and how it was set up: arms are compared only on the same examples.

use sha2::{Digest, Sha256};
use spec::schema::Prediction;
use tch::{Device, Kind, Tensor};

use crate::task::Batch;

/// Examples per forward pass, as the evaluation takes them.
const CHUNK: i64 = 256;

/// Every example's (and, for per-token tasks, every position's) predicted class by
/// `logits` (the model's in eval mode, or its head's on cached features) beside its label,
/// in evaluation order.
pub fn predictions(data: &Batch, logits: impl Fn(&Tensor) -> Tensor) -> Vec<Prediction> {
    tch::no_grad(|| {
        let mut out = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let len = CHUNK.min(data.len() - start);
            let chunk = data.slice(start, len);
            let predicted = logits(&chunk.inputs).argmax(-1, false);
            push_chunk(&mut out, start as u64, &chunk.targets, &predicted);
            start += len;
        }
        out
    })
}

/// Appends one chunk's predictions: targets `[n]` (one answer per example) or `[n, p]`
/// (one per position).
fn push_chunk(out: &mut Vec<Prediction>, first: u64, targets: &Tensor, predicted: &Tensor) {
    let per_example = targets.dim() == 1;
    let positions = if per_example {
        1
    } else {
        targets.size()[1] as u64
    };
    let flat = |t: &Tensor| -> Vec<i64> {
        Vec::try_from(t.reshape([-1]).to_kind(Kind::Int64).to_device(Device::Cpu))
            .expect("class indices read back")
    };
    let (labels, predicted) = (flat(targets), flat(predicted));
    for (i, (&label, &predicted)) in labels.iter().zip(&predicted).enumerate() {
        let i = i as u64;
        out.push(Prediction {
            example: first + i / positions,
            position: (!per_example).then_some(i % positions),
            label,
            predicted,
        });
    }
}

/// SHA-256 over the examples' inputs and labels: for each tensor its dtype, shape and
/// bytes, so equal hashes mean the same examples in the same order.
pub fn data_sha256(data: &Batch) -> String {
    let mut hasher = Sha256::new();
    for tensor in [&data.inputs, &data.targets] {
        let tensor = tensor.to_device(Device::Cpu).contiguous();
        hasher.update(format!("{:?}{:?}", tensor.kind(), tensor.size()).as_bytes());
        let numel = tensor.numel();
        let mut bytes = vec![0u8; numel * tensor.kind().elt_size_in_bytes()];
        tensor.copy_data_u8(&mut bytes, numel);
        hasher.update(&bytes);
    }
    hex(&hasher.finalize())
}

/// SHA-256 of a file's bytes (the run's spec.toml).
pub fn bytes_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(inputs: &[f32], targets: &[i64]) -> Batch {
        Batch {
            inputs: Tensor::from_slice(inputs).reshape([targets.len() as i64, -1]),
            targets: Tensor::from_slice(targets),
        }
    }

    #[test]
    fn the_data_hash_changes_with_any_input_label_or_order() {
        let a = data_sha256(&batch(&[0.0, 1.0, 2.0, 3.0], &[0, 1]));
        assert_eq!(a, data_sha256(&batch(&[0.0, 1.0, 2.0, 3.0], &[0, 1])));
        assert_eq!(a.len(), 64);
        for other in [
            batch(&[0.0, 1.0, 2.0, 3.5], &[0, 1]),
            batch(&[0.0, 1.0, 2.0, 3.0], &[1, 1]),
            batch(&[2.0, 3.0, 0.0, 1.0], &[1, 0]),
            batch(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[0, 1, 0]),
        ] {
            assert_ne!(a, data_sha256(&other));
        }
        // The empty input's hash is SHA-256's known value for no bytes.
        assert_eq!(
            bytes_sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn per_token_targets_give_one_prediction_per_position() {
        let mut out = Vec::new();
        let targets = Tensor::from_slice(&[1i64, 0, 1, 1]).reshape([2, 2]);
        let predicted = Tensor::from_slice(&[1i64, 1, 0, 1]).reshape([2, 2]);
        push_chunk(&mut out, 10, &targets, &predicted);
        let at = |example, position, label, predicted| Prediction {
            example,
            position: Some(position),
            label,
            predicted,
        };
        assert_eq!(
            out,
            [
                at(10, 0, 1, 1),
                at(10, 1, 0, 1),
                at(11, 0, 1, 0),
                at(11, 1, 1, 1)
            ]
        );
        let mut flat = Vec::new();
        push_chunk(
            &mut flat,
            0,
            &Tensor::from_slice(&[3i64]),
            &Tensor::from_slice(&[4i64]),
        );
        assert_eq!(flat[0].position, None);
        assert_eq!((flat[0].label, flat[0].predicted), (3, 4));
    }
}
