//! What the layers keep of each analysed frame: measurements, not pixels.
use models::{AntiSpoofScores, Embedding};

use super::ImageCues;
use crate::engine::{geometry, Observation};

/// One analysed frame.
#[derive(Debug, Clone)]
pub struct Sample {
    pub t: f64,
    pub hash: u64,
    pub face_count: usize,
    pub face: Option<FaceSample>,
}

/// The largest face of one frame.
#[derive(Debug, Clone)]
pub struct FaceSample {
    pub yaw: f32,
    pub pitch: f32,
    pub inter_eye: f32,
    /// The rigid landmarks ([`geometry::RIGID_POINTS`]) in frame pixels.
    pub rigid: Vec<[f64; 2]>,
    pub anti_spoof: Option<AntiSpoofScores>,
    pub embedding: Option<Embedding>,
    pub cues: Option<ImageCues>,
    /// The face was well placed (guidance `ok`: in the oval, near enough, lit): a face cut by
    /// the frame's edge, someone walking in or out, or a face-like thing in the room behind gives
    /// no descriptor worth comparing. Set by the session, which knows the guidance.
    pub placed: bool,
}

impl Sample {
    pub fn from_observation(o: &Observation) -> Self {
        let face = o.face.as_ref().map(|f| FaceSample {
            yaw: f.pose.yaw,
            pitch: f.pose.pitch,
            inter_eye: f.inter_eye(),
            rigid: f.landmarks.xy(&geometry::RIGID_POINTS),
            anti_spoof: f.anti_spoof,
            embedding: f.embedding,
            cues: o.cues,
            placed: false,
        });
        Sample {
            t: o.t,
            hash: o.frame_hash,
            face_count: o.face_count,
            face,
        }
    }
}

impl FaceSample {
    /// Whether every rigid landmark is present (always, for a face from the networks; the
    /// layers' unit tests build samples without them).
    pub fn has_rigid(&self) -> bool {
        self.rigid.len() == geometry::RIGID_POINTS.len()
    }

    /// The scale of every landmark measure: the inter-eye distance in pixels, at least 1.
    pub fn scale(&self) -> f64 {
        self.inter_eye.max(1.0) as f64
    }

    /// Mean of the rigid landmarks, in frame pixels.
    pub fn centroid(&self) -> [f64; 2] {
        let n = self.rigid.len().max(1) as f64;
        self.rigid
            .iter()
            .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n])
    }

    /// [`centroid`](Self::centroid) in units of the inter-eye distance.
    pub fn scaled_centroid(&self) -> [f64; 2] {
        let c = self.centroid();
        [c[0] / self.scale(), c[1] / self.scale()]
    }
}
