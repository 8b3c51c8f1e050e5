//! The floating-point RGB canvas every clip is drawn on, its bilinear sampler, and the
//! triangle rasteriser of the piecewise-affine warp.
//!
//! Coordinates are continuous pixels, as in `models::imageops`: pixel `(i, j)` covers
//! `[i, i+1) × [j, j+1)`, its centre is `(i + 0.5, j + 0.5)`.

use image::RgbImage;

/// RGB, 0–255 per channel, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<[f32; 3]>,
}

impl Canvas {
    pub fn new(w: usize, h: usize, fill: [f32; 3]) -> Self {
        Self {
            w,
            h,
            px: vec![fill; w * h],
        }
    }

    pub fn from_rgb8(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let px = img
            .as_raw()
            .chunks_exact(3)
            .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32])
            .collect();
        Self { w, h, px }
    }

    pub fn to_rgb8(&self) -> RgbImage {
        let raw: Vec<u8> = self
            .px
            .iter()
            .flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8))
            .collect();
        // The buffer has exactly w·h·3 bytes, so this cannot fail.
        RgbImage::from_raw(self.w as u32, self.h as u32, raw).unwrap_or_default()
    }

    /// The pixel at integer coordinates, clamped to the border.
    #[inline]
    pub fn at(&self, x: i64, y: i64) -> [f32; 3] {
        let x = x.clamp(0, self.w as i64 - 1) as usize;
        let y = y.clamp(0, self.h as i64 - 1) as usize;
        self.px[y * self.w + x]
    }

    /// Bilinear sample at a continuous position; outside the canvas the border pixels repeat.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (ax, ay) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (a, b, c, d) = (
            self.at(x0, y0),
            self.at(x0 + 1, y0),
            self.at(x0, y0 + 1),
            self.at(x0 + 1, y0 + 1),
        );
        let mut o = [0.0; 3];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * ax;
            let bot = c[k] + (d[k] - c[k]) * ax;
            o[k] = top + (bot - top) * ay;
        }
        o
    }

    /// Draws the destination triangle `dst` with the texture of the source triangle `src` of
    /// `tex` (the affine map between the two triangles), overwriting what is there. Pixels whose
    /// centre lies inside or on an edge are drawn, so shared edges leave no cracks.
    pub fn warp_triangle(&mut self, tex: &Canvas, dst: [[f32; 2]; 3], src: [[f32; 2]; 3]) {
        let [a, b, c] = dst;
        let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area.abs() < 1e-6 {
            return;
        }
        let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0) as usize;
        let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0) as usize;
        let x1 = (a[0].max(b[0]).max(c[0]).ceil() as i64).clamp(0, self.w as i64) as usize;
        let y1 = (a[1].max(b[1]).max(c[1]).ceil() as i64).clamp(0, self.h as i64) as usize;
        let inv = 1.0 / area;
        // Tolerance in barycentric units: half a thousandth of a pixel across the triangle.
        let eps = -1e-4;
        for y in y0..y1 {
            let py = y as f32 + 0.5;
            for x in x0..x1 {
                let px = x as f32 + 0.5;
                let l1 = ((px - a[0]) * (c[1] - a[1]) - (py - a[1]) * (c[0] - a[0])) * inv;
                let l2 = ((b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0])) * inv;
                let l0 = 1.0 - l1 - l2;
                if l0 < eps || l1 < eps || l2 < eps {
                    continue;
                }
                let sx = l0 * src[0][0] + l1 * src[1][0] + l2 * src[2][0];
                let sy = l0 * src[0][1] + l1 * src[1][1] + l2 * src[2][1];
                self.px[y * self.w + x] = tex.sample(sx, sy);
            }
        }
    }

    /// Fills the destination triangle `dst` with one colour (the same pixel coverage as
    /// [`warp_triangle`](Self::warp_triangle)).
    pub fn fill_triangle(&mut self, dst: [[f32; 2]; 3], colour: [f32; 3]) {
        let flat = Canvas::new(1, 1, colour);
        self.warp_triangle(&flat, dst, [[0.5, 0.5]; 3]);
    }

    /// Fills every pixel from `f(x, y)` evaluated at the pixel centre.
    pub fn map_pixels(&mut self, f: impl Fn(usize, usize, [f32; 3]) -> [f32; 3] + Sync) {
        use rayon::prelude::*;
        let w = self.w;
        self.px.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            for (x, p) in row.iter_mut().enumerate() {
                *p = f(x, y, *p);
            }
        });
    }
}

/// Smooth step from 0 at `e0` to 1 at `e1`.
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A smooth random field in [−1, 1]: value noise on a coarse grid of `cell` pixels, bilinearly
/// interpolated with a smooth step (paper fibres, screen reflections, walls).
pub fn value_noise(w: usize, h: usize, cell: f32, rng: &mut crate::rng::Rng) -> Vec<f32> {
    let gw = (w as f32 / cell).ceil() as usize + 2;
    let gh = (h as f32 / cell).ceil() as usize + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.range(-1.0, 1.0)).collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        let gy = y as f32 / cell;
        let (iy, ty) = (gy.floor() as usize, smoothstep(0.0, 1.0, gy.fract()));
        for x in 0..w {
            let gx = x as f32 / cell;
            let (ix, tx) = (gx.floor() as usize, smoothstep(0.0, 1.0, gx.fract()));
            let g = |i: usize, j: usize| grid[j * gw + i];
            let top = g(ix, iy) + (g(ix + 1, iy) - g(ix, iy)) * tx;
            let bot = g(ix, iy + 1) + (g(ix + 1, iy + 1) - g(ix, iy + 1)) * tx;
            out[y * w + x] = top + (bot - top) * ty;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Canvas {
        let mut c = Canvas::new(w, h, [0.0; 3]);
        for y in 0..h {
            for x in 0..w {
                c.px[y * w + x] = [x as f32 * 4.0, y as f32 * 4.0, 100.0];
            }
        }
        c
    }

    #[test]
    fn bilinear_sampling_hits_pixel_centres_and_interpolates() {
        let c = gradient(8, 6);
        assert_eq!(c.sample(2.5, 3.5), [8.0, 12.0, 100.0]);
        let m = c.sample(3.0, 3.5);
        assert!((m[0] - 10.0).abs() < 1e-5);
    }

    #[test]
    fn identity_warp_of_two_triangles_copies_the_image_without_cracks() {
        let tex = gradient(16, 12);
        let mut out = Canvas::new(16, 12, [-1.0; 3]);
        let (a, b, c, d) = ([0.0, 0.0], [16.0, 0.0], [16.0, 12.0], [0.0, 12.0]);
        out.warp_triangle(&tex, [a, b, c], [a, b, c]);
        out.warp_triangle(&tex, [a, c, d], [a, c, d]);
        for (a, b) in out.px.iter().zip(&tex.px) {
            assert!((0..3).all(|k| (a[k] - b[k]).abs() < 1e-3), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn translated_warp_shifts_the_content() {
        let tex = gradient(16, 12);
        let mut out = Canvas::new(16, 12, [0.0; 3]);
        let s = |p: [f32; 2]| [p[0] + 2.0, p[1] + 1.0];
        let (a, b, c) = ([0.0, 0.0], [16.0, 0.0], [0.0, 12.0]);
        out.warp_triangle(&tex, [a, b, c], [s(a), s(b), s(c)]);
        // destination (3, 3) samples source (5, 4)
        let (a, b) = (out.px[3 * 16 + 3], tex.px[4 * 16 + 5]);
        assert!((0..3).all(|k| (a[k] - b[k]).abs() < 1e-3), "{a:?} vs {b:?}");
    }

    #[test]
    fn value_noise_is_bounded_and_smooth() {
        let n = value_noise(64, 48, 16.0, &mut crate::rng::Rng::new(2));
        assert!(n.iter().all(|v| v.abs() <= 1.0));
        let jump = (1..64).map(|x| (n[x] - n[x - 1]).abs()).fold(0.0, f32::max);
        assert!(jump < 0.3, "{jump}");
    }
}
