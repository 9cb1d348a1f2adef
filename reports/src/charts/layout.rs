//! Where a chart's text lies. Each chart places its own texts (title, notes, legend, group
//! and row labels, annotations) as [`Label`]s, measured with the embedded font, and draws
//! exactly those; [`TextBox`] is the box of any text drawn, so that a test can check that none
//! overlaps another or leaves the canvas.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::font::{ink_above, line_step, text_width, wrap_or_break};
use super::{failed, text_style};

/// Space between the canvas edge and anything drawn on it.
pub(super) const MARGIN: i32 = 12;
const TITLE_SIZE: u32 = 20;
const NOTE_SIZE: u32 = 14;
pub(super) const LABEL_SIZE: u32 = 13;

/// A text's box on the canvas in pixels: the advance width of its glyphs (or their ink, where
/// a glyph overhangs) by the font's ascent to descent, turned with the text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl TextBox {
    /// Whether the two boxes share any area (touching edges do not count).
    pub fn overlaps(&self, other: &TextBox) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }

    /// Whether the box lies wholly on a `width` × `height` canvas.
    pub fn inside(&self, width: u32, height: u32) -> bool {
        self.left >= 0.0
            && self.top >= 0.0
            && self.right <= f64::from(width)
            && self.bottom <= f64::from(height)
    }
}

/// One text as a chart drew it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnText {
    pub text: String,
    /// Font size in pixels.
    pub size: f64,
    pub bounds: TextBox,
}

/// Every text one chart of the report draws, in drawing order, on its canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartText {
    /// The chart's file name without extension ("table-modality").
    pub stem: String,
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub texts: Vec<DrawnText>,
}

impl ChartText {
    /// Each text that leaves the canvas and each pair of texts that overlap, in words.
    pub fn problems(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, a) in self.texts.iter().enumerate() {
            if !a.bounds.inside(self.width, self.height) {
                found.push(format!(
                    "{}: {:?} leaves the {}x{} canvas at {:?}",
                    self.stem, a.text, self.width, self.height, a.bounds
                ));
            }
            for b in &self.texts[i + 1..] {
                if a.bounds.overlaps(&b.bounds) {
                    found.push(format!(
                        "{}: {:?} at {:?} overlaps {:?} at {:?}",
                        self.stem, a.text, a.bounds, b.text, b.bounds
                    ));
                }
            }
        }
        found
    }
}

/// Which way a label's text runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Turn {
    Flat,
    /// Turned a quarter anticlockwise: it reads from bottom to top.
    Upward,
}

impl Turn {
    fn transform(self) -> FontTransform {
        match self {
            Turn::Flat => FontTransform::None,
            Turn::Upward => FontTransform::Rotate270,
        }
    }
}

/// A text as a chart's layout placed it: draw() renders exactly this.
#[derive(Clone)]
pub(super) struct Label {
    pub text: String,
    /// Font size in pixels.
    pub size: u32,
    pub anchor: Pos,
    pub turn: Turn,
    /// The anchor point, in pixels on the canvas.
    pub at: (i32, i32),
}

impl Label {
    /// Horizontal text whose `h` edge (or centre) and top of ink lie at `at`.
    pub fn flat(text: &str, size: u32, h: HPos, at: (i32, i32)) -> Label {
        Label {
            text: text.to_string(),
            size,
            anchor: Pos::new(h, VPos::Top),
            turn: Turn::Flat,
            at: (at.0, at.1 + ink_above(f64::from(size))),
        }
    }

    /// Text turned to read upwards, starting at `at` (`h`: Left) or ending there (Right),
    /// centred on its x.
    pub fn upward(text: &str, size: u32, h: HPos, at: (i32, i32)) -> Label {
        Label {
            text: text.to_string(),
            size,
            anchor: Pos::new(h, VPos::Center),
            turn: Turn::Upward,
            at,
        }
    }

    /// The box it covers once drawn (the recorder finds the same for drawn text).
    #[cfg(test)]
    pub fn bounds(&self) -> TextBox {
        super::font::text_bounds(
            &self.text,
            f64::from(self.size),
            self.anchor,
            self.turn.transform(),
            self.at,
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let style = text_style(self.size)
            .pos(self.anchor)
            .transform(self.turn.transform());
        root.draw(&Text::new(self.text.clone(), self.at, style))
            .map_err(failed)
    }
}

pub(super) fn draw_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[Label],
) -> Result<(), String> {
    labels.iter().try_for_each(|l| l.draw(root))
}

/// Lines of `size`, each `h`-aligned at x, stacked down from `top`: the labels and the height
/// they take.
pub(super) fn stack(lines: &[String], size: u32, h: HPos, x: i32, top: i32) -> (Vec<Label>, i32) {
    let step = line_step(f64::from(size));
    let labels = lines
        .iter()
        .enumerate()
        .map(|(i, line)| Label::flat(line, size, h, (x, top + step * i as i32)))
        .collect();
    (labels, step * lines.len() as i32)
}

/// A chart's title, wrapped within the canvas, and its notes under it, centred at the top.
pub(super) struct Heading {
    pub labels: Vec<Label>,
    /// From the top of the canvas to below the last note.
    pub height: i32,
}

pub(super) fn heading(title: &str, notes: &[String], width: u32) -> Heading {
    let width = width as i32;
    let room = width - 2 * MARGIN;
    let mut labels = Vec::new();
    let mut y = MARGIN - 4;
    for (text, size) in
        std::iter::once((title, TITLE_SIZE)).chain(notes.iter().map(|n| (n.as_str(), NOTE_SIZE)))
    {
        let lines = wrap_or_break(text, f64::from(size), room);
        let (placed, height) = stack(&lines, size, HPos::Center, width / 2, y);
        labels.extend(placed);
        y += height;
    }
    Heading { labels, height: y }
}

/// What a legend entry shows beside its text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    /// A filled square (bars).
    Bar(RGBColor),
    /// A line through a marker (line charts, intervals).
    Line(RGBColor),
}

pub(super) struct LegendEntry {
    pub swatch: Swatch,
    pub text: String,
}

/// Legend entries in rows across a band, each swatch at the left of its text.
pub(super) struct Legend {
    pub labels: Vec<Label>,
    /// Each swatch and the centre of its left edge.
    pub swatches: Vec<(Swatch, (i32, i32))>,
    pub height: i32,
}

const SWATCH: i32 = 16;
const SWATCH_GAP: i32 = 6;
const ENTRY_GAP: i32 = 22;

/// Lays `entries` out from `left` to `right`, rows from `top` down; an entry's text wider than
/// the band wraps onto lines.
pub(super) fn legend(entries: &[LegendEntry], top: i32, left: i32, right: i32) -> Legend {
    let size = f64::from(LABEL_SIZE);
    let step = line_step(size);
    let room = (right - left - SWATCH - SWATCH_GAP).max(1);
    let mut legend = Legend {
        labels: Vec::new(),
        swatches: Vec::new(),
        height: 0,
    };
    let (mut x, mut y, mut row_height) = (left, top, 0);
    for entry in entries {
        let lines = wrap_or_break(&entry.text, size, room);
        let text_width = lines.iter().map(|l| text_width(l, size)).max().unwrap_or(0);
        let width = SWATCH + SWATCH_GAP + text_width;
        if x > left && x + width > right {
            (x, y, row_height) = (left, y + row_height, 0);
        }
        let (labels, height) = stack(&lines, LABEL_SIZE, HPos::Left, x + SWATCH + SWATCH_GAP, y);
        legend.labels.extend(labels);
        legend.swatches.push((entry.swatch, (x, y + step / 2 - 1)));
        row_height = row_height.max(height);
        x += width + ENTRY_GAP;
    }
    legend.height = y + row_height - top;
    legend
}

impl Legend {
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        for &(swatch, (x, y)) in &self.swatches {
            match swatch {
                Swatch::Bar(color) => root
                    .draw(&Rectangle::new(
                        [(x + 2, y - 6), (x + 14, y + 6)],
                        color.filled(),
                    ))
                    .map_err(failed)?,
                Swatch::Line(color) => {
                    root.draw(&PathElement::new(
                        vec![(x, y), (x + SWATCH, y)],
                        color.stroke_width(2),
                    ))
                    .map_err(failed)?;
                    root.draw(&Circle::new((x + SWATCH / 2, y), 3, color.filled()))
                        .map_err(failed)?;
                }
            }
        }
        draw_labels(root, &self.labels)
    }
}

/// The parts (by position) every item has in common, when there are two items or more:
/// said once in a note rather than beside each item. Empty parts are never shared.
pub(super) fn shared_parts(items: &[&[String]]) -> Vec<usize> {
    let Some((first, rest)) = items.split_first() else {
        return Vec::new();
    };
    if rest.is_empty() {
        return Vec::new();
    }
    (0..first.len())
        .filter(|&i| !first[i].is_empty() && rest.iter().all(|p| p.get(i) == first.get(i)))
        .collect()
}

/// The parts of `parts` not in `shared`, empty ones left out.
pub(super) fn own_parts(parts: &[String], shared: &[usize]) -> Vec<String> {
    parts
        .iter()
        .enumerate()
        .filter(|(i, p)| !shared.contains(i) && !p.is_empty())
        .map(|(_, p)| p.clone())
        .collect()
}

/// The note that says what every item shares: "{what}: a · b".
pub(super) fn shared_note(what: &str, parts: &[String], shared: &[usize]) -> Option<String> {
    (!shared.is_empty()).then(|| {
        let values: Vec<&str> = shared.iter().map(|&i| parts[i].as_str()).collect();
        format!("{what}: {}", values.join(" · "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_overlap_only_when_they_share_area() {
        let a = TextBox {
            left: 0.0,
            top: 0.0,
            right: 10.0,
            bottom: 10.0,
        };
        let beside = TextBox {
            left: 10.0,
            right: 20.0,
            ..a
        };
        let across = TextBox {
            left: 9.0,
            top: 9.5,
            right: 30.0,
            bottom: 12.0,
        };
        assert!(!a.overlaps(&beside) && !beside.overlaps(&a));
        assert!(a.overlaps(&across) && across.overlaps(&a));
        assert!(a.inside(10, 10) && !across.inside(29, 100));
    }

    fn parts(items: &[&[&str]]) -> Vec<Vec<String>> {
        items
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn parts_every_item_has_are_shared_once() {
        let items = parts(&[
            &["FPT", "bit-xor", "minilm-l6", "lr 1e-3"],
            &["Random", "bit-xor", "minilm-l6", "lr 1e-3"],
            &["FPT", "bit-memory", "minilm-l6", "lr 1e-3"],
        ]);
        let refs: Vec<&[String]> = items.iter().map(Vec::as_slice).collect();
        let shared = shared_parts(&refs);
        assert_eq!(shared, [2, 3]);
        assert_eq!(own_parts(&items[1], &shared), ["Random", "bit-xor"]);
        assert_eq!(
            shared_note("All groups", &items[0], &shared).unwrap(),
            "All groups: minilm-l6 · lr 1e-3"
        );
        // one item shares nothing with anyone; empty parts are never shared
        assert!(shared_parts(&refs[..1]).is_empty());
        let blank = parts(&[&["a", ""], &["b", ""]]);
        let refs: Vec<&[String]> = blank.iter().map(Vec::as_slice).collect();
        assert!(shared_parts(&refs).is_empty());
        assert_eq!(own_parts(&blank[0], &[]), ["a"]);
    }

    #[test]
    fn a_long_title_wraps_within_the_canvas_and_notes_follow_it() {
        let title = "Attention, gpt2-bit-memory-pretrained on bit-memory (run crowded-modality-fpt-bit-memory-s0, example 12)";
        let notes = vec!["All groups: minilm-l6 · lr 1e-3".to_string()];
        let h = heading(title, &notes, 520);
        assert!(h.labels.len() >= 3, "{} lines", h.labels.len());
        let boxes: Vec<TextBox> = h.labels.iter().map(Label::bounds).collect();
        for (i, b) in boxes.iter().enumerate() {
            assert!(b.inside(520, h.height as u32 + 1), "{b:?}");
            assert!(boxes[i + 1..].iter().all(|o| !o.overlaps(b)));
        }
        assert_eq!(h.labels.last().unwrap().size, NOTE_SIZE);
    }

    #[test]
    fn legend_entries_fill_rows_and_wrap_inside_the_band() {
        let entries: Vec<LegendEntry> = (0..6)
            .map(|i| LegendEntry {
                swatch: Swatch::Line(RGBColor(0, 0, 0)),
                text: format!("configuration {i} / pretrained / fpt / lr 1e-3"),
            })
            .collect();
        let legend = legend(&entries, 40, 60, 600);
        assert_eq!(legend.swatches.len(), 6);
        let rows: std::collections::BTreeSet<i32> =
            legend.swatches.iter().map(|(_, (_, y))| *y).collect();
        assert!(rows.len() >= 3, "{rows:?}");
        let boxes: Vec<TextBox> = legend.labels.iter().map(Label::bounds).collect();
        for (i, b) in boxes.iter().enumerate() {
            assert!(b.left >= 60.0 && b.right <= 600.0 && b.top >= 39.0, "{b:?}");
            assert!(b.bottom <= f64::from(40 + legend.height) + 1.0, "{b:?}");
            assert!(boxes[i + 1..].iter().all(|o| !o.overlaps(b)));
        }
    }
}
