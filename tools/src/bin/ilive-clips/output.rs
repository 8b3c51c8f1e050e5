//! Where frames go: a folder of JPEGs (`frame_0000.jpg` …), a YUV4MPEG2 file (the format
//! Chromium's `--use-file-for-fake-video-capture` replays as a camera), and an MJPEG stream
//! (the JPEGs concatenated, which ffmpeg reads with `-f mjpeg`).
//!
//! The y4m file is 4:2:0 (`C420jpeg`: chroma sited between the luma samples, each chroma sample
//! the mean of a 2×2 block) with BT.601 limited-range YCbCr, which is how Chromium interprets
//! I420 camera frames.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::RgbImage;

/// JPEG quality of the written frames: a browser's canvas encoder at its usual setting.
pub const JPEG_QUALITY: u8 = 90;

pub fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, JPEG_QUALITY)
        .encode_image(img)
        .context("encoding a JPEG frame")?;
    Ok(buf)
}

/// The y4m stream header.
pub fn y4m_header(w: usize, h: usize, fps: u32) -> String {
    format!("YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n")
}

/// One frame's planes (Y, then Cb, then Cr) in BT.601 limited range.
pub fn y4m_planes(img: &RgbImage) -> Vec<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    let rgb = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        [
            raw[i] as f32 / 255.0,
            raw[i + 1] as f32 / 255.0,
            raw[i + 2] as f32 / 255.0,
        ]
    };
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = rgb(x, y);
            out.push(
                (16.0 + 65.481 * r + 128.553 * g + 24.966 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    let mut cb = Vec::with_capacity(cw * ch);
    let mut cr = Vec::with_capacity(cw * ch);
    for y in 0..ch {
        for x in 0..cw {
            let mut m = [0.0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = rgb(2 * x + dx, 2 * y + dy);
                for k in 0..3 {
                    m[k] += p[k] / 4.0;
                }
            }
            let [r, g, b] = m;
            cb.push(
                (128.0 - 37.797 * r - 74.203 * g + 112.0 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
            cr.push(
                (128.0 + 112.0 * r - 93.786 * g - 18.214 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    out.extend(cb);
    out.extend(cr);
    out
}

/// Writes a clip's frames, in order, to the requested outputs.
pub struct ClipWriter {
    dir: Option<PathBuf>,
    y4m: Option<BufWriter<File>>,
    mjpeg: Option<BufWriter<File>>,
    pub frames: usize,
    pub jpeg_bytes: u64,
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(BufWriter::new(
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    ))
}

impl ClipWriter {
    /// Opens the outputs; a frames folder is emptied of old `frame_*.jpg` and `light_*.png`
    /// first.
    pub fn new(
        dir: Option<&Path>,
        y4m: Option<&Path>,
        mjpeg: Option<&Path>,
        w: usize,
        h: usize,
        fps: u32,
    ) -> Result<Self> {
        if let Some(d) = dir {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            for e in std::fs::read_dir(d)?.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if (name.starts_with("frame_") && name.ends_with(".jpg"))
                    || (name.starts_with("light_") && name.ends_with(".png"))
                {
                    std::fs::remove_file(e.path())?;
                }
            }
        }
        let y4m = match y4m {
            Some(p) => {
                let mut f = create(p)?;
                f.write_all(y4m_header(w, h, fps).as_bytes())?;
                Some(f)
            }
            None => None,
        };
        Ok(Self {
            dir: dir.map(Path::to_path_buf),
            y4m,
            mjpeg: mjpeg.map(create).transpose()?,
            frames: 0,
            jpeg_bytes: 0,
        })
    }

    /// Appends the next frame (its JPEG bytes, and its pixels for the y4m stream).
    pub fn push(&mut self, jpeg: &[u8], img: &RgbImage) -> Result<()> {
        if let Some(d) = &self.dir {
            let p = d.join(format!("frame_{:04}.jpg", self.frames));
            std::fs::write(&p, jpeg).with_context(|| format!("writing {}", p.display()))?;
        }
        if let Some(f) = &mut self.mjpeg {
            f.write_all(jpeg)?;
        }
        if let Some(f) = &mut self.y4m {
            f.write_all(b"FRAME\n")?;
            f.write_all(&y4m_planes(img))?;
        }
        self.frames += 1;
        self.jpeg_bytes += jpeg.len() as u64;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        if let Some(f) = &mut self.y4m {
            f.flush()?;
        }
        if let Some(f) = &mut self.mjpeg {
            f.flush()?;
        }
        Ok(())
    }
}

/// The frame files of a folder, in order.
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("frame_") && (n.ends_with(".jpg") || n.ends_with(".png"))
            })
        })
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y4m_frame_has_the_420_layout_and_limited_range() {
        let img = RgbImage::from_fn(4, 2, |x, _| {
            if x < 2 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        let p = y4m_planes(&img);
        assert_eq!(p.len(), 4 * 2 + 2 * 2);
        assert_eq!(&p[..4], &[235, 235, 16, 16]);
        // grey: both chroma planes at 128
        assert_eq!(&p[8..], &[128, 128, 128, 128]);
        let red = RgbImage::from_pixel(2, 2, image::Rgb([255, 0, 0]));
        let p = y4m_planes(&red);
        assert_eq!(p, vec![81, 81, 81, 81, 90, 240]);
    }

    #[test]
    fn writer_produces_frames_mjpeg_and_y4m() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("ilive-clips-out-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let img = RgbImage::from_pixel(8, 6, image::Rgb([10, 200, 30]));
        let jpeg = encode_jpeg(&img)?;
        let mut w = ClipWriter::new(
            Some(&dir.join("f")),
            Some(&dir.join("c.y4m")),
            Some(&dir.join("c.mjpeg")),
            8,
            6,
            15,
        )?;
        w.push(&jpeg, &img)?;
        w.push(&jpeg, &img)?;
        w.finish()?;
        assert_eq!(frame_files(&dir.join("f"))?.len(), 2);
        let y = std::fs::read(dir.join("c.y4m"))?;
        let header = y4m_header(8, 6, 15);
        assert!(y.starts_with(header.as_bytes()));
        assert_eq!(y.len(), header.len() + 2 * (6 + 8 * 6 * 3 / 2));
        let m = std::fs::read(dir.join("c.mjpeg"))?;
        assert_eq!(m.len(), 2 * jpeg.len());
        assert_eq!(&m[jpeg.len()..jpeg.len() + 2], &[0xFF, 0xD8]);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
