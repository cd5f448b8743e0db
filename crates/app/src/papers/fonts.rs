//! The embedded fonts: DejaVu Sans and DejaVu Sans Bold (assets/fonts,
//! Bitstream Vera licence), which cover every Vietnamese letter.

use ttf_parser::Face;

pub static REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
pub static BOLD: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Advance widths of both faces, to wrap lines before drawing them.
pub struct Metrics {
    regular: Face<'static>,
    bold: Face<'static>,
}

impl Metrics {
    pub fn load() -> Option<Self> {
        Some(Self {
            regular: Face::parse(REGULAR, 0).ok()?,
            bold: Face::parse(BOLD, 0).ok()?,
        })
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold } else { &self.regular };
        let units: u32 = text
            .chars()
            .map(|c| {
                let glyph = face.glyph_index(c).unwrap_or_default();
                u32::from(face.glyph_hor_advance(glyph).unwrap_or_default())
            })
            .sum();
        let per_em = f32::from(face.units_per_em());
        #[allow(clippy::cast_precision_loss)] // a line's width in font units is far below 2^24
        let units = units as f32;
        units * size / per_em
    }
}
