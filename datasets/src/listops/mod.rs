//! LRA ListOps: expression trees, the seeded generator, the TSV files and both tokenisations.
//! See docs/reference.md section 3.

pub mod generate;
pub mod tokenize;
pub mod tree;
pub mod tsv;

pub use generate::{generate, GeneratorConfig, ListOpsSplits};
pub use tokenize::{TokenizeError, Tokenizer};
pub use tree::{Node, Op};
pub use tsv::{read_tsv, write_tsv, Example, TsvError};
