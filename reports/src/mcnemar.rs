//! Two runs' answers on the same examples, side by side: the counts McNemar's exact test
//! ([`crate::stats::mcnemar_exact`]) reads, from their predictions.jsonl files.

use std::path::Path;

use spec::run_dir::read_predictions;

/// McNemar's test on one seed's pair of runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedTest {
    pub seed: u64,
    /// Answers only arm A got right, and only arm B, of `answers`.
    pub a_only: u64,
    pub b_only: u64,
    pub answers: u64,
    pub p: f64,
}

impl SeedTest {
    /// A's accuracy minus B's, in points, as the predictions give it.
    pub fn difference(&self) -> f64 {
        100.0 * (self.a_only as f64 - self.b_only as f64) / self.answers.max(1) as f64
    }

    /// The standard error of [`Self::difference`] over the examples, in points: for paired
    /// answers, √(b + c − (b − c)²/n) / n with b, c the discordant counts. Every answer is
    /// counted as one draw (for the bit tasks, positions of one example are not
    /// independent, so there it errs small).
    pub fn paired_sd(&self) -> f64 {
        let (b, c, n) = (self.a_only as f64, self.b_only as f64, self.answers as f64);
        if n == 0.0 {
            return 0.0;
        }
        100.0 * (b + c - (b - c).powi(2) / n).max(0.0).sqrt() / n
    }
}

/// What two runs' predictions say side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discordant {
    /// Answers only A got right, and only B.
    pub a_only: u64,
    pub b_only: u64,
    /// Answers in all (examples, or positions for the bit tasks).
    pub answers: u64,
}

/// Of the answers exactly one of two runs got right, how many were A's and how many B's.
/// The files are read in step (both list the same examples and positions in evaluation
/// order when the runs' data hashes agree); a line that pairs different examples, or files
/// of different lengths, is an error, never a silent mismatch.
pub fn discordant(a: &Path, b: &Path) -> Result<Discordant, String> {
    let (mut lines_a, mut lines_b) = (
        read_predictions(a).map_err(|e| e.to_string())?,
        read_predictions(b).map_err(|e| e.to_string())?,
    );
    let (mut a_only, mut b_only, mut answers) = (0, 0, 0);
    for line in 1.. {
        let (pa, pb) = match (lines_a.next(), lines_b.next()) {
            (None, None) => break,
            (Some(pa), Some(pb)) => (
                pa.map_err(|e| e.to_string())?,
                pb.map_err(|e| e.to_string())?,
            ),
            _ => {
                return Err(format!(
                    "{} and {} differ in length",
                    a.display(),
                    b.display()
                ))
            }
        };
        if (pa.example, pa.position, pa.label) != (pb.example, pb.position, pb.label) {
            return Err(format!(
                "line {line} of {} and {} is not the same example",
                a.display(),
                b.display()
            ));
        }
        answers += 1;
        match (pa.predicted == pa.label, pb.predicted == pb.label) {
            (true, false) => a_only += 1,
            (false, true) => b_only += 1,
            _ => {}
        }
    }
    Ok(Discordant {
        a_only,
        b_only,
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::schema::Prediction;

    fn write(dir: &Path, name: &str, rows: &[(u64, i64, i64)]) -> std::path::PathBuf {
        let path = dir.join(name);
        let text: String = rows
            .iter()
            .map(|&(example, label, predicted)| {
                let p = Prediction {
                    example,
                    position: None,
                    label,
                    predicted,
                };
                serde_json::to_string(&p).unwrap() + "\n"
            })
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn counts_the_answers_only_one_run_got_right() {
        let dir = tempfile::tempdir().unwrap();
        // Example 0 both right, 1 only A, 2 only B, 3 both wrong (differently), 4 only A.
        let a = write(
            dir.path(),
            "a",
            &[(0, 1, 1), (1, 2, 2), (2, 3, 0), (3, 4, 0), (4, 5, 5)],
        );
        let b = write(
            dir.path(),
            "b",
            &[(0, 1, 1), (1, 2, 0), (2, 3, 3), (3, 4, 1), (4, 5, 1)],
        );
        let counts = |a_only, b_only| Discordant {
            a_only,
            b_only,
            answers: 5,
        };
        assert_eq!(discordant(&a, &b), Ok(counts(2, 1)));
        assert_eq!(discordant(&b, &a), Ok(counts(1, 2)));
        assert_eq!(discordant(&a, &a), Ok(counts(0, 0)));
    }

    #[test]
    fn the_paired_error_follows_from_the_discordant_answers() {
        let test = |a_only, b_only, answers| SeedTest {
            seed: 0,
            a_only,
            b_only,
            answers,
            p: 1.0,
        };
        // 100 answers, 30 only A's, 10 only B's: +20 points; per answer the difference is
        // +1, -1 or 0 with mean 0.2 and variance 0.4 - 0.04, so sd = 100 · √0.36 / √100.
        let t = test(30, 10, 100);
        assert!((t.difference() - 20.0).abs() < 1e-12);
        assert!((t.paired_sd() - 6.0).abs() < 1e-12, "{}", t.paired_sd());
        // Arms that agree on every answer have no sampling error in their difference.
        assert_eq!(test(0, 0, 100).paired_sd(), 0.0);
        assert_eq!(test(0, 0, 0).paired_sd(), 0.0);
    }

    #[test]
    fn files_on_other_examples_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", &[(0, 1, 1), (1, 2, 2)]);
        let shorter = write(dir.path(), "b", &[(0, 1, 1)]);
        let relabelled = write(dir.path(), "c", &[(0, 1, 1), (1, 3, 3)]);
        assert!(discordant(&a, &shorter).unwrap_err().contains("length"));
        assert!(discordant(&a, &relabelled).unwrap_err().contains("line 2"));
        std::fs::write(dir.path().join("d"), "not json\n").unwrap();
        let err = discordant(&a, &dir.path().join("d")).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }
}
