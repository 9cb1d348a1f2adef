//! The embedded font's metrics exactly as plotters' ab_glyph backend uses them, so that a
//! label measured here is the label drawn: its width (the sum of the glyphs' advances and
//! kerning at a pixel scale equal to the font size, truncated to whole pixels), the height it
//! anchors by (size / 1.24) and where the ink lands (the baseline half a size below the point
//! the text is drawn at, the left side bearings dropped).

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::layout::TextBox;
use super::FONT;

/// The embedded DejaVu Sans. It is part of the binary, so a parse failure is a broken build
/// (the unit test below parses it), not something a user can cause.
fn face() -> &'static FontRef<'static> {
    static FACE: OnceLock<FontRef<'static>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(FONT).expect("the embedded font parses"))
}

/// The width plotters gives `text` at `size` pixels, and anchors it by.
pub(super) fn text_width(text: &str, size: f64) -> i32 {
    let font = face().as_scaled(size as f32);
    let mut width = 0f32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = font.glyph_id(c);
        width += font.h_advance(glyph);
        if let Some(p) = previous {
            width += font.kern(p, glyph);
        }
        previous = Some(glyph);
    }
    width as i32
}

/// The right edge of the ink when it passes the advance width (a last glyph that overhangs).
fn ink_right(text: &str, size: f64) -> i32 {
    let font = face().as_scaled(size as f32);
    let mut x = 0f32;
    let mut right = 0i32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = font.glyph_id(c);
        if let Some(p) = previous {
            x += font.kern(p, glyph);
        }
        if let Some(outline) = font.outline_glyph(font.scaled_glyph(c)) {
            right = right.max(x as i32 + outline.px_bounds().width().ceil() as i32);
        }
        x += font.h_advance(glyph);
        previous = Some(glyph);
    }
    right
}

/// The height plotters anchors text by (its layout box is size / 1.24 tall).
fn anchor_height(size: f64) -> i32 {
    (size / 1.24) as i32
}

/// The vertical span of a line of text (ascent to descent) relative to the point plotters
/// draws it at, before anchoring: plotters puts the baseline half a size below that point.
fn line_span(size: f64) -> (f64, f64) {
    let font = face().as_scaled(size as f32);
    let baseline = size / 2.0;
    (
        baseline - f64::from(font.ascent()),
        baseline - f64::from(font.descent()),
    )
}

/// How far a top-anchored line's box reaches above its anchor point (plotters' baseline sits
/// half a size below the point, the font's ascent above the baseline).
pub(super) fn ink_above(size: f64) -> i32 {
    (-line_span(size).0).ceil() as i32
}

/// A line's advance in a stack of lines of `size`: the font's line height and a small gap.
pub(super) fn line_step(size: f64) -> i32 {
    size.ceil() as i32 + 3
}

/// The box `text` covers when plotters draws it at `at` with `anchor` and `rotation`.
pub(super) fn text_bounds(
    text: &str,
    size: f64,
    anchor: Pos,
    rotation: FontTransform,
    at: (i32, i32),
) -> TextBox {
    let width = text_width(text, size);
    let height = anchor_height(size);
    let dx = match anchor.h_pos {
        HPos::Left => 0,
        HPos::Right => -width,
        HPos::Center => -width / 2,
    };
    let dy = match anchor.v_pos {
        VPos::Top => 0,
        VPos::Center => -height / 2,
        VPos::Bottom => -height,
    };
    let (top, bottom) = line_span(size);
    let right = width.max(ink_right(text, size));
    // The two corners of the unrotated box, turned as plotters turns each pixel.
    let turn = |x: f64, y: f64| -> (f64, f64) {
        match rotation {
            FontTransform::None => (x, y),
            FontTransform::Rotate90 => (-y, x),
            FontTransform::Rotate180 => (-x, -y),
            FontTransform::Rotate270 => (y, -x),
        }
    };
    let a = turn(f64::from(dx), f64::from(dy) + top);
    let b = turn(f64::from(dx + right), f64::from(dy) + bottom);
    let (x, y) = (f64::from(at.0), f64::from(at.1));
    TextBox {
        left: x + a.0.min(b.0),
        right: x + a.0.max(b.0),
        top: y + a.1.min(b.1),
        bottom: y + a.1.max(b.1),
    }
}

/// `text` broken into lines no wider than `max_width` at `size`, at spaces and after hyphens,
/// slashes and commas; `None` when some piece between two such breaks is wider on its own.
pub(super) fn wrap(text: &str, size: f64, max_width: i32) -> Option<Vec<String>> {
    let lines = fill_lines(text, size, max_width);
    lines
        .iter()
        .all(|l| text_width(l, size) <= max_width)
        .then_some(lines)
}

/// Like [`wrap`], but a piece wider than `max_width` is broken between characters.
pub(super) fn wrap_or_break(text: &str, size: f64, max_width: i32) -> Vec<String> {
    fill_lines(text, size, max_width)
        .into_iter()
        .flat_map(|line| {
            if text_width(&line, size) <= max_width {
                vec![line]
            } else {
                break_characters(&line, size, max_width)
            }
        })
        .collect()
}

/// Greedy line filling at the break points; a piece too wide for any line stands alone.
fn fill_lines(text: &str, size: f64, max_width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces(text) {
        let joined = format!("{line}{piece}");
        if line.is_empty() || text_width(joined.trim_end(), size) <= max_width {
            line = joined;
        } else {
            lines.push(line.trim_end().to_string());
            line = piece.to_string();
        }
    }
    lines.push(line.trim_end().to_string());
    lines
}

/// `text` in lines of as many characters as fit in `max_width` (at least one each).
fn break_characters(text: &str, size: f64, max_width: i32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars() {
        let mut longer = line.clone();
        longer.push(c);
        if !line.is_empty() && text_width(&longer, size) > max_width {
            lines.push(std::mem::take(&mut line));
            line.push(c);
        } else {
            line = longer;
        }
    }
    lines.push(line);
    lines
}

/// `text` cut after each space, hyphen, slash and comma (the cut characters stay with the
/// piece before them).
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, ' ' | '-' | '/' | ',') {
            let end = i + c.len_utf8();
            pieces.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_the_ones_plotters_lays_text_out_with() {
        super::super::register_embedded_font().unwrap();
        for size in [10, 12, 13, 14, 20] {
            let style = super::super::text_style(size);
            for text in ["FPT", "minilm-l6, lr 1e-3", "a − b, 95% (±)", "Wavy fjord"] {
                let (w, h) = style.font.box_size(text).unwrap();
                assert_eq!(
                    text_width(text, f64::from(size)),
                    w as i32,
                    "{text} at {size}"
                );
                assert_eq!(anchor_height(f64::from(size)), h as i32);
            }
        }
    }

    #[test]
    fn a_box_turns_with_its_text() {
        let top = Pos::new(HPos::Center, VPos::Top);
        let flat = text_bounds("steps", 13.0, top, FontTransform::None, (100, 50));
        let w = f64::from(text_width("steps", 13.0));
        assert!((flat.right - flat.left - w).abs() <= 1.0);
        assert!((flat.left - (100.0 - w / 2.0)).abs() <= 1.0);
        // 13 px of font: ascent plus descent; plotters draws a little above its anchor point
        assert!((flat.bottom - flat.top - 13.0).abs() < 0.5 && flat.top < 50.0);
        let end = Pos::new(HPos::Right, VPos::Center);
        let up = text_bounds("steps", 13.0, end, FontTransform::Rotate270, (100, 50));
        assert!((up.bottom - up.top - w).abs() <= 1.0, "{up:?}");
        // it hangs down from its end at the anchor (the last glyph's ink may overhang a pixel)
        assert!(
            up.top >= 49.0 && up.bottom > 75.0 && up.right - up.left < 14.0,
            "{up:?}"
        );
    }

    #[test]
    fn wrapping_keeps_every_line_within_the_width() {
        let text = "minilm-l6 / pretrained / fpt / lr 1e-3 / 3 seeds";
        let lines = wrap(text, 13.0, 120).unwrap();
        assert!(lines.len() > 1);
        assert!(
            lines.iter().all(|l| text_width(l, 13.0) <= 120),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("bit-xor", 13.0, 400).unwrap(), ["bit-xor"]);
        assert_eq!(wrap("", 13.0, 400).unwrap(), [""]);
        assert!(wrap("transformerbeatslstm", 13.0, 60).is_none());
        let broken = wrap_or_break("transformerbeatslstm and more", 13.0, 60);
        assert!(
            broken.iter().all(|l| text_width(l, 13.0) <= 60),
            "{broken:?}"
        );
        assert_eq!(
            broken.concat().replace(' ', ""),
            "transformerbeatslstmandmore"
        );
    }
}
