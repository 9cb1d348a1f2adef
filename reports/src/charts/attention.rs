//! Attention maps: per layer, a heat map of the attention weights (averaged over heads) of
//! one held-out example, query tokens down, key tokens across.

use plotters::coord::Shift;
use plotters::prelude::*;
use spec::schema::AttentionMaps;

use super::layout::{draw_labels, heading, Heading};
use super::{failed, text_style, Chart};

pub(super) struct AttentionChart<'a> {
    pub run: &'a str,
    pub maps: &'a AttentionMaps,
}

const COLUMNS: usize = 4;
const PANEL: u32 = 260;

/// White for 0 to dark blue for the layer's largest weight.
fn shade(weight: f64, max: f64) -> RGBColor {
    let t = if max > 0.0 {
        (weight / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

impl AttentionChart<'_> {
    /// Panels across and down.
    fn grid(&self) -> (usize, usize) {
        let layers = self.maps.layers.len().max(1);
        (layers.min(COLUMNS), layers.div_ceil(COLUMNS))
    }

    fn width(&self) -> u32 {
        (PANEL * self.grid().0 as u32).max(520)
    }

    fn heading(&self) -> Heading {
        heading(&self.title(), &[], self.width())
    }
}

impl Chart for AttentionChart<'_> {
    fn title(&self) -> String {
        format!(
            "Attention, {} on {} (run {}, example {})",
            self.maps.model, self.maps.task, self.run, self.maps.example
        )
    }

    fn size(&self) -> (u32, u32) {
        let rows = self.grid().1 as u32;
        (self.width(), self.heading().height as u32 + PANEL * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(failed)?;
        let heading = self.heading();
        draw_labels(root, &heading.labels)?;
        let (_, area) = root.split_vertically(heading.height);
        let (across, down) = self.grid();
        let panels = area.split_evenly((down, across));
        let t = self.maps.tokens;
        for ((l, layer), panel) in self.maps.layers.iter().enumerate().zip(&panels) {
            let max = layer.iter().flatten().copied().fold(0.0, f64::max);
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("layer {}", l + 1), text_style(14))
                .margin(6)
                .x_label_area_size(18)
                .y_label_area_size(26)
                .build_cartesian_2d(0..t, 0..t)
                .map_err(failed)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(4)
                .y_labels(4)
                // row 0 (the first query) at the top
                .y_label_formatter(&|v| (t - v).to_string())
                .label_style(text_style(10))
                .draw()
                .map_err(failed)?;
            let cells = layer.iter().enumerate().flat_map(|(q, row)| {
                row.iter().enumerate().map(move |(k, w)| {
                    Rectangle::new([(k, t - q), (k + 1, t - q - 1)], shade(*w, max).filled())
                })
            });
            chart.draw_series(cells).map_err(failed)?;
        }
        Ok(())
    }
}
