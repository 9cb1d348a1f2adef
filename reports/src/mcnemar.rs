//! Two runs' answers on the same examples, side by side: the counts McNemar's exact test
//! ([`crate::stats::mcnemar_exact`]) reads, from their predictions.jsonl files.

use std::path::Path;

use spec::run_dir::read_predictions;

/// McNemar's test on one seed's pair of runs, with what the same answers say about the
/// accuracy difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedTest {
    pub seed: u64,
    pub counts: Discordant,
    pub p: f64,
}

/// What two runs' predictions say side by side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discordant {
    /// Answers only A got right, and only B.
    pub a_only: u64,
    pub b_only: u64,
    /// Answers in all (examples, or positions for the bit tasks).
    pub answers: u64,
    /// The standard error of [`Self::difference`] over the examples, in points: each
    /// example's mean of (A right − B right) over its positions, and the standard error of
    /// their mean (sample variance over E − 1, divided by E). Positions of one example are
    /// one draw, since they are not independent.
    pub difference_sd: f64,
}

impl Discordant {
    /// A's accuracy minus B's, in points, as the predictions give it.
    pub fn difference(&self) -> f64 {
        100.0 * (self.a_only as f64 - self.b_only as f64) / self.answers.max(1) as f64
    }
}

/// Running sums of per-example values, for the standard error of their mean.
#[derive(Debug, Default)]
struct ExampleMeans {
    examples: f64,
    sum: f64,
    sum_sq: f64,
}

impl ExampleMeans {
    fn push(&mut self, x: f64) {
        self.examples += 1.0;
        self.sum += x;
        self.sum_sq += x * x;
    }

    fn sd_of_mean(&self) -> f64 {
        let e = self.examples;
        if e < 2.0 {
            return 0.0;
        }
        let variance = (self.sum_sq - self.sum * self.sum / e).max(0.0) / (e - 1.0);
        (variance / e).sqrt()
    }
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
    let mut means = ExampleMeans::default();
    // The example being read: its id, its sum of (A right − B right), its answers.
    let mut current: Option<(u64, f64, f64)> = None;
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
        let delta = match (pa.predicted == pa.label, pb.predicted == pb.label) {
            (true, false) => {
                a_only += 1;
                1.0
            }
            (false, true) => {
                b_only += 1;
                -1.0
            }
            _ => 0.0,
        };
        current = match current {
            Some((example, sum, n)) if example == pa.example => {
                Some((example, sum + delta, n + 1.0))
            }
            previous => {
                if let Some((_, sum, n)) = previous {
                    means.push(sum / n);
                }
                Some((pa.example, delta, 1.0))
            }
        };
    }
    if let Some((_, sum, n)) = current {
        means.push(sum / n);
    }
    Ok(Discordant {
        a_only,
        b_only,
        answers,
        difference_sd: 100.0 * means.sd_of_mean(),
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
        let counts = |path_a: &Path, path_b: &Path| {
            let d = discordant(path_a, path_b).unwrap();
            (d.a_only, d.b_only, d.answers)
        };
        assert_eq!(counts(&a, &b), (2, 1, 5));
        assert_eq!(counts(&b, &a), (1, 2, 5));
        assert_eq!(counts(&a, &a), (0, 0, 5));
        assert_eq!(discordant(&a, &a).unwrap().difference_sd, 0.0);
    }

    #[test]
    fn the_paired_error_follows_from_the_discordant_answers() {
        let dir = tempfile::tempdir().unwrap();
        // 100 examples, 30 only A right, 10 only B right, 60 alike: +20 points; per example
        // the difference is +1, -1 or 0 around 0.2, summing squares to 36, so the error of
        // the mean is 100 · √(36 / 99 / 100) points.
        let rows = |a_right: bool| -> Vec<(u64, i64, i64)> {
            (0..100u64)
                .map(|i| {
                    let right = match i {
                        0..30 => a_right,
                        30..40 => !a_right,
                        _ => true,
                    };
                    (i, 1, if right { 1 } else { 0 })
                })
                .collect()
        };
        let a = write(dir.path(), "a", &rows(true));
        let b = write(dir.path(), "b", &rows(false));
        let d = discordant(&a, &b).unwrap();
        assert!((d.difference() - 20.0).abs() < 1e-12);
        let expected = 100.0 * (36.0f64 / 99.0 / 100.0).sqrt();
        assert!((d.difference_sd - expected).abs() < 1e-9, "{d:?}");
    }

    #[test]
    fn positions_of_one_example_count_as_one_draw() {
        let dir = tempfile::tempdir().unwrap();
        let write_positions = |name: &str, right: &[(u64, bool)]| {
            let path = dir.path().join(name);
            let text: String = right
                .iter()
                .flat_map(|&(example, r)| {
                    (0..10u64).map(move |position| {
                        let p = Prediction {
                            example,
                            position: Some(position),
                            label: 1,
                            predicted: i64::from(r),
                        };
                        serde_json::to_string(&p).unwrap() + "\n"
                    })
                })
                .collect();
            std::fs::write(&path, text).unwrap();
            path
        };
        // Four examples of 10 positions: A right on all of examples 0 and 1, B on none.
        let a = write_positions("a", &[(0, true), (1, true), (2, false), (3, false)]);
        let b = write_positions("b", &[(0, false), (1, false), (2, false), (3, false)]);
        let d = discordant(&a, &b).unwrap();
        assert_eq!((d.a_only, d.b_only, d.answers), (20, 0, 40));
        // Example means 1, 1, 0, 0: sd 100 · √((1/3) / 4), not the 40 answers' √(0.25/40).
        assert!(
            (d.difference_sd - 100.0 * (1.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-9,
            "{d:?}"
        );
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
