//! `ilive faces-eval`: face verification measured on photos of real people, the way an
//! integrator meets it through `faces:compare`: ROC points, false-match and false-non-match rates
//! with 95 % intervals at each operating point, per source, and the faces the detector missed.
//!
//! Identities come from the folder layout, as `scripts/fixtures/fetch-identities.sh` lays it out
//! (`DIR/<source>/<person>/<file>`), or `DIR/<person>/<file>`, or flat files whose identity is
//! the name up to the first digit or `_` (`obama2.jpg` → `obama`). A `_group` folder holds group
//! photos: every face in one is a different, unnamed person. Photos of a named person are
//! compared by their largest face, as the API does.
//!
//! Pairs: two named photos are genuine when the names agree and impostor otherwise; a face from
//! a group photo is an impostor against every other face of its photo and every face from
//! another source, and is not paired with the other photos of its own source (whose people may
//! reappear there).
mod descriptor;
mod report;
mod stats;

use std::path::{Path, PathBuf};

use models::FaceModels;

pub use descriptor::{Described, Descriptor, DescriptorKind, External};

use super::shared::has_extension;
use crate::faces;

/// Files of the flat fixture folder left out, with the reason (they are not independent photos).
const EXCLUDED: &[(&str, &str)] = &[
    ("32bit.png", "obama2.jpg re-encoded as RGBA PNG"),
    ("obama_partial_face.jpg", "a crop of obama.jpg"),
    ("obama_partial_face2.jpg", "a crop of obama.jpg"),
];
/// The folder name that marks group photos.
const GROUP: &str = "_group";
/// At most this many faces per group photo (as `faces:detect`).
const MAX_GROUP_FACES: usize = 16;
/// The API compares the largest of the best few detections.
const MAX_PERSON_FACES: usize = 4;

#[derive(Debug, Clone, clap::Args)]
pub struct FacesEvalArgs {
    /// Folder of photos (default: `$ILIVE_FIXTURES_DIR/identities`, fetched by
    /// `bash scripts/fixtures/fetch-identities.sh`).
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Similarity threshold to report besides the operating points (repeatable), in [0, 1].
    #[arg(long = "threshold", value_parser = unit_interval)]
    pub thresholds: Vec<f64>,
    /// The detector and descriptor to measure.
    #[arg(long, value_enum, default_value_t)]
    pub descriptor: DescriptorKind,
    /// Also write every compared face as the descriptor networks see it (aligned to the
    /// five-point template, 112×112): `DIR/crops.f32` (N×112×112×3 RGB, 0–255, little-endian
    /// f32) and `DIR/samples.tsv` (one face name per line, in the same order), so that another
    /// network can describe the same faces (`scripts/models/reference/describe_crops.py`).
    #[arg(long, value_name = "DIR")]
    pub crops: Option<PathBuf>,
    /// Score descriptors computed elsewhere for the faces `--crops` wrote: a file of lines
    /// `name<TAB>v1,v2,…`, compared by cosine distance. The detection is still iLive's.
    #[arg(long, value_name = "FILE")]
    pub external: Option<PathBuf>,
}

fn unit_interval(raw: &str) -> Result<f64, String> {
    let t: f64 = raw.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err("must be in [0, 1]".into())
    }
}

/// Who a photo shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// One named person (the largest face is compared).
    Person(String),
    /// A group: every face a different, unnamed person.
    Group,
}

/// A photo of the set.
#[derive(Debug, Clone)]
pub struct Photo {
    pub path: PathBuf,
    /// Relative to the set's folder.
    pub name: String,
    /// The package it came from, or `-` without a source level.
    pub source: String,
    pub identity: Identity,
}

/// One face with its descriptor.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The photo's name, with `#k` for the k-th face of a group photo.
    pub name: String,
    pub photo: String,
    pub source: String,
    /// `None` for a face of a group photo.
    pub person: Option<String>,
    pub descriptor: Vec<f32>,
}

/// One scored pair.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub genuine: bool,
    /// Both faces' source when they share one, else `cross-source`.
    pub source: String,
    pub distance: f64,
}

/// Everything `faces-eval` measured.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub descriptor: String,
    /// `(photo, identity label, note)` for each photo looked at.
    pub photos: Vec<(String, String, String)>,
    pub samples: Vec<Sample>,
    pub pairs: Vec<Pair>,
}

fn default_dir() -> PathBuf {
    models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures").join("identities")
}

fn identity_from_name(stem: &str) -> String {
    let id: String = stem
        .chars()
        .take_while(|c| !c.is_ascii_digit() && *c != '_')
        .collect();
    if id.is_empty() {
        stem.to_owned()
    } else {
        id
    }
}

fn identity_of_folder(name: &str) -> Identity {
    if name == GROUP {
        Identity::Group
    } else {
        Identity::Person(name.to_owned())
    }
}

/// Every photo under `dir` (at most two folder levels), sorted.
pub fn list(dir: &Path) -> anyhow::Result<Vec<Photo>> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<Photo>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if path.is_dir() {
            if parts.len() < 3 {
                collect(root, &path, out)?;
            }
            continue;
        }
        if !has_extension(&path, &["jpg", "jpeg", "png", "webp"]) {
            continue;
        }
        let (source, identity) = match parts.as_slice() {
            [file] => {
                let stem = Path::new(file).file_stem().unwrap_or_default();
                let id = identity_from_name(&stem.to_string_lossy());
                ("-".to_owned(), Identity::Person(id))
            }
            [folder, _] => ("-".to_owned(), identity_of_folder(folder)),
            [source, folder, _] => (source.clone(), identity_of_folder(folder)),
            _ => continue,
        };
        out.push(Photo {
            name: parts.join("/"),
            path,
            source,
            identity,
        });
    }
    Ok(())
}

/// Finds and describes the faces of every photo, then scores every pair the layout labels.
pub fn evaluate(args: &FacesEvalArgs, models: &FaceModels) -> anyhow::Result<Evaluation> {
    let dir = args.images.clone().unwrap_or_else(default_dir);
    anyhow::ensure!(
        dir.is_dir(),
        "{} does not exist: run `bash scripts/fixtures/fetch-identities.sh` or pass --images DIR",
        dir.display()
    );
    let net = args.descriptor.with(models);
    let mut crops = args.crops.as_deref().map(Crops::new).transpose()?;
    let mut eval = Evaluation {
        descriptor: net.name().to_owned(),
        ..Evaluation::default()
    };
    for photo in list(&dir)? {
        let label = match &photo.identity {
            Identity::Person(p) => p.clone(),
            Identity::Group => "(group)".to_owned(),
        };
        if let Some((_, why)) = EXCLUDED.iter().find(|(n, _)| *n == photo.name) {
            eval.photos
                .push((photo.name, label, format!("left out: {why}")));
            continue;
        }
        let img = match faces::decode(&std::fs::read(&photo.path)?) {
            Ok(img) => img,
            Err(e) => {
                eval.photos
                    .push((photo.name, label, format!("not decodable: {e}")));
                continue;
            }
        };
        let max = match photo.identity {
            Identity::Person(_) => MAX_PERSON_FACES,
            Identity::Group => MAX_GROUP_FACES,
        };
        let found = net.describe(&img, max)?;
        let note = report::photo_note(&img, &found, &photo.identity);
        eval.photos.push((photo.name.clone(), label, note));
        let person = match &photo.identity {
            Identity::Person(p) => Some(p.clone()),
            Identity::Group => None,
        };
        let keep = if person.is_some() { 1 } else { found.len() };
        for (k, face) in found.into_iter().take(keep).enumerate() {
            let name = match person {
                Some(_) => photo.name.clone(),
                None => format!("{}#{}", photo.name, k + 1),
            };
            if let Some(crops) = crops.as_mut() {
                crops.push(&img, &face.points, &name)?;
            }
            eval.samples.push(Sample {
                name,
                photo: photo.name.clone(),
                source: photo.source.clone(),
                person: person.clone(),
                descriptor: face.descriptor,
            });
        }
    }
    if let Some(crops) = crops {
        crops.finish()?;
    }
    eval.pairs = pairs(&eval.samples, net.as_ref());
    Ok(eval)
}

/// The faces' aligned crops, written as `--crops` describes.
struct Crops {
    dir: PathBuf,
    pixels: std::io::BufWriter<std::fs::File>,
    names: Vec<String>,
}

impl Crops {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = std::fs::File::create(dir.join("crops.f32"))?;
        Ok(Self {
            dir: dir.to_owned(),
            pixels: std::io::BufWriter::new(file),
            names: Vec::new(),
        })
    }

    fn push(
        &mut self,
        img: &image::RgbImage,
        points: &[[f32; 2]; 5],
        name: &str,
    ) -> anyhow::Result<()> {
        use models::nets::mobilefacenet::{align, INPUT_SIZE};
        use std::io::Write;
        // Checked first: a crop written without its name would shift every later one.
        anyhow::ensure!(
            !name.contains(['\t', '\n']),
            "face name {name:?} has a tab or a line break"
        );
        let crop = models::imageops::sample(img, &align(points), INPUT_SIZE, INPUT_SIZE);
        // The file is HWC (`describe_crops.py`); the crop comes as three planes.
        let [r, g, b] = models::imageops::planes(&crop);
        let mut hwc = Vec::with_capacity(crop.len() * 4);
        for ((r, g), b) in r.iter().zip(g).zip(b) {
            for v in [r, g, b] {
                hwc.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.pixels.write_all(&hwc)?;
        self.names.push(name.to_owned());
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        use std::io::Write;
        self.pixels.flush()?;
        std::fs::write(self.dir.join("samples.tsv"), self.names.join("\n") + "\n")?;
        Ok(())
    }
}

/// Replaces every sample's descriptor with the one `file` gives for its name.
fn read_external(file: &Path, samples: &mut [Sample]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)?;
    let mut given = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let (name, values) = line
            .split_once('\t')
            .ok_or_else(|| anyhow::anyhow!("{}:{}: no tab", file.display(), i + 1))?;
        let v = values
            .split(',')
            .map(str::parse::<f32>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), i + 1))?;
        given.insert(name.to_owned(), v);
    }
    for s in samples {
        s.descriptor = given.remove(&s.name).ok_or_else(|| {
            anyhow::anyhow!("{} has no descriptor for {}", file.display(), s.name)
        })?;
    }
    Ok(())
}

/// Whether a pair is genuine, impostor, or of unknown relation (`None`).
pub fn relation(a: &Sample, b: &Sample) -> Option<bool> {
    match (&a.person, &b.person) {
        (Some(x), Some(y)) => Some(x == y),
        _ if a.photo == b.photo => Some(false),
        _ if a.source == b.source => None,
        _ => Some(false),
    }
}

fn pairs(samples: &[Sample], net: &dyn Descriptor) -> Vec<Pair> {
    let mut out = Vec::new();
    for (i, a) in samples.iter().enumerate() {
        for b in &samples[i + 1..] {
            let Some(genuine) = relation(a, b) else {
                continue;
            };
            out.push(Pair {
                a: a.name.clone(),
                b: b.name.clone(),
                genuine,
                source: if a.source == b.source {
                    a.source.clone()
                } else {
                    "cross-source".to_owned()
                },
                distance: net.distance(&a.descriptor, &b.descriptor),
            });
        }
    }
    out
}

/// Runs `ilive faces-eval` with the models loaded: scores the photos, returns the report.
pub fn run(args: &FacesEvalArgs, models: &FaceModels) -> anyhow::Result<String> {
    let mut eval = evaluate(args, models)?;
    let Some(file) = &args.external else {
        let net = args.descriptor.with(models);
        return Ok(report::report(&eval, net.as_ref(), &args.thresholds));
    };
    read_external(file, &mut eval.samples)?;
    eval.descriptor = format!("{} ({})", External.name(), file.display());
    eval.pairs = pairs(&eval.samples, &External);
    Ok(report::report(&eval, &External, &args.thresholds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, source: &str, person: Option<&str>) -> Sample {
        Sample {
            name: name.into(),
            photo: name.split('#').next().unwrap_or(name).into(),
            source: source.into(),
            person: person.map(Into::into),
            descriptor: vec![],
        }
    }

    #[test]
    fn pairs_are_labelled_only_where_the_layout_says_who_is_who() {
        let obama = sample("a/obama/1.jpg", "a", Some("obama"));
        let obama2 = sample("a/obama/2.jpg", "a", Some("obama"));
        let biden = sample("a/biden/1.jpg", "a", Some("biden"));
        let g1 = sample("b/_group/x.jpg#1", "b", None);
        let g2 = sample("b/_group/x.jpg#2", "b", None);
        let h1 = sample("b/_group/y.jpg#1", "b", None);
        assert_eq!(relation(&obama, &obama2), Some(true));
        assert_eq!(relation(&obama, &biden), Some(false));
        assert_eq!(relation(&g1, &g2), Some(false), "two faces of one photo");
        assert_eq!(relation(&g1, &h1), None, "may be the same person");
        assert_eq!(relation(&g1, &obama), Some(false), "another source");
    }

    #[test]
    fn flat_names_give_identities() {
        assert_eq!(identity_from_name("obama2"), "obama");
        assert_eq!(identity_from_name("obama_partial_face"), "obama");
        assert_eq!(identity_from_name("32bit"), "32bit");
    }
}
