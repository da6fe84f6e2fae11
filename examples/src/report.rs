//! Summaries over seeds and the markdown report.

use std::fmt::Write as _;

use crate::dataset::Class;
use crate::train::RunResult;
use crate::variant::Variant;

/// Mean, sample standard deviation and range of a set of measurements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (`n - 1` in the denominator; 0 for one value).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of values.
    pub n: usize,
}

impl Stats {
    /// Statistics of `values`; `None` when there are none.
    #[must_use]
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Stats {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        })
    }

    /// `mean ± std`, one decimal.
    #[must_use]
    pub fn pm(&self) -> String {
        format!("{:.1} ± {:.1}", self.mean, self.std)
    }
}

/// The class groups reported separately.
pub const GROUPS: [(&str, &[Class]); 4] = [
    ("left/right", &[Class::LeftToRight, Class::RightToLeft]),
    ("approach/recede", &[Class::Approaching, Class::Receding]),
    ("appear/disappear", &[Class::Appearing, Class::Disappearing]),
    ("controls", &[Class::Static, Class::Oscillating]),
];

/// Everything measured for one variant over all seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The variant.
    pub variant: Variant,
    /// The runs, in seed order.
    pub runs: Vec<RunResult>,
    /// Top-1 over the whole test split.
    pub top1: Stats,
    /// Top-1 per entry of [`GROUPS`]; `None` for a group without test clips.
    pub groups: Vec<Option<Stats>>,
    /// Order-sensitive test clips predicted as their time reversal, percent.
    pub reversal: Stats,
    /// Top-1 on the training split.
    pub train_top1: Stats,
}

impl Summary {
    /// Summarises `runs` (all of one variant); `None` when there are none.
    #[must_use]
    pub fn of(variant: Variant, runs: Vec<RunResult>) -> Option<Summary> {
        let collect =
            |f: &dyn Fn(&RunResult) -> f64| Stats::of(&runs.iter().map(f).collect::<Vec<_>>());
        let top1 = collect(&RunResult::top1)?;
        let groups = GROUPS
            .iter()
            .map(|(_, classes)| {
                let values: Option<Vec<f64>> = runs.iter().map(|r| r.top1_of(classes)).collect();
                values.and_then(|v| Stats::of(&v))
            })
            .collect();
        let reversal = collect(&RunResult::reversal_error_rate)?;
        let train_top1 = collect(&|r: &RunResult| r.train_top1)?;
        Some(Summary {
            variant,
            runs,
            top1,
            groups,
            reversal,
            train_top1,
        })
    }
}

/// The main table: one row per variant.
#[must_use]
pub fn markdown_table(summaries: &[Summary]) -> String {
    let mut s = String::new();
    s.push_str("| variant | top-1 % (mean ± std) | per seed | ");
    for (name, _) in GROUPS {
        let _ = write!(s, "{name} | ");
    }
    s.push_str("reversal errors % | train top-1 % | paper, sthv1 top-1 % |\n");
    s.push_str("|---|---:|---|");
    s.push_str(&"---:|".repeat(GROUPS.len() + 3));
    s.push('\n');
    for sum in summaries {
        let seeds: Vec<String> = sum
            .runs
            .iter()
            .map(|r| format!("{:.1}", r.top1()))
            .collect();
        let _ = write!(
            s,
            "| {} | **{}** | {} | ",
            sum.variant,
            sum.top1.pm(),
            seeds.join(", ")
        );
        for g in &sum.groups {
            let cell = g.as_ref().map_or_else(|| "—".to_string(), Stats::pm);
            let _ = write!(s, "{cell} | ");
        }
        let paper = sum
            .variant
            .paper_top1()
            .map_or_else(|| "—".to_string(), |p| format!("{p:.2}"));
        let _ = writeln!(
            s,
            "{} | {} | {paper} |",
            sum.reversal.pm(),
            sum.train_top1.pm()
        );
    }
    s
}

/// Per-run rows as CSV (one line per variant and seed).
#[must_use]
pub fn csv(summaries: &[Summary]) -> String {
    let mut s = String::from(
        "variant,seed,top1,left_right,approach_recede,appear_disappear,controls,reversal_errors,train_top1,final_loss,seconds\n",
    );
    for sum in summaries {
        for r in &sum.runs {
            let _ = write!(s, "{},{},{:.4}", sum.variant, r.seed, r.top1());
            for (_, classes) in GROUPS {
                match r.top1_of(classes) {
                    Some(v) => {
                        let _ = write!(s, ",{v:.4}");
                    }
                    None => s.push(','),
                }
            }
            let _ = writeln!(
                s,
                ",{:.4},{:.4},{:.5},{:.2}",
                r.reversal_error_rate(),
                r.train_top1,
                r.final_loss,
                r.seconds
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_mean_std_range() {
        let s = Stats::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!((s.std - 1.0).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.n), (1.0, 3.0, 3));
        assert_eq!(Stats::of(&[5.0]).unwrap().std, 0.0);
        assert!(Stats::of(&[]).is_none());
        assert_eq!(s.pm(), "2.0 ± 1.0");
    }

    fn run(variant: Variant, seed: u64, correct: u32) -> RunResult {
        RunResult {
            variant,
            seed,
            correct: [correct, correct, correct, correct, correct, correct, 0, 0],
            total: [10, 10, 10, 10, 10, 10, 0, 0],
            reversal_errors: 6,
            order_clips: 60,
            final_loss: 0.5,
            train_top1: 90.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn summary_and_table() {
        let s = Summary::of(
            Variant::Linear,
            vec![run(Variant::Linear, 1, 5), run(Variant::Linear, 2, 7)],
        )
        .unwrap();
        assert_eq!(s.top1.mean, 60.0);
        assert_eq!(s.groups[0].unwrap().mean, 60.0);
        assert_eq!(s.reversal.mean, 10.0);
        let table = markdown_table(std::slice::from_ref(&s));
        assert!(
            table.contains("| linear | **60.0 ± 14.1** | 50.0, 70.0 |"),
            "{table}"
        );
        // No control clips: that group is a dash, not 0.
        assert!(table.contains("| — | 10.0 ± 0.0 |"), "{table}");
        assert!(table.contains("19.45"));
        let csv = csv(&[s]);
        assert_eq!(csv.lines().count(), 3);
        assert!(Summary::of(Variant::Tsn, vec![]).is_none());
    }
}
