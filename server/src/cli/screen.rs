//! The page's part of the screen-light challenge in an evaluation run: it hears the `light`
//! message, "paints" the colours on a simulated clock and reports each change as the browser
//! does, and its camera sees the scene lit by the colour on screen — through the clip's gain maps
//! (`light_NNNN.png`, written by `ilive-clips`: what the screen's light does to each pixel of
//! that scene) and [`models::light::relight`]. A clip without gain maps answers nothing (a frozen
//! or injected stream, or a real video filmed without the light).
use std::path::Path;

use app::ws::ServerMessage;
use image::RgbImage;

use super::shared::has_extension;
use crate::engine::Observation;

/// How the screen's light reaches the camera.
#[derive(Debug, Clone, Default)]
pub struct Lighting {
    /// One gain map per frame of the clip (none: nothing answers the light).
    pub gains: Vec<RgbImage>,
    /// The screen's irradiance on a surface facing it, over the room's.
    pub strength: f64,
    /// From a colour's paint to the first frame that shows it (display plus camera).
    pub lag_ms: f64,
}

/// A laptop screen at arm's length in an ordinary indoor room: about 50 lux of coloured light
/// against some 250 lux of room light.
pub const INDOOR_STRENGTH: f64 = 0.2;
/// A webcam's and a display's lag together.
pub const TYPICAL_LAG_MS: f64 = 120.0;

impl Lighting {
    /// Nothing answers the light.
    pub fn none() -> Self {
        Lighting::default()
    }

    /// The gain maps of a clip folder (`light_*.png`, sorted by name), scaled to `width` when
    /// given; no maps is [`Lighting::none`].
    pub fn load(dir: &Path, width: Option<u32>) -> anyhow::Result<Self> {
        if !dir.is_dir() {
            return Ok(Self::none());
        }
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                has_extension(p, &["png"])
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("light_"))
            })
            .collect();
        names.sort();
        let gains = names
            .iter()
            .map(|p| {
                let g = image::open(p)?.to_rgb8();
                Ok(match width {
                    Some(w) if w < g.width() => {
                        let h = (g.height() as u64 * w as u64 / g.width() as u64) as u32;
                        image::imageops::resize(&g, w, h, image::imageops::FilterType::Triangle)
                    }
                    _ => g,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Lighting {
            gains,
            strength: INDOOR_STRENGTH,
            lag_ms: TYPICAL_LAG_MS,
        })
    }
}

/// The simulated page and its camera.
pub struct SimulatedPage<'a> {
    lighting: &'a Lighting,
    /// The sequence under way: linear colours, step, start on the page's clock (ms).
    sequence: Option<(Vec<[f64; 3]>, f64, f64)>,
    reported: usize,
}

impl<'a> SimulatedPage<'a> {
    pub fn new(lighting: &'a Lighting) -> Self {
        SimulatedPage {
            lighting,
            sequence: None,
            reported: 0,
        }
    }

    /// Reads the server's messages sent at `t` (seconds): a `light` starts a sequence now.
    pub fn hear(&mut self, messages: &[ServerMessage], t: f64) {
        for m in messages {
            if let ServerMessage::Light { colors, step_ms } = m {
                let colours = colors
                    .iter()
                    .filter_map(|c| models::light::hex_to_linear(c))
                    .collect();
                self.sequence = Some((colours, *step_ms as f64, t * 1000.0));
                self.reported = 0;
            }
        }
    }

    /// The `light_shown` reports due by `t`: (index, page time in ms).
    pub fn reports(&mut self, t: f64) -> Vec<(u32, f64)> {
        let Some((colours, step, start)) = &self.sequence else {
            return vec![];
        };
        let mut out = vec![];
        while self.reported <= colours.len() {
            let at = start + self.reported as f64 * step;
            if at > t * 1000.0 {
                break;
            }
            out.push((self.reported as u32, at));
            self.reported += 1;
        }
        out
    }

    /// The frame the camera captures at `t`: the clip's frame `index`, lit by the colour that was
    /// on screen one lag earlier.
    pub fn capture(&self, jpeg: &[u8], index: usize, t: f64) -> anyhow::Result<Vec<u8>> {
        let (Some((colours, step, start)), Some(gains)) =
            (&self.sequence, self.lighting.gains.get(index))
        else {
            return Ok(jpeg.to_vec());
        };
        let k = ((t * 1000.0 - self.lighting.lag_ms - start) / step).floor();
        if k < 0.0 || k as usize >= colours.len() {
            return Ok(jpeg.to_vec());
        }
        let frame = image::load_from_memory(jpeg)?.into_rgb8();
        if frame.dimensions() != gains.dimensions() {
            return Ok(jpeg.to_vec());
        }
        let lit =
            models::light::relight(&frame, gains, colours[k as usize], self.lighting.strength);
        let mut out = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&lit)?;
        Ok(out)
    }

    /// Stamps an analysed frame with its capture time on the page's clock.
    pub fn stamp(obs: &mut Observation, t: f64) {
        obs.page_ms = Some(t * 1000.0);
    }
}
