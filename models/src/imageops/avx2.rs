//! [`super::sample`] eight output pixels at a time with AVX2: the scalar path's operations, in
//! its order and without fused multiply-adds, so the crops are the same to the bit (tested).
use std::arch::x86_64::*;

use image::RgbImage;

use super::{sample_pixels, Affine};

/// Output row `v` of [`super::sample`]: blocks of eight whose source pixels and their right and
/// lower neighbours all lie inside the image are gathered and blended as vectors; other blocks
/// and the row's tail go through the scalar path.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sample_row(
    img: &RgbImage,
    map: &Affine,
    (out_w, out_h): (usize, usize),
    v: usize,
    out: &mut [f32],
) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let row = 3 * w;
    let plane = out_w * out_h;
    // The gathers read four bytes at each of the four neighbours: the furthest, at `i + row + 3`,
    // must end inside the image (the scalar path's `i + row + 7 <= len`), and every offset must
    // fit the gather's 32-bit indices.
    let blocks = if raw.len() >= row + 7 && raw.len() < i32::MAX as usize {
        out_w / 8
    } else {
        0
    };
    let last_i = _mm256_set1_epi32(raw.len().saturating_sub(row + 7).min(i32::MAX as usize) as i32);
    let m = map.m;
    let (m0, m3) = (_mm256_set1_ps(m[0]), _mm256_set1_ps(m[3]));
    let pv = v as f32 + 0.5;
    // `apply` adds in this order: (m0·u + m1·v) + m2.
    let (m1v, m4v) = (_mm256_set1_ps(m[1] * pv), _mm256_set1_ps(m[4] * pv));
    let (m2, m5) = (_mm256_set1_ps(m[2]), _mm256_set1_ps(m[5]));
    let half = _mm256_set1_ps(0.5);
    let zero = _mm256_setzero_ps();
    let (x_end, y_end) = (
        _mm256_set1_ps(w as f32 - 1.0),
        _mm256_set1_ps(h as f32 - 1.0),
    );
    let (width, three) = (_mm256_set1_epi32(w as i32), _mm256_set1_epi32(3));
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let byte = _mm256_set1_epi32(0xff);
    let base = raw.as_ptr() as *const i32;
    for block in 0..blocks {
        let u0 = block * 8;
        let pu = _mm256_add_ps(
            _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(u0 as i32), lanes)),
            half,
        );
        let sx = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m0, pu), m1v), m2);
        let sy = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m3, pu), m4v), m5);
        let (fx, fy) = (_mm256_sub_ps(sx, half), _mm256_sub_ps(sy, half));
        let inside = _mm256_and_ps(
            _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_GE_OQ>(fx, zero),
                _mm256_cmp_ps::<_CMP_GE_OQ>(fy, zero),
            ),
            _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_LT_OQ>(fx, x_end),
                _mm256_cmp_ps::<_CMP_LT_OQ>(fy, y_end),
            ),
        );
        if _mm256_movemask_ps(inside) != 0xff {
            sample_pixels(img, map, (out_w, out_h), v, u0..u0 + 8, out);
            continue;
        }
        let (x0, y0) = (_mm256_cvttps_epi32(fx), _mm256_cvttps_epi32(fy));
        let i = _mm256_mullo_epi32(_mm256_add_epi32(_mm256_mullo_epi32(y0, width), x0), three);
        if _mm256_movemask_epi8(_mm256_cmpgt_epi32(i, last_i)) != 0 {
            sample_pixels(img, map, (out_w, out_h), v, u0..u0 + 8, out);
            continue;
        }
        let ax = _mm256_sub_ps(fx, _mm256_cvtepi32_ps(x0));
        let ay = _mm256_sub_ps(fy, _mm256_cvtepi32_ps(y0));
        let gather = |offset: i32| {
            _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(i, _mm256_set1_epi32(offset)))
        };
        let (q00, q01) = (gather(0), gather(3));
        let (q10, q11) = (gather(row as i32), gather(row as i32 + 3));
        let o = v * out_w + u0;
        for c in 0..3 {
            let channel = |q: __m256i| {
                let shifted = match c {
                    0 => q,
                    1 => _mm256_srli_epi32::<8>(q),
                    _ => _mm256_srli_epi32::<16>(q),
                };
                _mm256_cvtepi32_ps(_mm256_and_si256(shifted, byte))
            };
            let (p00, p01, p10, p11) = (channel(q00), channel(q01), channel(q10), channel(q11));
            let t = _mm256_add_ps(p00, _mm256_mul_ps(_mm256_sub_ps(p01, p00), ax));
            let b = _mm256_add_ps(p10, _mm256_mul_ps(_mm256_sub_ps(p11, p10), ax));
            let px = _mm256_add_ps(t, _mm256_mul_ps(_mm256_sub_ps(b, t), ay));
            let dst = &mut out[c * plane + o..c * plane + o + 8];
            _mm256_storeu_ps(dst.as_mut_ptr(), px);
        }
    }
    sample_pixels(img, map, (out_w, out_h), v, blocks * 8..out_w, out);
}
