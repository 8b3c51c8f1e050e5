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
}
