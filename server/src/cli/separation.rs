//! How well each anti-spoof network's score separates bona fide runs from each attack type in
//! `ilive eval --details`: per width and kind, the least, median and greatest of the runs'
//! scores (each run's score is the median over its sampled frames), and the ROC AUC of bona
//! fide against each attack type. The figures back the networks' weights in
//! `docs/architecture.md` ("Anti-spoof").
use std::{collections::BTreeMap, fmt::Write as _};

use super::eval::ClipResult;

/// The layer measures that are network scores ("higher is more live"), as the outcome names them.
pub const NET_SCORES: [&str; 2] = ["anti_spoof.antispoof_real", "anti_spoof.pad_live"];

/// The probability that a bona fide score exceeds an attack score, ties counting half
/// (Mann–Whitney); `None` when either side is empty.
pub fn auc(bona: &[f64], attacks: &[f64]) -> Option<f64> {
    if bona.is_empty() || attacks.is_empty() {
        return None;
    }
    let wins: f64 = bona
        .iter()
        .map(|b| {
            attacks
                .iter()
                .map(|a| match b.partial_cmp(a) {
                    Some(std::cmp::Ordering::Greater) => 1.0,
                    Some(std::cmp::Ordering::Equal) => 0.5,
                    _ => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    Some(wins / (bona.len() * attacks.len()) as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A kind's runs' values, per kind.
type RunsByKind<'a> = BTreeMap<&'a str, Vec<f64>>;

/// Appends the separation table of every network score found in `results`.
pub fn table(s: &mut String, results: &[ClipResult]) {
    // (width, score) → kind → the runs' values
    let mut by: BTreeMap<(Option<u32>, &str), RunsByKind> = BTreeMap::new();
    for r in results.iter().filter(|r| r.kind != "no_face") {
        for (name, v) in &r.scores {
            if let Some(net) = NET_SCORES.iter().find(|n| *n == name) {
                by.entry((r.width, net))
                    .or_default()
                    .entry(&r.kind)
                    .or_default()
                    .push(*v);
            }
        }
    }
    if by.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nnetwork scores per run (median over its sampled frames)"
    );
    let _ = writeln!(
        s,
        "  {:<12} {:<15} {:<10} {:>4} {:>6} {:>6} {:>6} {:>8}",
        "width", "score", "kind", "runs", "min", "median", "max", "AUC"
    );
    for ((width, net), kinds) in &by {
        let width = width.map_or("as recorded".to_owned(), |w| format!("{w} px"));
        let net = net.trim_start_matches("anti_spoof.");
        let bona = kinds.get("bona_fide").cloned().unwrap_or_default();
        for (kind, values) in kinds {
            let mut v = values.clone();
            let (min, max) = (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            let auc = if *kind == "bona_fide" {
                String::new()
            } else {
                auc(&bona, values).map_or("-".into(), |a| format!("{a:.3}"))
            };
            let _ = writeln!(
                s,
                "  {width:<12} {net:<15} {kind:<10} {:>4} {min:>6.3} {:>6.3} {max:>6.3} {auc:>8}",
                v.len(),
                median(&mut v),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: &str, width: u32, pad: f64) -> ClipResult {
        ClipResult {
            clip: format!("{kind}_x"),
            kind: kind.into(),
            mode: app::api::Mode::Passive,
            width: Some(width),
            verdict: app::api::Verdict::Retry,
            confidence: 0.5,
            reasons: vec![],
            frames_used: 1,
            challenges: String::new(),
            measures: String::new(),
            scores: vec![("anti_spoof.pad_live".into(), pad)],
        }
    }

    #[test]
    fn the_table_has_a_row_per_width_score_and_kind() {
        let rs = [
            run("bona_fide", 320, 0.9),
            run("bona_fide", 320, 0.7),
            run("print", 320, 0.8),
            run("no_face", 320, 0.1),
        ];
        let mut s = String::new();
        table(&mut s, &rs);
        let rows: Vec<&str> = s.lines().filter(|l| l.contains("320 px")).collect();
        assert_eq!(rows.len(), 2, "{s}");
        assert!(
            rows[0].contains("bona_fide") && rows[0].contains("0.800"),
            "{s}"
        );
        assert!(
            rows[1].contains("print") && rows[1].ends_with("0.500"),
            "{s}"
        );
    }

    #[test]
    fn auc_counts_wins_and_half_ties() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.9], &[0.5]), Some(0.75));
        assert_eq!(auc(&[], &[0.5]), None);
    }
}
