//! ListOps tokenisation, with one fixed vocabulary (ids never depend on data or set order):
//!
//! | id | 0 | 1..=10 | 11 | 12 | 13 | 14 | 15 |
//! |---|---|---|---|---|---|---|---|
//! | symbol | pad | digits 0..=9 | MIN | MAX | MED | SM | `]` (LRA's `X`) |
//!
//! - [`Tokenizer::Lra`] (corrected, as the LRA code): `]` becomes its own symbol, parentheses
//!   are removed, then split on whitespace; up to 2000 tokens; vocabulary size 16.
//! - [`Tokenizer::PaperFaithful`] (what the paper's 38.4% used): every non-alphanumeric
//!   character is dropped, so `[MIN` becomes `MIN` and `]`, `(`, `)` vanish; the first 512
//!   tokens; vocabulary size 15 (id 15 never occurs).

pub const PAD_ID: i64 = 0;
const DIGIT_BASE: i64 = 1;
const OPERATORS: [(&str, i64); 4] = [("MIN", 11), ("MAX", 12), ("MED", 13), ("SM", 14)];
pub const CLOSE_ID: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    PaperFaithful,
    Lra,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown ListOps token {token:?} (token {position}); expected digits 0-9, [MIN [MAX [MED [SM, ], ( and )")]
pub struct TokenizeError {
    pub token: String,
    pub position: usize,
}

impl Tokenizer {
    pub fn max_len(self) -> usize {
        match self {
            Tokenizer::PaperFaithful => 512,
            Tokenizer::Lra => 2000,
        }
    }

    /// Embedding rows needed (ids `0..vocab_size`).
    pub fn vocab_size(self) -> usize {
        match self {
            Tokenizer::PaperFaithful => 15,
            Tokenizer::Lra => 16,
        }
    }

    /// Token ids of one expression, truncated to [`Self::max_len`], without padding.
    pub fn encode(self, source: &str) -> Result<Vec<i64>, TokenizeError> {
        let mut ids = Vec::new();
        for (position, raw) in source.split_whitespace().enumerate() {
            if ids.len() == self.max_len() {
                break;
            }
            let id = symbol_id(raw).ok_or_else(|| TokenizeError {
                token: raw.to_string(),
                position,
            })?;
            match (self, id) {
                (_, None) => {}                                  // parentheses
                (Tokenizer::PaperFaithful, Some(CLOSE_ID)) => {} // ']' has no alphanumerics
                (_, Some(id)) => ids.push(id),
            }
        }
        Ok(ids)
    }

    /// As [`Self::encode`], right-padded with [`PAD_ID`] to exactly `len` ids.
    pub fn encode_padded(self, source: &str, len: usize) -> Result<Vec<i64>, TokenizeError> {
        let mut ids = self.encode(source)?;
        ids.resize(len, PAD_ID);
        Ok(ids)
    }
}

/// `Some(Some(id))` for a symbol, `Some(None)` for a parenthesis, `None` if unknown.
pub(crate) fn symbol_id(raw: &str) -> Option<Option<i64>> {
    match raw {
        "(" | ")" => Some(None),
        "]" => Some(Some(CLOSE_ID)),
        _ => {
            if let [d @ b'0'..=b'9'] = raw.as_bytes() {
                return Some(Some(DIGIT_BASE + i64::from(d - b'0')));
            }
            let name = raw.strip_prefix('[')?;
            OPERATORS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, id)| Some(*id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "( ( ( ( [MAX 2 ) 9 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )";

    #[test]
    fn both_modes_on_the_lra_example() {
        assert_eq!(
            Tokenizer::Lra.encode(EXAMPLE).unwrap(),
            [12, 3, 10, 11, 5, 8, 15, 15]
        );
        assert_eq!(
            Tokenizer::PaperFaithful.encode(EXAMPLE).unwrap(),
            [12, 3, 10, 11, 5, 8]
        );
        assert_eq!(
            Tokenizer::Lra.encode_padded("[SM 1 ]", 5).unwrap(),
            [14, 2, 15, 0, 0]
        );
    }

    #[test]
    fn truncates_and_reports_unknown_tokens() {
        let long = "1 ".repeat(3000);
        assert_eq!(Tokenizer::PaperFaithful.encode(&long).unwrap().len(), 512);
        assert_eq!(Tokenizer::Lra.encode(&long).unwrap().len(), 2000);
        let err = Tokenizer::Lra.encode("( [MUL 1 2 ] )").unwrap_err();
        assert_eq!(
            err,
            TokenizeError {
                token: "[MUL".into(),
                position: 1
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn ids_stay_in_the_vocabulary(tokens in proptest::collection::vec(
            prop_oneof![Just("("), Just(")"), Just("]"), Just("[MIN"), Just("[MAX"), Just("[MED"), Just("[SM"), Just("0"), Just("7"), Just("9")], 0..600)) {
            let text = tokens.join(" ");
            for tok in [Tokenizer::Lra, Tokenizer::PaperFaithful] {
                let ids = tok.encode(&text).unwrap();
                prop_assert!(ids.len() <= tok.max_len());
                prop_assert!(ids.iter().all(|&i| i > PAD_ID && (i as usize) < tok.vocab_size()));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = Tokenizer::Lra.encode(&text);
            let _ = Tokenizer::PaperFaithful.encode(&text);
        }
    }
}
