//! What the two evaluation commands share: recognising media files by their extension and
//! printing an error rate.
use std::path::Path;

/// Whether `path` ends in one of `extensions` (given in lower case; the file's in any case).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .is_some_and(|e| extensions.contains(&e.as_str()))
}

/// `errors/total = p%`, or a note when there is nothing to count.
pub fn rate(errors: usize, total: usize) -> String {
    if total == 0 {
        "n/a (no pairs)".into()
    } else {
        format!(
            "{errors}/{total} = {:.1}%",
            100.0 * errors as f64 / total as f64
        )
    }
}

/// The Wilson score interval of `k` successes in `n` trials at 95 % (z = 1.96): unlike the
/// normal approximation it stays inside [0, 1] and says something at k = 0, which is most of
/// what small evaluations see.
pub fn wilson(k: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / d;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// `k/n = p % [lo %, hi %]`.
pub fn wilson_rate(k: usize, n: usize) -> String {
    match wilson(k, n) {
        Some((lo, hi)) => format!(
            "{}   95 % CI [{:.1}%, {:.1}%]",
            rate(k, n),
            100.0 * lo,
            100.0 * hi
        ),
        None => rate(k, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_match_in_any_case() {
        assert!(has_extension(Path::new("a/B.JPG"), &["jpg", "jpeg"]));
        assert!(!has_extension(Path::new("a/b.png"), &["jpg", "jpeg"]));
        assert!(!has_extension(Path::new("a/jpg"), &["jpg"]));
    }

    #[test]
    fn rates_read_as_counts_and_percentages() {
        assert_eq!(rate(1, 3), "1/3 = 33.3%");
        assert_eq!(rate(0, 0), "n/a (no pairs)");
    }

    #[test]
    fn wilson_intervals_match_the_published_values() {
        // 0 of 10: [0, 27.8 %]; 5 of 10: [23.7 %, 76.3 %] (Newcombe 1998, table I).
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 0.001, "{hi}");
        let (lo, hi) = wilson(5, 10).unwrap();
        assert!((lo - 0.2366).abs() < 0.001 && (hi - 0.7634).abs() < 0.001);
        assert_eq!(wilson(0, 0), None);
    }
}
