//! Where a chart's text lies: the box of every text a chart draws, so that a test can check
//! that none overlaps another or leaves the canvas.

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
}
