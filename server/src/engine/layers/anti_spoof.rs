//! The anti-spoof layer: the AntiSpoof network and two image cues of the face region.
//!
//! - The network is weak (ROC AUC ≈ 0.66 on real attacks), so it only nudges the score.
//! - MiniFASNet's live probability is reported (`pad_live`) but weighs nothing: measured, it does
//!   not tell our live renders from prints (`docs/architecture.md`, "Anti-spoof").
//! - A screen's pixel grid beats against the camera's sensor as spectral lines (moiré, in grey
//!   and colour): on most of the cue frames it is a hard finding.
//! - Specular glare off glossy paper or glass lowers the score.
use app::api::Reason;

use super::{
    sample::{FaceSample, Sample},
    stats::{median, ramp, share},
    LayerScore,
};

pub use models::cues::ImageCues;

/// Ring-normalised spectral peak above which a frame counts as showing a pixel grid: five to
/// six times the ≈3.5 expected of the largest of a ring's bins under noise, and well above the
/// ≤12 of the oriented edges of real faces and rooms.
pub const MOIRE_PEAK: f32 = 20.0;
/// Fewest frames with image cues before a screen finding fails the session by itself.
pub const MOIRE_MIN_FRAMES: usize = 3;
/// Fraction of saturated face pixels that counts as glare.
pub const GLARE_FRACTION: f32 = 0.04;
/// Share of the cue frames on which a cue must show to count.
const CUE_SHARE: f64 = 0.5;
/// The network's "real" score on genuine photos spans ~0.45–0.8: 0.2 maps to 0, 0.7 to 1.
const NET_FLOOR: f64 = 0.2;
const NET_FULL: f64 = 0.7;

/// Scores the network's medians and the image cues.
pub fn anti_spoof(samples: &[Sample]) -> LayerScore {
    let faces: Vec<&FaceSample> = samples.iter().filter_map(|s| s.face.as_ref()).collect();
    let nets: Vec<f64> = faces
        .iter()
        .filter_map(|f| f.anti_spoof.and_then(|a| a.antispoof_real).map(f64::from))
        .collect();
    let cues: Vec<ImageCues> = faces.iter().filter_map(|f| f.cues).collect();
    let net_median = median(nets);
    let net_score = net_median
        .map(|m| ramp(m, NET_FLOOR, NET_FULL))
        .unwrap_or(0.5);
    let mut l = LayerScore::clean(1.0);
    let moire = share(&cues, |c| c.moire >= MOIRE_PEAK);
    let glare = share(&cues, |c| c.glare >= GLARE_FRACTION);
    let mut cue_score = 1.0;
    if moire >= CUE_SHARE {
        l.reasons.push(Reason::ScreenMoire);
        cue_score -= 0.6;
        // A periodic grid over most of the face's frames is a screen in front of the camera.
        if cues.len() >= MOIRE_MIN_FRAMES {
            l.hard_fail = true;
        }
    }
    if glare >= CUE_SHARE {
        l.reasons.push(Reason::Glare);
        cue_score -= 0.3;
    }
    l.score = (0.5 * net_score + 0.5 * f64::max(cue_score, 0.0)).clamp(0.0, 1.0);
    if let Some(m) = net_median {
        l.measures.push(("antispoof_real", m));
    }
    let pad = faces
        .iter()
        .filter_map(|f| f.anti_spoof.and_then(|a| a.pad_live).map(f64::from))
        .collect();
    if let Some(m) = median(pad) {
        l.measures.push(("pad_live", m));
    }
    if let Some(m) = median(cues.iter().map(|c| c.moire as f64).collect()) {
        l.measures.push(("moire_peak", m));
    }
    l.measures.push(("moire_share", moire));
    l.measures.push(("glare_share", glare));
    if net_score < 0.2 {
        l.reasons.push(Reason::SpoofSuspected);
    }
    l
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_screen_finding_needs_a_grid_the_cut_off_sees() {
        // The cut-off is above what noise gives and below a pixel grid.
        let (grid, noise) = models::cues::test_patterns();
        assert!(models::cues::moire_peak(&grid, 64, 64) > super::MOIRE_PEAK);
        assert!(models::cues::moire_peak(&noise, 64, 64) < super::MOIRE_PEAK);
    }
}
