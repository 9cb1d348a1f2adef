//! How numbers are printed in the page, the terminal and the charts.

use crate::stats::Bound;
use crate::suite::Unit;

/// Our value as the table shows it: accuracy "85.3 ± 1.2", steps ">2000", a speed-up "4.0×".
pub fn value(unit: Unit, mean: f64, sem: Option<f64>, bound: Bound) -> String {
    let spread = |digits: usize| match sem {
        Some(s) if s > 0.0 => format!(" ± {s:.digits$}"),
        _ => String::new(),
    };
    let body = match unit {
        Unit::Percent => format!("{mean:.1}{}", spread(1)),
        Unit::Steps => format!("{mean:.0}{}", spread(0)),
        Unit::Params => count(mean),
        Unit::Seconds => format!("{mean:.3} s"),
        Unit::Ratio => format!("{mean:.1}×"),
        Unit::Text => format!("{mean}"),
    };
    format!("{}{body}", bound.prefix())
}

/// A parameter count the way the paper prints them: 117M, 106K.
pub fn count(n: f64) -> String {
    match n.abs() {
        a if a >= 1e9 => format!("{:.1}B", n / 1e9),
        a if a >= 1e6 => format!("{:.1}M", n / 1e6),
        a if a >= 1e3 => format!("{:.1}K", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// A learning rate as people write them: 1e-3, 3e-4.
pub fn lr(lr: f64) -> String {
    format!("{lr:e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_in_the_papers_style() {
        assert_eq!(
            value(Unit::Percent, 85.26, Some(1.23), Bound::Exact),
            "85.3 ± 1.2"
        );
        assert_eq!(
            value(Unit::Percent, 100.0, Some(0.0), Bound::Exact),
            "100.0"
        );
        assert_eq!(value(Unit::Steps, 2000.0, None, Bound::AtLeast), ">2000");
        assert_eq!(value(Unit::Ratio, 4.0, None, Bound::AtLeast), ">4.0×");
        assert_eq!(
            value(Unit::Params, 22_713_216.0, None, Bound::Exact),
            "22.7M"
        );
        assert_eq!(count(106_000.0), "106.0K");
        assert_eq!(lr(0.001), "1e-3");
        assert_eq!(lr(0.0003), "3e-4");
    }
}
