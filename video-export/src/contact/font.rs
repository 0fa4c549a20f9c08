//! A small bitmap font of this crate's own: 5x7 glyphs in a 6x9 cell, for the labels and the
//! caption of a contact sheet.
//!
//! It covers the digits, the capital letters (lower-case letters are drawn as capitals) and
//! `# : . , - _ / ( ) [ ] + = % x ? ' !` and space; any other character is drawn as a hollow box,
//! so that a name in another script still shows where its letters are.

/// Glyph width in font pixels.
pub(crate) const GLYPH_W: u32 = 5;
/// Glyph height in font pixels.
pub(crate) const GLYPH_H: u32 = 7;
/// Horizontal advance per character (one column of space after each glyph).
pub(crate) const ADVANCE: u32 = GLYPH_W + 1;

/// The rows of a glyph, top first; bit 4 is the leftmost pixel.
type Glyph = [u8; 7];

/// Drawn for a character the font does not have.
const UNKNOWN: Glyph = [
    0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111,
];

/// The glyph of `c`.
pub(crate) fn glyph(c: char) -> Glyph {
    match c.to_ascii_uppercase() {
        ' ' => [0; 7],
        '0' => [
            0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110,
        ],
        '1' => [
            0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110,
        ],
        '2' => [
            0b01110, 0b10001, 0b00001, 0b00110, 0b01000, 0b10000, 0b11111,
        ],
        '3' => [
            0b11110, 0b00001, 0b00001, 0b01110, 0b00001, 0b00001, 0b11110,
        ],
        '4' => [
            0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010,
        ],
        '5' => [
            0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110,
        ],
        '6' => [
            0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110,
        ],
        '7' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000,
        ],
        '8' => [
            0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110,
        ],
        '9' => [
            0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100,
        ],
        'A' => [
            0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        'B' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110,
        ],
        'C' => [
            0b01111, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b01111,
        ],
        'D' => [
            0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110,
        ],
        'E' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111,
        ],
        'F' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000,
        ],
        'G' => [
            0b01111, 0b10000, 0b10000, 0b10011, 0b10001, 0b10001, 0b01111,
        ],
        'H' => [
            0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        'I' => [
            0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110,
        ],
        'J' => [
            0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100,
        ],
        'K' => [
            0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001,
        ],
        'L' => [
            0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111,
        ],
        'M' => [
            0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001,
        ],
        'N' => [
            0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0b10001,
        ],
        'O' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110,
        ],
        'P' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000,
        ],
        'Q' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101,
        ],
        'R' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001,
        ],
        'S' => [
            0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110,
        ],
        'T' => [
            0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100,
        ],
        'U' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110,
        ],
        'V' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100,
        ],
        'W' => [
            0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010,
        ],
        'X' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001,
        ],
        'Y' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100,
        ],
        'Z' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111,
        ],
        '#' => [
            0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010,
        ],
        ':' => [
            0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000,
        ],
        '.' => [
            0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100,
        ],
        ',' => [
            0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000,
        ],
        '-' => [
            0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000,
        ],
        '_' => [
            0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111,
        ],
        '/' => [
            0b00001, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b10000,
        ],
        '(' => [
            0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010,
        ],
        ')' => [
            0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000,
        ],
        '[' => [
            0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110,
        ],
        ']' => [
            0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110,
        ],
        '+' => [
            0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000,
        ],
        '=' => [
            0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000,
        ],
        '%' => [
            0b11001, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b10011,
        ],
        '?' => [
            0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100,
        ],
        '\'' => [
            0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000,
        ],
        '!' => [
            0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100,
        ],
        _ => UNKNOWN,
    }
}

/// The width in image pixels of `text` drawn at `scale` (no trailing space column).
pub(crate) fn text_width(text: &str, scale: u32) -> u32 {
    let n = text.chars().count() as u32;
    (n * ADVANCE).saturating_sub(1) * scale
}

/// Draw `text` into the packed RGB image `pixels` (`width` pixels a row, `height` rows) with its
/// top-left corner at `(x, y)`, each font pixel a `scale` x `scale` square of `color`. Pixels
/// outside the image, or right of `max_x`, are left out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_text(
    pixels: &mut [u8],
    (width, height): (u32, u32),
    (x, y): (u32, u32),
    max_x: u32,
    text: &str,
    scale: u32,
    color: [u8; 3],
) {
    let right = max_x.min(width);
    for (i, c) in text.chars().enumerate() {
        let gx = x + i as u32 * ADVANCE * scale;
        if gx >= right {
            break;
        }
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (1 << (GLYPH_W - 1 - col)) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    let py = y + row as u32 * scale + dy;
                    if py >= height {
                        continue;
                    }
                    for dx in 0..scale {
                        let px = gx + col * scale + dx;
                        if px >= right {
                            continue;
                        }
                        let at = (py as usize * width as usize + px as usize) * 3;
                        pixels[at..at + 3].copy_from_slice(&color);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_differs_and_fits() {
        let chars: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ#:.,-_/()[]+=%?'!"
            .chars()
            .collect();
        for (i, a) in chars.iter().enumerate() {
            let g = glyph(*a);
            assert_ne!(g, UNKNOWN, "{a} has a glyph");
            assert!(g.iter().all(|r| *r < 32), "{a} fits in 5 columns");
            assert!(g.iter().any(|r| *r != 0), "{a} is drawn");
            for b in &chars[i + 1..] {
                assert_ne!(g, glyph(*b), "{a} and {b} look alike");
            }
        }
        assert_eq!(glyph('a'), glyph('A'));
        assert_eq!(glyph('é'), UNKNOWN);
        assert_eq!(glyph(' '), [0; 7]);
    }

    #[test]
    fn text_is_drawn_where_asked_and_clipped() {
        let (w, h) = (40u32, 20u32);
        let mut px = vec![0u8; (w * h * 3) as usize];
        draw_text(&mut px, (w, h), (1, 2), w, "1", 2, [255, 0, 0]);
        let lit: Vec<(u32, u32)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|(x, y)| px[((y * w + x) * 3) as usize] == 255)
            .collect();
        // '1' has 10 lit font pixels (1 + 2 + 1 + 1 + 1 + 1 + 3 by rows), 4 image pixels
        // each, all inside the 10x14 box at (1, 2).
        assert_eq!(lit.len(), 10 * 4);
        assert!(
            lit.iter()
                .all(|(x, y)| (1..11).contains(x) && (2..16).contains(y))
        );
        assert_eq!(text_width("12", 2), 22);
        // Clipped at max_x and at the image's edges without panicking.
        let mut px = vec![0u8; (w * h * 3) as usize];
        draw_text(&mut px, (w, h), (30, 15), 35, "888", 3, [9, 9, 9]);
        assert!(px.chunks(3).any(|p| p == [9, 9, 9]));
        for y in 0..h {
            for x in 35..w {
                assert_eq!(px[((y * w + x) * 3) as usize], 0);
            }
        }
    }
}
