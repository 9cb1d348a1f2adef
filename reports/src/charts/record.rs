//! A plotters backend that draws nothing and records every text it is asked to draw, with
//! the box the bitmap backend would fill for it: what the layout test checks is the charts'
//! own drawing, axes, ticks and legends included.

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use super::font::text_bounds;
use super::layout::{ChartText, DrawnText};
use super::{failed, register_embedded_font, Chart};

struct TextRecorder {
    size: (u32, u32),
    /// Shared with the caller: the drawing area owns the backend.
    texts: Rc<RefCell<Vec<DrawnText>>>,
}

impl DrawingBackend for TextRecorder {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        _point: BackendCoord,
        _color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        // what the bitmap backend leaves out: invisible and empty texts
        if style.color().alpha == 0.0 || text.trim().is_empty() {
            return Ok(());
        }
        let size = style.size();
        self.texts.borrow_mut().push(DrawnText {
            text: text.to_string(),
            size,
            bounds: text_bounds(text, size, style.anchor(), style.transform(), pos),
        });
        Ok(())
    }
}

/// Every text `chart` draws, as its file `stem` would show them.
pub(super) fn record(chart: &impl Chart, stem: &str) -> Result<ChartText, String> {
    register_embedded_font()?;
    let (width, height) = chart.size();
    let texts = Rc::new(RefCell::new(Vec::new()));
    let recorder = TextRecorder {
        size: (width, height),
        texts: Rc::clone(&texts),
    };
    let root: DrawingArea<_, Shift> = recorder.into_drawing_area();
    chart.draw(&root)?;
    root.present().map_err(failed)?;
    let texts = texts.take();
    Ok(ChartText {
        stem: stem.to_string(),
        title: chart.title(),
        width,
        height,
        texts,
    })
}
