//! Area (box) resampling of packed RGB images: each output pixel is the mean of the source
//! area it covers, partly covered source pixels weighted by their share (FFmpeg's `area`
//! scaler computes the same), which keeps fine detail from aliasing when a frame shrinks to a
//! thumbnail.

/// For each of `dst` output samples, the first source sample it covers and the weights (summing
/// to 1) of the source samples from there on, when `src` samples shrink or grow to `dst`.
fn area_weights(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = f64::from(src) / f64::from(dst);
    (0..dst)
        .map(|i| {
            let (start, end) = (f64::from(i) * ratio, f64::from(i + 1) * ratio);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(src as usize).max(first + 1);
            let mut weights: Vec<f64> = (first..last)
                .map(|j| (end.min(j as f64 + 1.0) - start.max(j as f64)).max(0.0))
                .collect();
            let sum: f64 = weights.iter().sum();
            for w in &mut weights {
                *w /= sum;
            }
            (first, weights.into_iter().map(|w| w as f32).collect())
        })
        .collect()
}

/// `pixels` (`width` x `height` packed RGB8) resampled to `dst_width` x `dst_height` with an
/// area filter; the result is packed RGB8 too. Sizes must not be 0.
pub(crate) fn resize_area(
    pixels: &[u8],
    (width, height): (u32, u32),
    (dst_width, dst_height): (u32, u32),
) -> Vec<u8> {
    let (w, dw, dh) = (width as usize, dst_width as usize, dst_height as usize);
    let columns = area_weights(width, dst_width);
    let rows = area_weights(height, dst_height);
    // Rows first: each source row shrinks to `dst_width` (f32, so the second pass rounds once).
    let mut narrow = vec![0f32; height as usize * dw * 3];
    for (y, out) in narrow.chunks_exact_mut(dw * 3).enumerate() {
        let row = &pixels[y * w * 3..(y + 1) * w * 3];
        for (x, (first, weights)) in columns.iter().enumerate() {
            let mut acc = [0f32; 3];
            for (k, wt) in weights.iter().enumerate() {
                let p = (first + k) * 3;
                for c in 0..3 {
                    acc[c] += f32::from(row[p + c]) * wt;
                }
            }
            out[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    let mut out = vec![0u8; dw * dh * 3];
    for (y, (first, weights)) in rows.iter().enumerate() {
        let dst = &mut out[y * dw * 3..(y + 1) * dw * 3];
        let mut acc = vec![0f32; dw * 3];
        for (k, wt) in weights.iter().enumerate() {
            let src = &narrow[(first + k) * dw * 3..(first + k + 1) * dw * 3];
            for (a, s) in acc.iter_mut().zip(src) {
                *a += s * wt;
            }
        }
        for (d, a) in dst.iter_mut().zip(&acc) {
            *d = a.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_each_2x2_block() {
        // 4x2 grey image (one channel repeated): blocks [0 10; 20 30] and [100 100; 200 200].
        let grey = [0u8, 10, 100, 100, 20, 30, 200, 200];
        let rgb: Vec<u8> = grey.iter().flat_map(|v| [*v, *v, *v]).collect();
        let out = resize_area(&rgb, (4, 2), (2, 1));
        assert_eq!(out, [15, 15, 15, 150, 150, 150]);
    }

    #[test]
    fn a_third_covers_partial_pixels() {
        // 3 pixels to 2: the first output covers pixel 0 and half of pixel 1.
        let rgb: Vec<u8> = [0u8, 90, 180].iter().flat_map(|v| [*v, 0, 255]).collect();
        let out = resize_area(&rgb, (3, 1), (2, 1));
        assert_eq!(out, [30, 0, 255, 150, 0, 255]);
    }

    #[test]
    fn a_flat_image_stays_flat_at_any_size() {
        let rgb = [7u8, 100, 250].repeat(37 * 23);
        for (w, h) in [(1, 1), (5, 3), (37, 23), (80, 50)] {
            let out = resize_area(&rgb, (37, 23), (w, h));
            assert_eq!(out, [7u8, 100, 250].repeat((w * h) as usize), "{w}x{h}");
        }
    }

    #[test]
    fn weights_sum_to_one() {
        for (s, d) in [(1920, 240), (240, 1920), (7, 3), (3, 7), (1, 5)] {
            for (_, w) in area_weights(s, d) {
                assert!(
                    (w.iter().sum::<f32>() - 1.0).abs() < 1e-5,
                    "{s}->{d}: {w:?}"
                );
            }
        }
    }
}
