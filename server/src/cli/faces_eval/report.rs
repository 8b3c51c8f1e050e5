//! The printed report of `ilive faces-eval`.
use std::fmt::Write;

use app::api::OperatingPoint;
use image::RgbImage;

use super::{
    stats::{empirical_limit, mean_sd, normal_limit, Count},
    Described, Descriptor, Evaluation, Identity, Pair,
};

/// The similarity thresholds of the ROC table, besides the operating points.
const ROC_THRESHOLDS: &[f64] = &[0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.97, 0.99, 0.999];
/// The false-match rates whose thresholds are derived.
const TARGETS: &[f64] = &[1e-1, 1e-2, 1e-3, 1e-4];

/// What the detector found on one photo.
pub fn photo_note(img: &RgbImage, found: &[Described], identity: &Identity) -> String {
    let size = format!("{}×{}", img.width(), img.height());
    match (found.first(), identity) {
        (None, _) => format!("{size}  MISSED: no face found"),
        (Some(f), Identity::Person(_)) => {
            format!("{size}  face {:.0}×{:.0}", f.width, f.height)
        }
        (Some(_), Identity::Group) => format!("{size}  {} faces", found.len()),
    }
}

fn distances(pairs: &[&Pair], genuine: bool) -> Vec<f64> {
    pairs
        .iter()
        .filter(|p| p.genuine == genuine)
        .map(|p| p.distance)
        .collect()
}

/// The genuine and impostor distances of `pairs`, after a line counting them.
fn split(out: &mut String, label: &str, pairs: &[&Pair]) -> (Vec<f64>, Vec<f64>) {
    let (genuine, impostor) = (distances(pairs, true), distances(pairs, false));
    let _ = writeln!(
        out,
        "{label}: {} genuine, {} impostor",
        genuine.len(),
        impostor.len()
    );
    (genuine, impostor)
}

/// One row: a similarity threshold, its distance, FMR and FNMR.
fn row(
    out: &mut String,
    label: &str,
    net: &dyn Descriptor,
    t: f64,
    genuine: &[f64],
    impostor: &[f64],
) {
    let limit = net.distance_at(t);
    let _ = writeln!(
        out,
        "  {label:<14} {t:>7.4}  d ≤ {limit:.3}   FMR {:<34} FNMR {}",
        Count::false_matches(impostor, limit).show(),
        Count::false_non_matches(genuine, limit).show(),
    );
}

/// The printed report.
pub fn report(eval: &Evaluation, net: &dyn Descriptor, extra: &[f64]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "descriptor: {}", eval.descriptor);
    let _ = writeln!(out, "\nphotos ({}):", eval.photos.len());
    for (name, id, note) in &eval.photos {
        let _ = writeln!(out, "  {name:<48} {id:<16} {note}");
    }
    let missed = eval
        .photos
        .iter()
        .filter(|(_, _, n)| n.contains("MISSED"))
        .count();
    let named = eval.samples.iter().filter(|s| s.person.is_some()).count();
    let mut people: Vec<&str> = eval
        .samples
        .iter()
        .filter_map(|s| s.person.as_deref())
        .collect();
    people.sort();
    people.dedup();
    let _ = writeln!(
        out,
        "\ndetection: {missed} of {} photos without a face; {named} faces of {} named people, {} faces from group photos",
        eval.photos.len(),
        people.len(),
        eval.samples.len() - named,
    );

    let all: Vec<&Pair> = eval.pairs.iter().collect();
    let (genuine, impostor) = split(&mut out, "pairs", &all);

    let _ = writeln!(out, "\nROC (accept when similarity ≥ threshold):");
    let mut points: Vec<(String, f64)> = ROC_THRESHOLDS
        .iter()
        .map(|t| (String::new(), *t))
        .chain(extra.iter().map(|t| ("requested".to_owned(), *t)))
        .chain(net.reference().map(|(label, t)| (label.to_owned(), t)))
        .chain(
            OperatingPoint::ALL
                .iter()
                .filter_map(|p| Some((p.as_str().to_owned(), net.configured(*p)?))),
        )
        .collect();
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (label, t) in &points {
        row(&mut out, label, net, *t, &genuine, &impostor);
    }

    let _ = writeln!(out, "\nthresholds for a target FMR:");
    if let Some((m, sd)) = mean_sd(&impostor) {
        let _ = writeln!(out, "  impostor distances: mean {m:.4}, sd {sd:.4}");
    }
    for target in TARGETS {
        let observed = match empirical_limit(&impostor, *target) {
            Some(d) => format!("observed d ≤ {d:.3} (similarity {:.4})", net.similarity(d)),
            None => format!("not observable with {} impostor pairs", impostor.len()),
        };
        let fitted = match normal_limit(&impostor, *target) {
            Some(d) => format!(
                "normal fit d ≤ {d:.3} (similarity {:.4}), FNMR there {}",
                net.similarity(d),
                Count::false_non_matches(&genuine, d).show()
            ),
            None => "normal fit: too few pairs".into(),
        };
        let _ = writeln!(out, "  FMR {target:<7} {observed}; {fitted}");
    }

    per_source(&mut out, eval, net);
    extremes(&mut out, eval, net);
    let _ = writeln!(
        out,
        "\nThe intervals are 95 % Wilson intervals that treat pairs as independent. They are not: \
         every photo is in many pairs, so one odd photo moves many counts at once and the true \
         uncertainty is wider, closer to what the number of photos (not pairs) would give."
    );
    out
}

fn per_source(out: &mut String, eval: &Evaluation, net: &dyn Descriptor) {
    let mut sources: Vec<&str> = eval.pairs.iter().map(|p| p.source.as_str()).collect();
    sources.sort();
    sources.dedup();
    let _ = writeln!(out, "\nper source (pairs whose faces both come from it):");
    for source in sources {
        let pairs: Vec<&Pair> = eval.pairs.iter().filter(|p| p.source == source).collect();
        let (genuine, impostor) = split(out, &format!(" {source}"), &pairs);
        for p in OperatingPoint::ALL {
            if let Some(t) = net.configured(p) {
                row(out, p.as_str(), net, t, &genuine, &impostor);
            }
        }
    }
}

fn extremes(out: &mut String, eval: &Evaluation, net: &dyn Descriptor) {
    let mut genuine: Vec<&Pair> = eval.pairs.iter().filter(|p| p.genuine).collect();
    let mut impostor: Vec<&Pair> = eval.pairs.iter().filter(|p| !p.genuine).collect();
    genuine.sort_by(|a, b| b.distance.total_cmp(&a.distance));
    impostor.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    for (label, list) in [
        ("least alike genuine pairs", &genuine),
        ("most alike impostor pairs", &impostor),
    ] {
        let _ = writeln!(out, "\n{label}:");
        for p in list.iter().take(8) {
            let _ = writeln!(
                out,
                "  {:<44} {:<44} d {:.4}  similarity {:.4}",
                p.a,
                p.b,
                p.distance,
                net.similarity(p.distance)
            );
        }
    }
}
