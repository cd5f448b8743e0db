//! Lays a paper out on A4 pages as a display list: text runs, rules and
//! filled squares, in points from the top-left corner. Wrapping measures
//! every word with the font it is drawn in.

use motcua_domain::papers::{Block, MOTTO, NATION, Paper, Signature};

use super::fonts::Metrics;

pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
const LEFT: f32 = 62.0;
const RIGHT: f32 = PAGE_W - 45.0;
const TOP: f32 = 45.0;
const BOTTOM: f32 = PAGE_H - 50.0;
const BODY: f32 = 11.0;
const CELL: f32 = 9.5;
const PAD: f32 = 3.0;
const QR_SIZE: f32 = 72.0;

/// One thing drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text on one line; `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    /// A straight rule.
    Line { x1: f32, y1: f32, x2: f32, y2: f32 },
    /// A filled black square (the QR's modules).
    Square { x: f32, y: f32, side: f32 },
}

/// A run of text in one font within a line.
type Run = (String, bool);

struct Pages<'m> {
    metrics: &'m Metrics,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        if !text.is_empty() {
            self.ops().push(Op::Text {
                x,
                y,
                size,
                bold,
                text: text.to_owned(),
            });
        }
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.ops().push(Op::Line { x1, y1, x2, y2 });
    }

    /// Draws wrapped lines of runs, each line centred in `[x0, x1]` or
    /// from its left; returns the y below the last line.
    fn runs(
        &mut self,
        lines: &[Vec<Run>],
        x0: f32,
        x1: f32,
        top: f32,
        size: f32,
        centre: bool,
    ) -> f32 {
        let lh = size * 1.35;
        let mut y = top;
        for line in lines {
            let last = line.len().saturating_sub(1);
            let width: f32 = line
                .iter()
                .enumerate()
                .map(|(i, (t, b))| {
                    let t = if i == last { t.trim_end() } else { t.as_str() };
                    self.metrics.width(t, size, *b)
                })
                .sum();
            let mut x = if centre {
                x0 + (x1 - x0 - width) / 2.0
            } else {
                x0
            };
            for (t, bold) in line {
                self.text(x, y + size, size, *bold, t);
                x += self.metrics.width(t, size, *bold);
            }
            y += lh;
        }
        y
    }

    /// Wrapped lines that may cross a page break, one line at a time.
    fn flowing(&mut self, runs: &[Run], x0: f32, size: f32) {
        let lines = wrap(self.metrics, runs, RIGHT - x0, size);
        for line in lines {
            self.room(size * 1.35);
            self.y = self.runs(&[line], x0, RIGHT, self.y, size, false);
        }
    }
}

/// Breaks runs into lines no wider than `width`: at spaces, or inside a
/// word longer than a line.
pub fn wrap(metrics: &Metrics, runs: &[Run], width: f32, size: f32) -> Vec<Vec<Run>> {
    let mut lines: Vec<Vec<Run>> = vec![Vec::new()];
    let mut used = 0.0_f32;
    for (text, bold) in runs {
        for word in text.split_inclusive(' ') {
            for piece in split_long(metrics, word, width, size, *bold) {
                let w = metrics.width(piece.trim_end(), size, *bold);
                if used > 0.0 && used + w > width {
                    lines.push(Vec::new());
                    used = 0.0;
                }
                used += metrics.width(&piece, size, *bold);
                if let Some(line) = lines.last_mut() {
                    match line.last_mut() {
                        Some((t, b)) if *b == *bold => t.push_str(&piece),
                        _ => line.push((piece, *bold)),
                    }
                }
            }
        }
    }
    // A wrapped line keeps its closing space, so that text extracted from
    // the PDF still has a space between the last word of a line and the
    // first of the next; only the paragraph's end is trimmed.
    if let Some((t, _)) = lines.last_mut().and_then(|l| l.last_mut()) {
        let trimmed = t.trim_end().len();
        t.truncate(trimmed);
    }
    lines.retain(|l| l.iter().any(|(t, _)| !t.is_empty()));
    lines
}

/// A word wider than a line, in pieces that fit (by characters).
fn split_long(metrics: &Metrics, word: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    if metrics.width(word.trim_end(), size, bold) <= width {
        return vec![word.to_owned()];
    }
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let mut candidate = pieces.last().cloned().unwrap_or_default();
        candidate.push(c);
        if metrics.width(&candidate, size, bold) > width && candidate.chars().count() > 1 {
            pieces.push(c.to_string());
        } else if let Some(last) = pieces.last_mut() {
            *last = candidate;
        }
    }
    pieces
}

/// The pages of a paper, with the QR modules of its tracking link.
pub fn lay_out(paper: &Paper, metrics: &Metrics, qr: &[Vec<bool>]) -> Vec<Vec<Op>> {
    let mut p = Pages {
        metrics,
        pages: Vec::new(),
        y: TOP,
    };
    header(&mut p, paper);
    title(&mut p, paper, qr);
    for block in &paper.blocks {
        body(&mut p, block);
    }
    signatures(&mut p, &paper.signatures);
    footers(&mut p, &paper.code);
    p.pages
}

fn header(p: &mut Pages, paper: &Paper) {
    let (lx0, lx1, rx0, rx1) = (LEFT - 20.0, LEFT + 210.0, LEFT + 215.0, RIGHT + 10.0);
    let agency = wrap(p.metrics, &[(paper.agency.clone(), true)], lx1 - lx0, 10.0);
    let mut left = p.runs(&agency, lx0, lx1, TOP, 10.0, true);
    let mid = f32::midpoint(lx0, lx1);
    p.line(mid - 30.0, left + 2.0, mid + 30.0, left + 2.0);
    left = p.runs(
        &[vec![(paper.number.clone(), false)]],
        lx0,
        lx1,
        left + 6.0,
        9.5,
        true,
    );
    let mut right = p.runs(
        &[vec![(NATION.to_owned(), true)]],
        rx0,
        rx1,
        TOP,
        10.0,
        true,
    );
    right = p.runs(
        &[vec![(MOTTO.to_owned(), true)]],
        rx0,
        rx1,
        right,
        10.5,
        true,
    );
    let rmid = f32::midpoint(rx0, rx1);
    let half = p.metrics.width(MOTTO, 10.5, true) / 2.0;
    p.line(rmid - half, right + 2.0, rmid + half, right + 2.0);
    right = p.runs(
        &[vec![(paper.dated.clone(), false)]],
        rx0,
        rx1,
        right + 6.0,
        10.0,
        true,
    );
    p.y = left.max(right) + 14.0;
}

fn title(p: &mut Pages, paper: &Paper, qr: &[Vec<bool>]) {
    let text_right = RIGHT - QR_SIZE - 10.0;
    let top = p.y;
    let lines = wrap(
        p.metrics,
        &[(paper.title.clone(), true)],
        text_right - LEFT,
        13.0,
    );
    let mut y = p.runs(&lines, LEFT, text_right, top, 13.0, true);
    if let Some(sub) = &paper.subtitle {
        let lines = wrap(p.metrics, &[(sub.clone(), false)], text_right - LEFT, 11.0);
        y = p.runs(&lines, LEFT, text_right, y + 2.0, 11.0, true);
    }
    let code = vec![("Mã hồ sơ: ".to_owned(), false), (paper.code.clone(), true)];
    y = p.runs(&[code], LEFT, text_right, y + 4.0, BODY, true);
    qr_squares(p, qr, RIGHT - QR_SIZE, top);
    p.y = y.max(top + QR_SIZE) + 12.0;
}

fn qr_squares(p: &mut Pages, qr: &[Vec<bool>], x: f32, y: f32) {
    let n = qr.len().max(1);
    let side = QR_SIZE / f32::from(u16::try_from(n).unwrap_or(u16::MAX));
    let mut row_y = y;
    for row in qr {
        let mut col_x = x;
        for dark in row {
            if *dark {
                p.ops().push(Op::Square {
                    x: col_x,
                    y: row_y,
                    side,
                });
            }
            col_x += side;
        }
        row_y += side;
    }
}

fn body(p: &mut Pages, block: &Block) {
    match block {
        Block::Text(text) => p.flowing(&[(text.clone(), false)], LEFT, BODY),
        Block::Field { label, value } => p.flowing(
            &[(format!("{label}: "), false), (value.clone(), true)],
            LEFT,
            BODY,
        ),
        Block::Table { columns, rows } => table(p, columns, rows),
    }
    p.y += 3.0;
}

fn table(p: &mut Pages, columns: &[(String, u16)], rows: &[Vec<String>]) {
    let width = RIGHT - LEFT;
    let mut edges = vec![LEFT];
    for (_, share) in columns {
        let last = edges.last().copied().unwrap_or(LEFT);
        edges.push(last + width * f32::from(*share) / 1000.0);
    }
    let header: Vec<String> = columns.iter().map(|(t, _)| t.clone()).collect();
    row(p, &edges, &header, true);
    for cells in rows {
        let height = row_height(p, &edges, cells, false);
        if p.y + height > BOTTOM {
            p.new_page();
            row(p, &edges, &header, true);
        }
        row(p, &edges, cells, false);
    }
    p.y += 4.0;
}

fn cell_lines(p: &Pages, edges: &[f32], cells: &[String], bold: bool) -> Vec<Vec<Vec<Run>>> {
    cells
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let w =
                edges.get(i + 1).copied().unwrap_or(RIGHT) - edges.get(i).copied().unwrap_or(LEFT);
            wrap(p.metrics, &[(text.clone(), bold)], w - 2.0 * PAD, CELL)
        })
        .collect()
}

fn row_height(p: &Pages, edges: &[f32], cells: &[String], bold: bool) -> f32 {
    let most = cell_lines(p, edges, cells, bold)
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .max(1);
    f32::from(u16::try_from(most).unwrap_or(u16::MAX)) * CELL * 1.35 + 2.0 * PAD
}

fn row(p: &mut Pages, edges: &[f32], cells: &[String], bold: bool) {
    let height = row_height(p, edges, cells, bold);
    p.room(height);
    let top = p.y;
    for (i, lines) in cell_lines(p, edges, cells, bold).iter().enumerate() {
        let x0 = edges.get(i).copied().unwrap_or(LEFT);
        let x1 = edges.get(i + 1).copied().unwrap_or(RIGHT);
        p.runs(lines, x0 + PAD, x1 - PAD, top + PAD, CELL, bold);
    }
    let bottom = top + height;
    p.line(LEFT, top, RIGHT, top);
    p.line(LEFT, bottom, RIGHT, bottom);
    for x in edges {
        p.line(*x, top, *x, bottom);
    }
    p.y = bottom;
}

fn signatures(p: &mut Pages, signatures: &[Signature]) {
    if signatures.is_empty() {
        return;
    }
    p.room(110.0);
    let top = p.y + 10.0;
    let n = f32::from(u16::try_from(signatures.len()).unwrap_or(1));
    let w = (RIGHT - LEFT) / n;
    let mut lowest = top;
    for (i, s) in signatures.iter().enumerate() {
        let x0 = LEFT + w * f32::from(u16::try_from(i).unwrap_or(0));
        let x1 = x0 + w;
        let role = wrap(p.metrics, &[(s.role.clone(), true)], w - 8.0, 10.5);
        let mut y = p.runs(&role, x0, x1, top, 10.5, true);
        y = p.runs(&[vec![(s.hint.clone(), false)]], x0, x1, y, 9.0, true);
        if let Some(name) = &s.name {
            let lines = wrap(p.metrics, &[(name.clone(), true)], w - 8.0, 10.5);
            y = p.runs(&lines, x0, x1, y + 48.0, 10.5, true);
        }
        lowest = lowest.max(y);
    }
    p.y = lowest;
}

fn footers(p: &mut Pages, code: &str) {
    let count = p.pages.len();
    for (i, ops) in p.pages.iter_mut().enumerate() {
        ops.push(Op::Text {
            x: LEFT,
            y: PAGE_H - 28.0,
            size: 8.0,
            bold: false,
            text: format!("Hồ sơ {code} · trang {}/{count}", i + 1),
        });
    }
}
