//! Small statistics the layers share.

/// The median (upper median for an even count); `None` for no values.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// `x` mapped linearly from `[lo, hi]` onto `[0, 1]`, clamped.
pub fn ramp(x: f64, lo: f64, hi: f64) -> f64 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// The share of `items` for which `pred` holds; 0 for none.
pub fn share<T>(items: &[T], pred: impl Fn(&T) -> bool) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    items.iter().filter(|x| pred(x)).count() as f64 / items.len() as f64
}

/// The von Neumann ratio of a series: mean square successive difference ÷ variance. 2 for
/// independent values, towards 0 when a slow drift dominates; `None` for a constant series.
pub fn von_neumann_ratio(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let msd = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (n - 1.0);
    (var > 1e-12).then(|| msd / var)
}

/// The von Neumann ratio of `n` independent values is ≈ normal with mean 2 and variance
/// 4(n−2)/(n²−1); below mean − 3.09σ (one-sided 0.1%) it shows serial correlation, a drift.
pub fn white_noise_floor(n: usize) -> f64 {
    let n = n as f64;
    2.0 - 3.09 * (4.0 * (n - 2.0) / (n * n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_white_noise_floor_follows_the_sample_size() {
        assert!((white_noise_floor(45) - 1.10).abs() < 0.01);
        assert!(white_noise_floor(30) < white_noise_floor(300));
        assert!(white_noise_floor(300) < 2.0);
    }

    #[test]
    fn median_ramp_and_share() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![]), None);
        assert_eq!(ramp(0.5, 0.0, 1.0), 0.5);
        assert_eq!(ramp(2.0, 0.0, 1.0), 1.0);
        assert_eq!(share(&[1, 2, 3, 4], |x| *x > 2), 0.5);
        assert_eq!(share::<i32>(&[], |_| true), 0.0);
    }

    #[test]
    fn a_drift_has_a_low_von_neumann_ratio() {
        let drift: Vec<f64> = (0..50).map(|i| i as f64).collect();
        assert!(von_neumann_ratio(&drift).unwrap() < 0.01);
        let alternating: Vec<f64> = (0..50).map(|i| (i % 2) as f64).collect();
        assert!(von_neumann_ratio(&alternating).unwrap() > 3.0);
        assert_eq!(von_neumann_ratio(&[1.0; 10]), None);
    }
}
