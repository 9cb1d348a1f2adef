//! ListOps: LRA's release or trees generated with LRA's algorithm, tokenised to ids.

use datasets::checksum::CheckedFile;
use datasets::listops::{self, Example, GeneratorConfig, Tokenizer};
use spec::task::{token_shape, EvalSplit, ListOpsData, ListOpsTokens};

use super::labelled::{Examples, LabelledTask};
use super::sources::{bad_file, DataContext, Splits};
use super::TaskError;

/// ListOps from `source`, tokenised by `tokens` and cut or padded to `max_tokens` (default:
/// the tokenisation's own length).
pub(super) fn load(
    source: ListOpsData,
    (tokens, max_tokens): (ListOpsTokens, Option<usize>),
    data: &DataContext,
    splits: Splits,
) -> Result<LabelledTask, TaskError> {
    let examples = match source {
        ListOpsData::Lra => lra_examples(data, splits)?,
        ListOpsData::Generated {
            seed,
            train,
            val,
            test,
            trees,
        } => {
            let lra = GeneratorConfig::default();
            let config = GeneratorConfig {
                seed,
                train,
                val,
                test,
                max_depth: trees.map_or(lra.max_depth, |t| t.max_depth),
                min_length: trees.map_or(lra.min_length, |t| t.min_length),
                max_length: trees.map_or(lra.max_length, |t| t.max_length),
                ..lra
            };
            generated_examples(&config, splits)?
        }
    };
    let tokenizer = tokens.tokenizer();
    let task = listops_task(
        TASK,
        (tokenizer, max_tokens.unwrap_or(tokenizer.max_len())),
        (
            &examples.train,
            &examples.eval,
            examples.validation.as_deref(),
        ),
        examples.name,
    )?;
    Ok(task.with_sources(examples.sources))
}

const TASK: &str = "listops";

/// The expressions a run trains and evaluates on, and the evaluated split's name.
struct ListOpsExamples {
    train: Vec<Example>,
    eval: Vec<Example>,
    validation: Option<Vec<Example>>,
    name: String,
    /// The files they were read from (none when generated).
    sources: Vec<CheckedFile>,
}

/// LRA's release: `basic_{train,val,test}.tsv` of `listops-1000`.
fn lra_examples(data: &DataContext, splits: Splits) -> Result<ListOpsExamples, TaskError> {
    let fetched = data.fetch(TASK, "lra-release")?;
    let dir = fetched.extracted.join("lra_release").join("listops-1000");
    let read = |file: &str| listops::read_tsv(&dir.join(file)).map_err(bad_file(TASK));
    let eval_file = match splits.eval {
        EvalSplit::Test => "basic_test.tsv",
        EvalSplit::Validation => "basic_val.tsv",
    };
    let validation = match splits.validation {
        true => Some(read("basic_val.tsv")?),
        false => None,
    };
    Ok(ListOpsExamples {
        train: read("basic_train.tsv")?,
        eval: read(eval_file)?,
        validation,
        name: format!("LRA ListOps {eval_file}"),
        sources: vec![fetched.checked],
    })
}

/// Trees drawn by LRA's algorithm under `config`.
fn generated_examples(
    config: &GeneratorConfig,
    splits: Splits,
) -> Result<ListOpsExamples, TaskError> {
    let generated = listops::generate(config).map_err(|e| TaskError::Settings {
        task: TASK,
        reason: e.to_string(),
    })?;
    let validation = splits.validation.then(|| generated.val.clone());
    let (eval, which) = match splits.eval {
        EvalSplit::Test => (generated.test, "test"),
        EvalSplit::Validation => (generated.val, "val"),
    };
    Ok(ListOpsExamples {
        train: generated.train,
        eval,
        validation,
        name: format!("generated ListOps {which} split (seed {})", config.seed),
        sources: Vec::new(),
    })
}

/// ListOps as token ids, each sequence cut or padded to `max_tokens`.
fn listops_task(
    task: &'static str,
    (tokenizer, max_tokens): (Tokenizer, usize),
    (train, eval, validation): (&[Example], &[Example], Option<&[Example]>),
    name: String,
) -> Result<LabelledTask, TaskError> {
    let encode = |examples: &[Example]| -> Result<Examples, TaskError> {
        let mut seqs = Vec::with_capacity(examples.len());
        for (i, e) in examples.iter().enumerate() {
            let ids = tokenizer
                .encode_padded(&e.source, max_tokens)
                .map_err(|err| TaskError::Settings {
                    task,
                    reason: format!("example {}: {err}", i + 1),
                })?;
            seqs.push(ids);
        }
        let labels: Vec<i64> = examples.iter().map(|e| i64::from(e.target)).collect();
        if seqs.is_empty() {
            return Err(TaskError::Settings {
                task,
                reason: "a split has no examples".into(),
            });
        }
        Ok(Examples::tokens(&seqs, &labels))
    };
    let shape = token_shape(tokenizer.vocab_size(), max_tokens, 10);
    let labelled = LabelledTask::new(shape, encode(train)?, encode(eval)?, name);
    Ok(match validation {
        Some(v) => labelled.with_validation(encode(v)?, "ListOps validation split".into()),
        None => labelled,
    })
}
