//! The deepfake / injection layer: signals that a stream is prepared or synthetic rather than
//! captured — a virtual-camera driver, frames arriving faster than the camera films, and
//! landmark tracks with none of a real camera's measurement noise.
use app::{api::Reason, ws::CameraMetadata};

use super::{
    sample::{FaceSample, Sample},
    stats::median,
    LayerScore,
};

/// Names of camera drivers that feed a prepared stream instead of a sensor.
const VIRTUAL_CAMERAS: &[&str] = &[
    "obs virtual",
    "obs-camera",
    "manycam",
    "xsplit",
    "snap camera",
    "camtwist",
    "v4l2loopback",
    "virtual camera",
    "droidcam",
    "epoccam",
    "avatarify",
    "deepfacelive",
    "iriun",
    // Chromium's test camera (`--use-fake-device-for-media-stream`).
    "fake_device",
];
/// Extensions of the video files a test or injection camera plays.
const VIDEO_FILES: &[&str] = &[
    ".y4m", ".mjpeg", ".mjpg", ".mp4", ".mov", ".avi", ".mkv", ".webm",
];

/// Whether a camera label is a file path: a browser's file-fed fake camera names itself by the
/// file it plays; no sensor's driver does.
fn is_file_path(label: &str) -> bool {
    let b = label.as_bytes();
    let windows_drive = b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    label.starts_with('/') || windows_drive || VIDEO_FILES.iter().any(|e| label.ends_with(e))
}
/// Frames may arrive this much faster than the camera's reported rate (bursts), plus 2 fps.
const FRAME_RATE_SLACK: f64 = 1.5;
/// Median second difference of the landmarks' centroid (÷ inter-eye distance) below which a
/// track has no measurement noise at all.
const JERK_MIN: f64 = 0.0002;

/// Scores the injection signals.
pub fn deepfake(samples: &[Sample], camera: &CameraMetadata) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    if let Some(label) = &camera.label {
        let label = label.to_ascii_lowercase();
        if VIRTUAL_CAMERAS.iter().any(|v| label.contains(v)) || is_file_path(label.trim()) {
            l.fail(Reason::VirtualCamera);
            return l;
        }
    }
    // Frames cannot arrive faster than the camera films them.
    if let (Some(first), Some(last), Some(rate)) =
        (samples.first(), samples.last(), camera.frame_rate)
    {
        let span = last.t - first.t;
        if span >= 2.0 && rate > 0.0 {
            let observed = (samples.len() - 1) as f64 / span;
            if observed > rate * FRAME_RATE_SLACK + 2.0 {
                l.reasons.push(Reason::FrameRateMismatch);
                l.score -= 0.5;
            }
        }
    }
    // A real camera's landmarks jitter; a rendered stream can be perfectly smooth. Median
    // second difference of the centroid in pixels, ÷ the middle frame's inter-eye distance.
    let faces: Vec<&FaceSample> = samples
        .iter()
        .filter_map(|s| s.face.as_ref())
        .filter(|f| f.has_rigid())
        .collect();
    if faces.len() >= 10 {
        let jerk: Vec<f64> = faces
            .windows(3)
            .map(|w| {
                let [a, b, c] = [w[0].centroid(), w[1].centroid(), w[2].centroid()];
                let dx = c[0] - 2.0 * b[0] + a[0];
                let dy = c[1] - 2.0 * b[1] + a[1];
                dx.hypot(dy) / w[1].scale()
            })
            .collect();
        if median(jerk).unwrap_or(1.0) < JERK_MIN {
            l.reasons.push(Reason::SyntheticMotion);
            l.score -= 0.4;
        }
    }
    l.score = l.score.clamp(0.0, 1.0);
    l
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::*;

    #[test]
    fn virtual_cameras_are_injection() {
        let cam = CameraMetadata {
            label: Some("OBS Virtual Camera".into()),
            ..Default::default()
        };
        assert!(deepfake(&[], &cam).hard_fail);
        assert!(!deepfake(&[], &CameraMetadata::default()).hard_fail);
    }

    #[test]
    fn a_camera_named_by_a_file_is_injection() {
        let named = |label: &str| CameraMetadata {
            label: Some(label.into()),
            ..Default::default()
        };
        for file in [
            "/tmp/clips/live_obama.y4m",
            "C:\\Users\\me\\face.mjpeg",
            "recording.mp4",
            "fake_device_0",
        ] {
            assert!(deepfake(&[], &named(file)).hard_fail, "{file}");
        }
        for sensor in [
            "FaceTime HD Camera (Built-in) (05ac:8514)",
            "Integrated Camera (04f2:b6ea)",
            "HD Pro Webcam C920",
        ] {
            assert!(!deepfake(&[], &named(sensor)).hard_fail, "{sensor}");
        }
    }

    #[test]
    fn frames_faster_than_the_camera_are_suspicious() {
        let cam = CameraMetadata {
            frame_rate: Some(10.0),
            ..Default::default()
        };
        let s: Vec<Sample> = (0..150)
            .map(|i| sample(i as f64 * 0.02, i, 0.0, vec![], None))
            .collect();
        assert!(deepfake(&s, &cam)
            .reasons
            .contains(&Reason::FrameRateMismatch));
    }
}
