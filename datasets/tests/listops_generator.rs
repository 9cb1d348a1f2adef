//! The ListOps generator checked against an evaluator written independently of its trees:
//! this one reads the serialised text, as a model would see it.

use std::collections::HashSet;

use datasets::listops::{generate, read_tsv, GeneratorConfig, Tokenizer};

/// Evaluate LRA ListOps text with a stack, ignoring parentheses.
fn evaluate_text(text: &str) -> u8 {
    enum Item {
        Op(String),
        Val(u32),
    }
    let mut stack: Vec<Item> = Vec::new();
    for tok in text.split_whitespace() {
        match tok {
            "(" | ")" => {}
            "]" => {
                let mut args = Vec::new();
                let op = loop {
                    match stack.pop().expect("balanced") {
                        Item::Val(v) => args.push(v),
                        Item::Op(op) => break op,
                    }
                };
                args.sort();
                let v = match op.as_str() {
                    "[MIN" => args[0],
                    "[MAX" => *args.last().unwrap(),
                    "[SM" => args.iter().sum::<u32>() % 10,
                    "[MED" => {
                        let n = args.len();
                        if n % 2 == 1 {
                            args[n / 2]
                        } else {
                            (args[n / 2 - 1] + args[n / 2]) / 2
                        }
                    }
                    other => panic!("unknown operator {other}"),
                };
                stack.push(Item::Val(v));
            }
            t if t.starts_with('[') => stack.push(Item::Op(t.to_string())),
            t => stack.push(Item::Val(t.parse().unwrap())),
        }
    }
    match stack.as_slice() {
        [Item::Val(v)] => *v as u8,
        _ => panic!("expression did not reduce to one value"),
    }
}

fn small_config(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        min_length: 20,
        max_length: 200,
        train: 300,
        val: 30,
        test: 30,
        ..GeneratorConfig::default()
    }
}

#[test]
fn labels_lengths_and_uniqueness() {
    let config = small_config(1);
    let splits = generate(&config).unwrap();
    assert_eq!(
        (splits.train.len(), splits.val.len(), splits.test.len()),
        (300, 30, 30)
    );
    let mut seen = HashSet::new();
    for e in splits.train.iter().chain(&splits.val).chain(&splits.test) {
        assert_eq!(evaluate_text(&e.source), e.target, "{}", e.source);
        let length = Tokenizer::Lra.encode(&e.source).unwrap().len(); // ops + values + ']'
        assert!(
            length > config.min_length && length < config.max_length,
            "length {length}"
        );
        assert!(seen.insert(e.source.clone()), "duplicate {}", e.source);
    }
    let labels: HashSet<u8> = splits.train.iter().map(|e| e.target).collect();
    assert!(labels.len() >= 8, "labels should vary: {labels:?}");
}

#[test]
fn lra_default_window_is_respected() {
    let config = GeneratorConfig {
        train: 12,
        val: 2,
        test: 2,
        seed: 5,
        ..GeneratorConfig::default()
    };
    let splits = generate(&config).unwrap();
    for e in splits.train.iter().chain(&splits.val).chain(&splits.test) {
        let length = Tokenizer::Lra.encode(&e.source).unwrap().len();
        assert!(length > 500 && length < 2000, "length {length}");
        assert_eq!(evaluate_text(&e.source), e.target);
    }
}

#[test]
fn same_seed_same_files_and_tsv_round_trip() {
    let a = generate(&small_config(7)).unwrap();
    assert_eq!(a, generate(&small_config(7)).unwrap());
    assert_ne!(a, generate(&small_config(8)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let paths = a.write_dir(dir.path()).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["basic_train.tsv", "basic_val.tsv", "basic_test.tsv"]
    );
    assert_eq!(read_tsv(&paths[0]).unwrap(), a.train);
    assert_eq!(read_tsv(&paths[2]).unwrap(), a.test);
    let first = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(first.starts_with("Source\tTarget\n"));
}

#[test]
fn impossible_settings_are_errors() {
    let bad = GeneratorConfig {
        min_length: 10,
        max_length: 11,
        ..small_config(1)
    };
    assert!(generate(&bad).unwrap_err().to_string().contains("window"));
    let shallow = GeneratorConfig {
        max_depth: 1,
        ..small_config(1)
    };
    assert!(generate(&shallow)
        .unwrap_err()
        .to_string()
        .contains("gave up"));
}
