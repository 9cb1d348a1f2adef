//! TAPE remote homology: amino-acid sequences (up to 1024 tokens) and their fold.

use datasets::tape;
use spec::task::{token_shape, EvalSplit};

use super::labelled::{Examples, LabelledTask};
use super::sources::{bad_file, DataContext, Splits};
use super::TaskError;

/// The fold-classification splits, padded to `tape::MAX_TOKENS`; longer sequences are
/// skipped (and counted in the evaluation set's name).
pub(super) fn load(data: &DataContext, splits: Splits) -> Result<LabelledTask, TaskError> {
    let task = "remote-homology";
    let split = splits.eval;
    let fetched = data.fetch(task, "tape-remote-homology")?;
    let dir = fetched.extracted.join("remote_homology");
    let read = |split: &str| {
        let path = dir.join(format!("remote_homology_{split}.json"));
        tape::read(&path).map_err(bad_file(task))
    };
    let eval_split = match split {
        EvalSplit::Test => "test_fold_holdout",
        EvalSplit::Validation => "valid",
    };
    let encoded =
        |split: &str| read(split).map(|examples| tape::encode_split(&examples, tape::MAX_TOKENS));
    let train = encoded("train")?;
    let eval = encoded(eval_split)?;
    let validation = match splits.validation {
        true => Some(encoded("valid")?),
        false => None,
    };
    let name = format!(
        "TAPE remote homology {eval_split} ({} longer than {} tokens skipped)",
        eval.skipped_too_long,
        tape::MAX_TOKENS
    );
    let pad = |seqs: Vec<Vec<i64>>| -> Vec<Vec<i64>> {
        seqs.into_iter()
            .map(|mut s| {
                s.resize(tape::MAX_TOKENS, tape::PAD_ID);
                s
            })
            .collect()
    };
    let shape = token_shape(tape::VOCAB_SIZE, tape::MAX_TOKENS, tape::FOLD_CLASSES);
    let mut labelled = LabelledTask::new(
        shape,
        Examples::tokens(&pad(train.sequences), &train.labels),
        Examples::tokens(&pad(eval.sequences), &eval.labels),
        name,
    );
    if let Some(v) = validation {
        labelled = labelled.with_validation(
            Examples::tokens(&pad(v.sequences), &v.labels),
            "TAPE remote homology valid".into(),
        );
    }
    Ok(labelled.with_sources(vec![fetched.checked]))
}
