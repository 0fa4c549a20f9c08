//! The frame-number barcode: every frame of a barcode fixture shows its own source frame number
//! `n`, so a decoded frame says which frame it is.
//!
//! In the *stored* (coded, not display-rotated) picture of `W x H` pixels:
//!
//! * the **top half** (rows `y < H/2`) is a band of [`BARS`] = 24 vertical bars of equal width
//!   spanning the full width. Bar `i` covers the columns `x` with `floor(x * 24 / W) == i`.
//!   Reading left to right, the bars are the 24-bit codeword `n << 8 | check(n)`, most
//!   significant bit first: 16 data bits followed by 8 check bits ([`check_value`]). A 1 bit is
//!   white (luma 235), a 0 bit is black (luma 16);
//! * the **bottom half** is flat mid-grey (luma 126, RGB ≈ 128).
//!
//! Chroma is neutral everywhere, so the picture is the same in every pixel format.
//!
//! The reader samples the middle half of each bar over rows `H/8 .. 3H/8` and classifies every
//! sample as black, white or neither; a bar needs an 80 % majority of one class, and the codeword
//! must pass the check. Reading a frame with the wrong rotation therefore fails: either the
//! samples land in the grey half (neither black nor white), or the bars are read in the wrong
//! order and the check fails. The check also rejects all-black and all-white frames.
//!
//! Bars are at least 13 pixels wide at 320 pixels, which survives every lossy codec used here
//! (x264, x265, VP9, AV1, MJPEG, MPEG-4 Part 2, ProRes) even at odd sizes such as 322x186.
//! Frames narrower than 48 pixels or lower than 8 pixels cannot carry a barcode.
//!
//! [`barcode_filter`] is the ffmpeg filter that paints it; the fixture generator is in
//! `video-gst/tests/support/barcode.rs`.

/// Number of bars in the barcode band.
pub const BARS: u32 = 24;
/// Bars carrying the frame number (most significant bit first).
pub const DATA_BITS: u32 = 16;
/// Bars carrying [`check_value`] (most significant bit first).
pub const CHECK_BITS: u32 = 8;
/// Largest frame count a fixture can have (frame numbers are 16 bits).
pub const MAX_FRAMES: u32 = 1 << DATA_BITS;

/// Luma of a 1 bit (limited-range white).
pub const LUMA_WHITE: u8 = 235;
/// Luma of a 0 bit (limited-range black).
pub const LUMA_BLACK: u8 = 16;
/// Luma of the bottom half (mid grey, RGB ≈ 128).
pub const LUMA_GREY: u8 = 126;

/// A sample darker than this (0–255 luma) counts as black.
const BLACK_BELOW: u8 = 80;
/// A sample brighter than this counts as white.
const WHITE_ABOVE: u8 = 176;

/// The 8 check bits stored after frame number `n`: `(37 n + 101) mod 251`.
///
/// Multiplying by 37 modulo the prime 251 makes every single-bar error in the data detectable,
/// and the offset keeps an all-black frame (codeword 0) from reading as frame 0.
pub fn check_value(n: u32) -> u32 {
    (n * 37 + 101) % 251
}

/// The 24-bit codeword painted for frame `n`.
pub fn codeword(n: u32) -> u32 {
    assert!(
        n < MAX_FRAMES,
        "frame number {n} does not fit in {DATA_BITS} bits"
    );
    (n << CHECK_BITS) | check_value(n)
}

/// The `geq` filter that paints the barcode (ffmpeg expression syntax; see the module docs).
///
/// It must run on a YUV input and before any filter that drops, duplicates or re-times frames,
/// since it paints the counter `N` of the frames it sees.
pub fn barcode_filter() -> String {
    let codeword = format!("(N*{}+mod(N*37+101,251))", 1u32 << CHECK_BITS);
    let bar = format!("floor(X*{BARS}/W)");
    let bit = format!("mod(floor({codeword}/pow(2,{}-{bar})),2)", BARS - 1);
    let span = LUMA_WHITE - LUMA_BLACK;
    format!("geq=lum='if(lt(Y,H/2),{LUMA_BLACK}+{span}*{bit},{LUMA_GREY})':cb=128:cr=128")
}

/// Reads the frame number from a packed RGB8 frame in stored orientation.
///
/// `stride` is the distance in bytes between the starts of two rows (`>= 3 * width`). Returns
/// `None` when no valid barcode is found (wrong orientation, corrupt or foreign frame).
pub fn read_barcode(rgb: &[u8], width: usize, height: usize, stride: usize) -> Option<u32> {
    read_barcode_rotated(rgb, width, height, stride, 0)
}

/// Reads the frame number from a packed RGB8 frame that was rotated **clockwise** by
/// `rotation_cw` degrees (0, 90, 180 or 270) for display.
///
/// `width` and `height` are the dimensions of the frame passed in (the displayed ones, swapped
/// relative to the stored picture for 90 and 270). Reading with the wrong rotation returns
/// `None`.
pub fn read_barcode_rotated(
    rgb: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    rotation_cw: u32,
) -> Option<u32> {
    check_buffer(rgb.len(), width, height, stride, 3);
    read_with(width, height, rotation_cw, |x, y| {
        let p = y * stride + x * 3;
        rgb_luma(rgb[p], rgb[p + 1], rgb[p + 2])
    })
}

/// Reads the frame number from an 8-bit luma plane (e.g. the Y plane of I420 / NV12), stored
/// orientation. Limited- and full-range luma both work.
pub fn read_barcode_luma(
    y_plane: &[u8],
    width: usize,
    height: usize,
    stride: usize,
) -> Option<u32> {
    check_buffer(y_plane.len(), width, height, stride, 1);
    read_with(width, height, 0, |x, y| y_plane[y * stride + x])
}

/// Tries the four display rotations and returns `(frame number, rotation_cw)` for the single one
/// that reads; `None` if none or (which the grey half makes impossible for real fixtures) more
/// than one does.
pub fn read_barcode_any_orientation(
    rgb: &[u8],
    width: usize,
    height: usize,
    stride: usize,
) -> Option<(u32, u32)> {
    let mut found = None;
    for rotation in [0, 90, 180, 270] {
        if let Some(n) = read_barcode_rotated(rgb, width, height, stride, rotation) {
            if found.is_some() {
                return None;
            }
            found = Some((n, rotation));
        }
    }
    found
}

fn check_buffer(len: usize, width: usize, height: usize, stride: usize, bpp: usize) {
    assert!(width > 0 && height > 0, "empty frame {width}x{height}");
    assert!(
        stride >= width * bpp,
        "stride {stride} < {width} pixels * {bpp} bytes"
    );
    let needed = stride * (height - 1) + width * bpp;
    assert!(
        len >= needed,
        "frame buffer has {len} bytes, {width}x{height} (stride {stride}) needs {needed}"
    );
}

/// BT.601 luma of an RGB pixel, 0–255.
fn rgb_luma(r: u8, g: u8, b: u8) -> u8 {
    // Weights sum to 256, so the result stays within 0..=255.
    ((u32::from(r) * 77 + u32::from(g) * 150 + u32::from(b) * 29) >> 8) as u8
}

/// Core reader: `luma(x, y)` gives the luma at display coordinates of a `width x height` frame
/// displayed with `rotation_cw`.
fn read_with(
    width: usize,
    height: usize,
    rotation_cw: u32,
    luma: impl Fn(usize, usize) -> u8,
) -> Option<u32> {
    let rotation = rotation_cw % 360;
    assert!(
        rotation.is_multiple_of(90),
        "rotation must be a multiple of 90 degrees, got {rotation_cw}"
    );
    // Dimensions of the stored picture, where the barcode geometry is defined.
    let (sw, sh) = if rotation.is_multiple_of(180) {
        (width, height)
    } else {
        (height, width)
    };
    let bars = BARS as usize;
    if sw < 2 * bars || sh < 8 {
        return None;
    }
    // Stored (x, y) -> displayed (x, y) for a picture rotated clockwise for display.
    let to_display = |x: usize, y: usize| match rotation {
        0 => (x, y),
        90 => (sh - 1 - y, x),
        180 => (sw - 1 - x, sh - 1 - y),
        _ => (y, sw - 1 - x),
    };
    let rows: Vec<usize> = spaced(sh / 8, (3 * sh / 8).max(sh / 8 + 1), 7);
    let mut word = 0u32;
    for bar in 0..bars {
        // Columns of bar i: ceil(i W / 24) ..= ceil((i+1) W / 24) - 1 (the geq rule).
        let x0 = (bar * sw).div_ceil(bars);
        let x1 = ((bar + 1) * sw).div_ceil(bars);
        let margin = (x1 - x0) / 4;
        let columns = spaced(x0 + margin, x1 - margin, 5);
        let (mut white, mut black, mut total) = (0usize, 0usize, 0usize);
        for &y in &rows {
            for &x in &columns {
                let (dx, dy) = to_display(x, y);
                let v = luma(dx, dy);
                total += 1;
                if v < BLACK_BELOW {
                    black += 1;
                } else if v > WHITE_ABOVE {
                    white += 1;
                }
            }
        }
        let bit = if white * 5 >= total * 4 {
            1
        } else if black * 5 >= total * 4 {
            0
        } else {
            return None;
        };
        word = (word << 1) | bit;
    }
    let n = word >> CHECK_BITS;
    let check = word & ((1 << CHECK_BITS) - 1);
    (check == check_value(n)).then_some(n)
}

/// Up to `count` evenly spaced values in `start..end` (at least `start`).
fn spaced(start: usize, end: usize, count: usize) -> Vec<usize> {
    let len = end.saturating_sub(start).max(1);
    let count = count.min(len);
    let mut values: Vec<usize> = (0..count)
        .map(|k| start + (2 * k + 1) * len / (2 * count))
        .collect();
    values.dedup();
    values
}
