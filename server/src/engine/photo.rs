//! The 480×600 portrait rendered from the best frame, with the geometry of
//! `docs/architecture.md` ("The portrait"): eyes level, the eye line 50–70% up from the bottom
//! (180–300 px from the top), the head 50–75% of the width, chin to crown 70–80% of the height,
//! at least 90 px between the eyes,
//! JPEG quality ≥ 90. The measured geometry is returned with the image.
use image::{codecs::jpeg::JpegEncoder, Rgb, RgbImage};
use models::{face, Face};
use serde::Serialize;

pub const WIDTH: u32 = 480;
pub const HEIGHT: u32 = 600;
/// Chin-to-crown as a share of the photo's height (the middle of ICAO's 70–80%).
const HEAD_SHARE: f32 = 0.75;
/// Crown above the top of the forehead landmark, as a share of chin-to-forehead: the mesh stops
/// at the hairline; the skull (and hair) continue about a quarter further.
const CROWN_EXTRA: f32 = 0.25;
const QUALITY: u8 = 92;

/// Measured geometry of a rendered portrait, in output pixels.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    /// Eye line, from the top.
    pub eye_line_y: f32,
    /// Eye line as a share of the height, from the bottom.
    pub eye_line_from_bottom: f32,
    pub inter_eye_px: f32,
    /// Chin to crown as a share of the height.
    pub chin_crown_share: f32,
    /// Head (face-contour) width as a share of the width.
    pub head_width_share: f32,
    /// Rotation applied to level the eyes, degrees.
    pub rotation_deg: f32,
    pub jpeg_quality: u8,
}

/// Renders the portrait; `None` when the face is too small to frame.
pub fn render(frame: &RgbImage, face: &Face) -> Option<(Vec<u8>, Geometry)> {
    let lm = &face.landmarks;
    let p = |i: usize| [lm[i][0], lm[i][1]];
    let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    // The image-left eye (subject's right) and image-right eye centres.
    let [right, left] = lm.eye_centres();
    let (eye_a, eye_b) = ([right[0], right[1]], [left[0], left[1]]);
    let angle = (eye_b[1] - eye_a[1]).atan2(eye_b[0] - eye_a[0]);
    let (sin, cos) = angle.sin_cos();
    // Rotate about the eye midpoint so the eyes are level.
    let centre = mid(eye_a, eye_b);
    let level = |q: [f32; 2]| {
        let (dx, dy) = (q[0] - centre[0], q[1] - centre[1]);
        [cos * dx + sin * dy, -sin * dx + cos * dy]
    };
    let chin = level(p(face::CHIN));
    let forehead = level(p(face::FOREHEAD));
    let crown_y = forehead[1] - CROWN_EXTRA * (chin[1] - forehead[1]);
    let head_h = chin[1] - crown_y;
    if head_h <= 1.0 {
        return None;
    }
    let scale = HEAD_SHARE * HEIGHT as f32 / head_h;
    // Vertical placement: equal margins above the crown and below the chin.
    let top_margin = (1.0 - HEAD_SHARE) / 2.0 * HEIGHT as f32;
    let out_y = |y: f32| top_margin + (y - crown_y) * scale;
    let out_x = |x: f32| WIDTH as f32 / 2.0 + x * scale;

    let mut out = RgbImage::new(WIDTH, HEIGHT);
    for oy in 0..HEIGHT {
        for ox in 0..WIDTH {
            // Inverse map: output → levelled frame → source frame.
            let lx = (ox as f32 + 0.5 - WIDTH as f32 / 2.0) / scale;
            let ly = (oy as f32 + 0.5 - top_margin) / scale + crown_y;
            let sx = centre[0] + cos * lx - sin * ly;
            let sy = centre[1] + sin * lx + cos * ly;
            out.put_pixel(ox, oy, bilinear(frame, sx - 0.5, sy - 0.5));
        }
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&out)
        .ok()?;
    let eye_y = out_y(0.0);
    let ied = lm.inter_eye() * scale;
    let head_w = (out_x(level(p(454))[0]) - out_x(level(p(234))[0])).abs();
    Some((
        jpeg,
        Geometry {
            width: WIDTH,
            height: HEIGHT,
            eye_line_y: eye_y,
            eye_line_from_bottom: (HEIGHT as f32 - eye_y) / HEIGHT as f32,
            inter_eye_px: ied,
            chin_crown_share: (out_y(chin[1]) - out_y(crown_y)) / HEIGHT as f32,
            head_width_share: head_w / WIDTH as f32,
            rotation_deg: angle.to_degrees(),
            jpeg_quality: QUALITY,
        },
    ))
}

/// Bilinear sample with edge clamping (pixels beyond the frame repeat its border).
fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: i64, yi: i64| {
        let px = img.get_pixel(xi.clamp(0, w - 1) as u32, yi.clamp(0, h - 1) as u32);
        [px[0] as f32, px[1] as f32, px[2] as f32]
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (
        at(x0, y0),
        at(x0 + 1, y0),
        at(x0, y0 + 1),
        at(x0 + 1, y0 + 1),
    );
    let mut o = [0u8; 3];
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bot = c[i] + (d[i] - c[i]) * fx;
        o[i] = (top + (bot - top) * fy).round().clamp(0.0, 255.0) as u8;
    }
    Rgb(o)
}

/// How well a frame would serve as the portrait: frontal, eyes open, mouth closed, sharp, well
/// lit. Every well-placed frame gets a score, so a passed session always has a portrait; the
/// ICAO preferences only rank the candidates (some people rest with parted lips).
pub fn candidate_score(face: &Face) -> f32 {
    let ear = face.eye_aspect_ratio.mean();
    let eyes = if ear >= 0.2 { 1.0 } else { 0.0 };
    let mouth = 1.0 - (face.mouth_open_ratio / 0.3).min(1.0);
    let sharp = (face.sharpness / 300.0).min(1.0);
    let light = 1.0 - ((face.brightness - 0.5).abs() * 2.0).min(1.0);
    let pose = 1.0
        - ((face.pose.yaw.abs() + face.pose.pitch.abs() + face.pose.roll.abs()) / 30.0).min(1.0);
    3.0 * pose + 2.0 * eyes + mouth + sharp + light
}
