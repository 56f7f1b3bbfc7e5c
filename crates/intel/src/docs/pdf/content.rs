//! Reading the text of a page's content stream: a small interpreter of the operators that
//! place and show text (graphics state, text matrices, fonts, form XObjects), which writes
//! the shown strings in drawing order with a line break where the baseline moves, a blank
//! line where it jumps by more than a line, and a space where the pen skips ahead. No
//! reordering of columns or rotated text, no images.

use std::rc::Rc;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::fonts::{Font, Fonts};
use super::{Budget, PdfResult, bounded};

/// Form XObjects drawn inside form XObjects deeper than this are not read.
const MAX_FORM_DEPTH: usize = 8;
/// Saved graphics states kept; deeper `q`s (hostile or broken streams) are counted only.
const MAX_SAVED_STATES: usize = 256;
/// A gap wider than this share of the font size between two shown strings is a space.
const WORD_GAP: f32 = 0.15;

/// A 2D affine transform `[a b c d e f]`, in PDF's row-vector convention.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(tx: f32, ty: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self × other`: `self` applied first.
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    /// From six numeric operands; `None` unless all six are numbers.
    fn from_operands(operands: &[Object]) -> Option<Matrix> {
        let mut m = [0.0; 6];
        for (slot, operand) in m.iter_mut().zip(operands) {
            *slot = operand.as_float().ok().filter(|v| v.is_finite())?;
        }
        (operands.len() >= 6).then_some(Matrix(m))
    }
}

/// The parts of the graphics state that text depends on.
#[derive(Clone)]
struct State<'a> {
    ctm: Matrix,
    font: Option<Rc<Font<'a>>>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// Horizontal scaling, as a fraction (Tz 100 → 1.0).
    scale: f32,
    leading: f32,
}

impl State<'_> {
    fn new(ctm: Matrix) -> Self {
        State {
            ctm,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
        }
    }
}

/// Where the last string shown on the page ended, to place the next one against.
#[derive(Debug, Clone, Copy)]
struct Pen {
    x_end: f32,
    y: f32,
    size: f32,
}

/// The text of one page so far, and how far apart its lines have been.
pub(super) struct Page<'o> {
    out: &'o mut String,
    pen: Option<Pen>,
    /// The smallest distance between two lines seen on the page.
    min_line_gap: f32,
    /// Non-whitespace characters written, for the document's character limit.
    pub(super) chars: usize,
}

impl<'o> Page<'o> {
    pub(super) fn new(out: &'o mut String, chars: usize) -> Self {
        Page {
            out,
            pen: None,
            min_line_gap: f32::INFINITY,
            chars,
        }
    }

    /// The separator between the last string and one shown at `(x, y)` in `size`: a space, a
    /// line break, a paragraph break or nothing. `gap_em` is the gap a TJ array gave
    /// explicitly, when it did.
    fn separate(&mut self, x: f32, y: f32, size: f32, gap_em: Option<f32>) {
        let Some(pen) = self.pen else { return };
        let line = pen.size.max(size).max(1e-3);
        let drop = pen.y - y;
        if drop.abs() > 0.5 * line {
            let paragraph = if drop > 0.0 {
                let first = self.min_line_gap.is_infinite();
                let wide = drop > 1.8 * line && (first || drop > 1.3 * self.min_line_gap);
                self.min_line_gap = self.min_line_gap.min(drop);
                wide
            } else {
                -drop > 2.0 * line
            };
            self.out.push_str(if paragraph { "\n\n" } else { "\n" });
            return;
        }
        let gap = gap_em.unwrap_or((x - pen.x_end) / line);
        // A pen moved back more than an em (a new column on the same baseline, say) also
        // separates words.
        if !(-1.0..=WORD_GAP).contains(&gap) && !self.out.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
    }
}

/// Reads the text of pages: the document, its fonts and the decompression budget.
pub(super) struct Reader<'a> {
    pub(super) doc: &'a Document,
    pub(super) fonts: Fonts<'a>,
    pub(super) budget: Budget,
    pub(super) max_chars: usize,
}

impl<'a> Reader<'a> {
    /// Appends the text of the page `id` to `page`.
    pub(super) fn page(&mut self, id: ObjectId, page: &mut Page<'_>) -> PdfResult<()> {
        let data = self
            .doc
            .get_page_content_with_limit(id, self.budget.left())?;
        self.budget.charge(data.len())?;
        let (inline, referenced) = self.doc.get_page_resources(id).unwrap_or_default();
        let resources: Vec<&'a Dictionary> = inline
            .into_iter()
            .chain(
                referenced
                    .iter()
                    .filter_map(|&r| self.doc.get_dictionary(r).ok()),
            )
            .collect();
        self.run(&data, &resources, State::new(Matrix::IDENTITY), 0, page)
    }

    /// Interprets one content stream with its resources (nearest first), starting from
    /// `state`.
    fn run(
        &mut self,
        data: &[u8],
        resources: &[&'a Dictionary],
        mut state: State<'a>,
        depth: usize,
        page: &mut Page<'_>,
    ) -> PdfResult<()> {
        let mut saved: Vec<State<'a>> = Vec::new();
        let mut unsaved_depth = 0usize;
        let (mut tm, mut tlm) = (Matrix::IDENTITY, Matrix::IDENTITY);
        // A broken stream keeps the text before the break.
        for op in Content::<Vec<Operation>>::decode_iter(data).map_while(Result::ok) {
            let num = |i: usize| {
                let operand = op.operands.get(i).and_then(|o| o.as_float().ok());
                operand.filter(|v| v.is_finite()).unwrap_or(0.0)
            };
            match op.operator.as_str() {
                "q" if saved.len() < MAX_SAVED_STATES => saved.push(state.clone()),
                "q" => unsaved_depth += 1,
                "Q" if unsaved_depth > 0 => unsaved_depth -= 1,
                "Q" => state = saved.pop().unwrap_or(state),
                "cm" => {
                    if let Some(m) = Matrix::from_operands(&op.operands) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                "BT" => (tm, tlm) = (Matrix::IDENTITY, Matrix::IDENTITY),
                "Tf" => {
                    state.size = num(1);
                    state.font = match op.operands.first().map(Object::as_name) {
                        Some(Ok(name)) => self.font(resources, name)?,
                        _ => None,
                    };
                }
                "Tc" => state.char_spacing = num(0),
                "Tw" => state.word_spacing = num(0),
                "Tz" => state.scale = num(0) / 100.0,
                "TL" => state.leading = num(0),
                "Td" | "TD" => {
                    if op.operator == "TD" {
                        state.leading = -num(1);
                    }
                    tlm = Matrix::translate(num(0), num(1)).then(tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(&op.operands) {
                        (tm, tlm) = (m, m);
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                    tm = tlm;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if op.operator != "Tj" && op.operator != "TJ" {
                        if op.operator == "\"" {
                            state.word_spacing = num(0);
                            state.char_spacing = num(1);
                        }
                        tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                        tm = tlm;
                    }
                    let shown = match op.operator.as_str() {
                        "\"" => op.operands.get(2),
                        _ => op.operands.first(),
                    };
                    match shown {
                        Some(Object::Array(items)) => {
                            let mut gap_em = None;
                            for item in items {
                                match item {
                                    Object::String(bytes, _) => {
                                        self.show(bytes, &state, &mut tm, gap_em, page)?;
                                        gap_em = Some(0.0);
                                    }
                                    other => {
                                        let n = other.as_float().ok().filter(|n| n.is_finite());
                                        let n = n.unwrap_or(0.0) / 1000.0;
                                        tm = Matrix::translate(-n * state.size * state.scale, 0.0)
                                            .then(tm);
                                        // Before the first string, the move is positional.
                                        gap_em = gap_em.map(|g| g - n);
                                    }
                                }
                            }
                        }
                        Some(Object::String(bytes, _)) => {
                            self.show(bytes, &state, &mut tm, None, page)?
                        }
                        _ => {}
                    }
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(Ok(name)) = op.operands.first().map(Object::as_name) {
                        self.form(resources, name, &state, depth, page)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Shows a string at the text matrix `tm` and moves it past the string.
    fn show(
        &mut self,
        bytes: &[u8],
        state: &State<'a>,
        tm: &mut Matrix,
        gap_em: Option<f32>,
        page: &mut Page<'_>,
    ) -> PdfResult<()> {
        let at = tm.then(state.ctm);
        let [_, _, c, d, x, y] = at.0;
        let size = (state.size * c.hypot(d)).abs();
        page.separate(x, y, size, gap_em);

        let mut advance = 0.0;
        match &state.font {
            Some(font) => {
                let before = page.out.len();
                font.decode(bytes, page.out);
                page.chars += page.out[before..]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .count();
                for (code, width) in font.codes(bytes) {
                    let word = if code == 32 && font.single_byte() {
                        state.word_spacing
                    } else {
                        0.0
                    };
                    advance += width / 1000.0 * state.size + state.char_spacing + word;
                }
            }
            None => advance += bytes.len() as f32 * 0.5 * state.size,
        }
        *tm = Matrix::translate(advance * state.scale, 0.0).then(*tm);
        page.pen = Some(Pen {
            x_end: tm.then(state.ctm).0[4],
            y,
            size,
        });
        if page.chars > self.max_chars {
            return Err(super::PdfError::TooManyChars);
        }
        Ok(())
    }

    /// The font a /Font resource name refers to.
    fn font(
        &mut self,
        resources: &[&'a Dictionary],
        name: &[u8],
    ) -> PdfResult<Option<Rc<Font<'a>>>> {
        match self.resource(resources, b"Font", name) {
            Some(entry) => self.fonts.get(entry, &mut self.budget),
            None => Ok(None),
        }
    }

    /// The entry `name` of the resource category `category` (`Font`, `XObject`), from the
    /// nearest resource dictionary that has it.
    fn resource(
        &self,
        resources: &[&'a Dictionary],
        category: &[u8],
        name: &[u8],
    ) -> Option<&'a Object> {
        resources.iter().find_map(|r| {
            r.get_deref(category, self.doc)
                .and_then(Object::as_dict)
                .and_then(|entries| entries.get(name))
                .ok()
        })
    }

    /// Draws the form XObject `name`: its content with its own resources (else the
    /// caller's), its matrix and a copy of the caller's state.
    fn form(
        &mut self,
        resources: &[&'a Dictionary],
        name: &[u8],
        state: &State<'a>,
        depth: usize,
        page: &mut Page<'_>,
    ) -> PdfResult<()> {
        let Some(entry) = self.resource(resources, b"XObject", name) else {
            return Ok(());
        };
        let Ok((_, Object::Stream(form))) = self.doc.dereference(entry) else {
            return Ok(());
        };
        if form.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return Ok(());
        }
        let Some(data) = bounded(form.get_plain_content_with_limit(self.budget.left()))? else {
            return Ok(());
        };
        self.budget.charge(data.len())?;
        let own = form
            .dict
            .get_deref(b"Resources", self.doc)
            .and_then(Object::as_dict)
            .ok();
        let resources: Vec<&'a Dictionary> =
            own.into_iter().chain(resources.iter().copied()).collect();
        let matrix = form
            .dict
            .get_deref(b"Matrix", self.doc)
            .and_then(Object::as_array)
            .ok()
            .and_then(|m| Matrix::from_operands(m))
            .unwrap_or(Matrix::IDENTITY);
        let mut inner = state.clone();
        inner.ctm = matrix.then(state.ctm);
        self.run(&data, &resources, inner, depth + 1, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let scale = Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
        let moved = Matrix::translate(10.0, 5.0).then(scale);
        assert_eq!(moved, Matrix([2.0, 0.0, 0.0, 2.0, 20.0, 10.0]));
        assert_eq!(Matrix::IDENTITY.then(moved), moved);
        assert_eq!(Matrix::from_operands(&[Object::Integer(1)]), None);
    }
}
