//! Our GPT-2 against Hugging Face's on the committed fixture (tools/golden/make_gpt2_golden.py).

mod parity;

use parity::{assert_within_rounding, fixture, fixture_arithmetic, max_abs_diff, tensor};
use spec::model::ModelSource;

#[test]
fn backbone_matches_hugging_face_within_rounding() {
    let dir = fixture("gpt2-golden");
    let x = tensor(&dir.join("inputs.safetensors"), "inputs_embeds");
    let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
    let ours = models::inspect::backbone_forward(&ModelSource::Dir(dir), &x, true).unwrap();
    assert_within_rounding(&ours, &expected, &fixture_arithmetic("gpt2-golden"), "gpt2");
    // The comparison is not vacuous: the output is far from the input.
    assert!(max_abs_diff(&expected, &x) > 0.1);
}
