//! The official papers as PDF: the content comes from
//! `motcua_domain::papers`, laid out on A4 (`layout`) and written with
//! krilla, with DejaVu fonts embedded and subset (so the Vietnamese text can
//! be extracted again) and the tracking link as a QR of vector squares.

mod fonts;
mod layout;

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use motcua_domain::papers::{Block, Paper, Signature};
use unicode_normalization::UnicodeNormalization;

pub use layout::{Op, lay_out};

/// A paper that could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error("the embedded fonts could not be read")]
    Fonts,
    #[error("the tracking link does not fit a QR code: {0}")]
    Qr(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The paper as a PDF document.
pub fn pdf(paper: &Paper) -> Result<Vec<u8>, PaperError> {
    let paper = composed(paper);
    let metrics = fonts::Metrics::load().ok_or(PaperError::Fonts)?;
    let pages = lay_out(&paper, &metrics, &qr_modules(&paper.tracking_link)?);
    let regular = Font::new(fonts::REGULAR.into(), 0).ok_or(PaperError::Fonts)?;
    let bold = Font::new(fonts::BOLD.into(), 0).ok_or(PaperError::Fonts)?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", paper.title, paper.code))
            .language("vi".to_owned())
            .creator("motcua".to_owned()),
    );
    let size = PageSettings::from_wh(layout::PAGE_W, layout::PAGE_H)
        .ok_or_else(|| PaperError::Pdf("page size".to_owned()))?;
    for ops in pages {
        let mut page = document.start_page_with(size.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    text,
                } => {
                    surface.set_fill(Some(Fill::default()));
                    let font = if b { bold.clone() } else { regular.clone() };
                    surface.draw_text(
                        Point::from_xy(x, y),
                        font,
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line { x1, y1, x2, y2 } => {
                    let mut path = PathBuilder::new();
                    path.move_to(x1, y1);
                    path.line_to(x2, y2);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.6,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
                Op::Square { x, y, side } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(x, y, side, side) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_fill(Some(Fill::default()));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PaperError::Pdf(e.to_string()))
}

/// The QR of `link` as rows of modules (true = dark), with a quiet zone.
fn qr_modules(link: &str) -> Result<Vec<Vec<bool>>, PaperError> {
    let code = qrcode::QrCode::with_error_correction_level(link, qrcode::EcLevel::M)
        .map_err(|e| PaperError::Qr(e.to_string()))?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 2;
    let mut rows = vec![vec![false; width + 2 * quiet]; quiet];
    for line in colors.chunks(width) {
        let mut row = vec![false; quiet];
        row.extend(line.iter().map(|c| *c == qrcode::Color::Dark));
        row.extend(std::iter::repeat_n(false, quiet));
        rows.push(row);
    }
    rows.extend(std::iter::repeat_n(vec![false; width + 2 * quiet], quiet));
    Ok(rows)
}

/// Every text of the paper in Unicode NFC, so that each Vietnamese letter
/// is one precomposed glyph of the font (and one character when extracted).
fn composed(paper: &Paper) -> Paper {
    let nfc = |s: &str| s.nfc().collect::<String>();
    Paper {
        kind: paper.kind,
        agency: nfc(&paper.agency),
        number: nfc(&paper.number),
        dated: nfc(&paper.dated),
        title: nfc(&paper.title),
        subtitle: paper.subtitle.as_deref().map(nfc),
        code: nfc(&paper.code),
        tracking_link: paper.tracking_link.clone(),
        blocks: paper
            .blocks
            .iter()
            .map(|b| match b {
                Block::Text(t) => Block::Text(nfc(t)),
                Block::Field { label, value } => Block::Field {
                    label: nfc(label),
                    value: nfc(value),
                },
                Block::Table { columns, rows } => Block::Table {
                    columns: columns.iter().map(|(t, w)| (nfc(t), *w)).collect(),
                    rows: rows
                        .iter()
                        .map(|r| r.iter().map(|c| nfc(c)).collect())
                        .collect(),
                },
            })
            .collect(),
        signatures: paper
            .signatures
            .iter()
            .map(|s| Signature {
                role: nfc(&s.role),
                hint: nfc(&s.hint),
                name: s.name.as_deref().map(nfc),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
