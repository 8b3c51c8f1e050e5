//! The statistics of `ilive faces-eval`: error counts at a threshold with their confidence
//! intervals, the empirical threshold for a target false-match rate, and its extrapolation from
//! a normal fit of the impostor distances where the pairs are too few to observe it.
use crate::cli::shared::wilson;

/// Errors among trials at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub errors: usize,
    pub trials: usize,
}

impl Count {
    /// Impostor distances at or below `limit`: false matches.
    pub fn false_matches(impostor: &[f64], limit: f64) -> Self {
        Count {
            errors: impostor.iter().filter(|d| **d <= limit).count(),
            trials: impostor.len(),
        }
    }

    /// Genuine distances above `limit`: false non-matches.
    pub fn false_non_matches(genuine: &[f64], limit: f64) -> Self {
        Count {
            errors: genuine.iter().filter(|d| **d > limit).count(),
            trials: genuine.len(),
        }
    }

    /// `k/n = p [lo, hi]` with the 95 % Wilson interval, in percent with enough decimals for
    /// rates of 1e-3.
    pub fn show(self) -> String {
        let Count { errors, trials } = self;
        match wilson(errors, trials) {
            None => "n/a (no pairs)".into(),
            Some((lo, hi)) => format!(
                "{errors}/{trials} = {:.2}% [{:.2}%, {:.2}%]",
                100.0 * errors as f64 / trials as f64,
                100.0 * lo,
                100.0 * hi
            ),
        }
    }
}

/// The largest distance whose observed false-match rate is at most `target`, or `None` when
/// `target` is below `1 / n` (the pairs cannot resolve it). Distances need not be sorted.
pub fn empirical_limit(impostor: &[f64], target: f64) -> Option<f64> {
    let n = impostor.len();
    let allowed = (target * n as f64).floor() as usize;
    if n == 0 || allowed == 0 {
        return None;
    }
    let mut sorted = impostor.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Accept strictly below the (allowed+1)-th smallest distance: at most `allowed` errors.
    Some(next_below(sorted[allowed]))
}

fn next_below(x: f64) -> f64 {
    x - 1e-9 * x.abs().max(1.0)
}

/// Mean and (sample) standard deviation.
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

/// The distance below which a normal fit of the impostor distances puts a fraction `target`.
pub fn normal_limit(impostor: &[f64], target: f64) -> Option<f64> {
    let (mean, sd) = mean_sd(impostor)?;
    Some(mean + sd * normal_quantile(target))
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_tables() {
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(1e-3) + 3.090232).abs() < 1e-5);
        assert!((normal_quantile(1e-4) + 3.719016).abs() < 1e-5);
    }

    #[test]
    fn the_empirical_limit_admits_at_most_the_target_share() {
        let d: Vec<f64> = (1..=200).map(|i| i as f64 / 100.0).collect();
        let limit = empirical_limit(&d, 0.01).unwrap();
        assert_eq!(Count::false_matches(&d, limit).errors, 2);
        assert_eq!(Count::false_matches(&d, 0.0305).errors, 3);
        assert_eq!(empirical_limit(&d, 1e-3), None);
    }

    #[test]
    fn counts_show_rates_with_intervals() {
        let c = Count::false_non_matches(&[0.1, 0.5, 0.9], 0.6);
        assert_eq!(
            c,
            Count {
                errors: 1,
                trials: 3
            }
        );
        assert!(c.show().starts_with("1/3 = 33.33% ["), "{}", c.show());
    }
}
