//! Attention maps: per layer, a heat map of the attention weights (averaged over heads) of
//! one held-out example, query tokens down, key tokens across.

use plotters::coord::Shift;
use plotters::prelude::*;
use spec::schema::AttentionMaps;

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

impl Chart for AttentionChart<'_> {
    fn title(&self) -> String {
        format!(
            "Attention, {} on {} (run {}, example {})",
            self.maps.model, self.maps.task, self.run, self.maps.example
        )
    }

    fn size(&self) -> (u32, u32) {
        let layers = self.maps.layers.len().max(1);
        let rows = layers.div_ceil(COLUMNS) as u32;
        let cols = layers.min(COLUMNS) as u32;
        ((PANEL * cols).max(520), PANEL * rows + 40)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(failed)?;
        let area = root.titled(&self.title(), text_style(18)).map_err(failed)?;
        let layers = self.maps.layers.len().max(1);
        let panels = area.split_evenly((layers.div_ceil(COLUMNS), layers.min(COLUMNS)));
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
