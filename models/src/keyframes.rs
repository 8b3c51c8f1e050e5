//! The keyframes of one session, kept for the texture parallax test ([`crate::parallax`]).
use crate::parallax::{pose_gap, rotation_deg, Keyframe};

/// The keyframes of one session, bounded: when full, the one whose farthest partner in pose is
/// nearest is dropped (it adds the least to the parallax test; the older on a tie). The pose gap
/// of every pair is computed once, when the later keyframe arrives, and kept.
#[derive(Debug, Clone)]
pub struct KeyframeSet {
    pub(crate) cap: usize,
    pub(crate) frames: Vec<Keyframe>,
    /// `gaps[i][j]` = [`pose_gap`] of frames `i` and `j`.
    pub(crate) gaps: Vec<Vec<f64>>,
    /// The [`rotation_deg`] of each keyframe to the one pushed before it (the newest
    /// [`MAX_STEPS`]): what the pose estimate moves between views a fraction of a second apart.
    steps: Vec<f64>,
    last: Option<Keyframe>,
}

/// Consecutive pose steps kept for [`KeyframeSet::jitter`].
const MAX_STEPS: usize = 64;

impl KeyframeSet {
    pub fn new(cap: usize) -> Self {
        KeyframeSet {
            cap: cap.max(2),
            frames: vec![],
            gaps: vec![],
            steps: vec![],
            last: None,
        }
    }

    /// Median [`rotation_deg`] between consecutive keyframes: the pose estimate's jitter plus
    /// whatever the person moved in a fraction of a second — an upper bound on the jitter, so a
    /// rotation less this is a lower bound. `None` before two keyframes.
    pub fn jitter(&self) -> Option<f64> {
        let mut s = self.steps.clone();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        Some(s[s.len() / 2])
    }

    /// Up to `n` pairs farthest apart by [`rotation_deg`], widest first, with their rotation.
    pub fn widest_rotations(&self, n: usize) -> Vec<(f64, &Keyframe, &Keyframe)> {
        let f = &self.frames;
        let mut pairs: Vec<(f64, usize, usize)> = (0..f.len())
            .flat_map(|i| (i + 1..f.len()).map(move |j| (rotation_deg(&f[i], &f[j]), i, j)))
            .collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        pairs
            .into_iter()
            .take(n)
            .map(|(d, i, j)| (d, &f[i], &f[j]))
            .collect()
    }

    /// Up to `n` pairs at most `max_gap` apart (the same pose), nearest first.
    pub fn nearest_pairs(&self, max_gap: f64, n: usize) -> Vec<(f64, &Keyframe, &Keyframe)> {
        let mut pairs: Vec<(f64, usize, usize)> = (0..self.frames.len())
            .flat_map(|i| (i + 1..self.frames.len()).map(move |j| (i, j)))
            .map(|(i, j)| (self.gaps[i][j], i, j))
            .filter(|(g, _, _)| *g <= max_gap)
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        pairs
            .into_iter()
            .take(n)
            .map(|(g, i, j)| (g, &self.frames[i], &self.frames[j]))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Adds a keyframe: `len()` pose gaps, then one eviction when over the cap.
    pub fn push(&mut self, k: Keyframe) {
        if let Some(prev) = &self.last {
            if self.steps.len() == MAX_STEPS {
                self.steps.remove(0);
            }
            self.steps.push(rotation_deg(prev, &k));
        }
        self.last = Some(k.clone());
        let row: Vec<f64> = self.frames.iter().map(|o| pose_gap(o, &k)).collect();
        for (r, g) in self.gaps.iter_mut().zip(&row) {
            r.push(*g);
        }
        let mut row = row;
        row.push(0.0);
        self.gaps.push(row);
        self.frames.push(k);
        if self.frames.len() > self.cap {
            let reach = |i: usize| self.gaps[i].iter().cloned().fold(0.0, f64::max);
            let drop = (0..self.frames.len())
                .min_by(|&a, &b| reach(a).total_cmp(&reach(b)))
                .unwrap_or(0);
            self.frames.remove(drop);
            self.gaps.remove(drop);
            for r in self.gaps.iter_mut() {
                r.remove(drop);
            }
        }
    }

    /// Up to `n` pairs at least `min_gap` apart, widest first, with their gap.
    pub fn widest_pairs(&self, min_gap: f64, n: usize) -> Vec<(f64, &Keyframe, &Keyframe)> {
        let mut pairs: Vec<(f64, usize, usize)> = (0..self.frames.len())
            .flat_map(|i| (i + 1..self.frames.len()).map(move |j| (i, j)))
            .map(|(i, j)| (self.gaps[i][j], i, j))
            .filter(|(g, _, _)| *g >= min_gap)
            .collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        pairs
            .into_iter()
            .take(n)
            .map(|(g, i, j)| (g, &self.frames[i], &self.frames[j]))
            .collect()
    }
}
