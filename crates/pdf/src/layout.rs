//! The page layout of a meeting: the header (title, date and language, a rule), "Summary" and
//! "Action items" when there are any, then "Transcript", flowed over A4 pages, and a footer on
//! each page with the title and "Page N of M". Produces positioned glyphs and rules; writing
//! them as PDF is `writer`'s job.

use crate::font::Face;
use crate::text::{self, Glyph, Piece, Run, Style};
use crate::{ActionItem, MeetingDoc, Section};

/// A4 in points.
pub(crate) const PAGE_WIDTH: f64 = 595.28;
pub(crate) const PAGE_HEIGHT: f64 = 841.89;
/// 2 cm.
const MARGIN: f64 = 56.69;
const TOP: f64 = PAGE_HEIGHT - MARGIN;
/// Body text stops here, above the footer.
const BOTTOM: f64 = 62.0;
const FOOTER_BASELINE: f64 = 34.0;
const WIDTH: f64 = PAGE_WIDTH - 2.0 * MARGIN;
/// Where bullet text starts, from the margin.
const INDENT: f64 = 15.0;
/// Line height as a multiple of the font size.
const LEADING: f64 = 1.4;

const TITLE: Style = Style::new(Face::Bold, 20.0, 0.0);
const META: Style = Style::new(Face::Regular, 9.5, 0.4);
const HEADING: Style = Style::new(Face::Bold, 13.0, 0.0);
const SUBHEADING: Style = Style::new(Face::Bold, 10.5, 0.2);
const BODY: Style = Style::new(Face::Regular, 10.0, 0.1);
const SPEAKER: Style = Style::new(Face::Bold, 10.0, 0.1);
const MUTED: Style = Style::new(Face::Regular, 10.0, 0.45);
/// Near the body size: poppler reads a timestamp much smaller than the text beside it as a
/// column of its own, and extracts all a page's timestamps apart from their text.
const TIME: Style = Style::new(Face::Regular, 9.5, 0.5);
const FOOTER: Style = Style::new(Face::Regular, 8.0, 0.5);

/// The title shown (and put in the document information) when a meeting has none.
pub(crate) const UNTITLED: &str = "Untitled meeting";

/// Something drawn on a page; coordinates in points from the bottom left.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    Text {
        style: Style,
        x: f64,
        y: f64,
        glyphs: Vec<Glyph>,
    },
    Rule {
        x0: f64,
        x1: f64,
        y: f64,
        gray: f64,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Page {
    pub ops: Vec<Op>,
}

/// Text flowing down the pages: `top` is the top of the next line's box.
#[derive(Debug)]
struct Flow {
    pages: Vec<Page>,
    top: f64,
}

impl Flow {
    fn new() -> Flow {
        Flow {
            pages: vec![Page::default()],
            top: TOP,
        }
    }

    fn fresh(&self) -> bool {
        self.top >= TOP
    }

    /// Starts a new page unless `height` still fits on this one (or this one is empty).
    fn need(&mut self, height: f64) {
        if self.top - height < BOTTOM && !self.fresh() {
            self.pages.push(Page::default());
            self.top = TOP;
        }
    }

    /// Vertical space, dropped at the top of a page.
    fn gap(&mut self, height: f64) {
        if !self.fresh() {
            self.top -= height;
        }
    }

    /// Takes the box of the next line of `size`-point text and gives its baseline.
    fn next_line(&mut self, size: f64) -> f64 {
        let height = size * LEADING;
        self.need(height);
        let baseline = self.top - size * 1.05;
        self.top -= height;
        baseline
    }

    fn put(&mut self, x: f64, y: f64, style: Style, glyphs: Vec<Glyph>) {
        if glyphs.is_empty() {
            return;
        }
        if let Some(page) = self.pages.last_mut() {
            page.ops.push(Op::Text {
                style,
                x,
                y,
                glyphs,
            });
        }
    }

    fn put_line(&mut self, x: f64, y: f64, line: Vec<Piece>) {
        for piece in line {
            self.put(x + piece.x, y, piece.style, piece.glyphs);
        }
    }

    fn rule(&mut self, gray: f64) {
        let y = self.top;
        if let Some(page) = self.pages.last_mut() {
            page.ops.push(Op::Rule {
                x0: MARGIN,
                x1: PAGE_WIDTH - MARGIN,
                y,
                gray,
            });
        }
    }

    /// Lines of wrapped text at `x`, `width` wide, the size taken from the first run.
    fn paragraph(&mut self, x: f64, width: f64, runs: &[Run<'_>]) {
        let size = runs.first().map_or(BODY.size, |r| r.style.size);
        for line in text::wrap(runs, width) {
            let y = self.next_line(size);
            self.put_line(x, y, line);
        }
    }

    /// A section heading, kept on a page with at least two lines of what follows.
    fn heading(&mut self, style: Style, text: &str, before: f64) {
        self.gap(before);
        self.need(style.size * LEADING + 2.0 * BODY.size * LEADING);
        self.paragraph(MARGIN, WIDTH, &[Run { style, text }]);
        self.gap(3.0);
    }

    /// A list item: the marker hangs in the margin of the wrapped text.
    fn item(&mut self, marker: char, runs: &[Run<'_>]) {
        let lines = text::wrap(runs, WIDTH - INDENT);
        for (i, line) in lines.into_iter().enumerate() {
            let y = self.next_line(BODY.size);
            if i == 0 {
                self.put(MARGIN + 3.0, y, BODY, vec![text::glyph(BODY.face, marker)]);
            }
            self.put_line(MARGIN + INDENT, y, line);
        }
        self.gap(2.0);
    }
}

fn blank(s: &str) -> bool {
    text::clean(s).is_empty()
}

/// The title as shown: the meeting's, cleaned, or [`UNTITLED`].
pub(crate) fn title(doc: &MeetingDoc<'_>) -> String {
    let title = text::clean(doc.title);
    if title.is_empty() {
        UNTITLED.to_owned()
    } else {
        title
    }
}

/// Lays the document out on pages.
pub(crate) fn layout(doc: &MeetingDoc<'_>) -> Vec<Page> {
    let mut flow = Flow::new();
    let title = title(doc);
    header(&mut flow, doc, &title);
    summary(&mut flow, doc.overview, doc.sections);
    action_items(&mut flow, doc.action_items);
    transcript(&mut flow, doc);
    let mut pages = flow.pages;
    footers(&mut pages, &title);
    pages
}

fn header(flow: &mut Flow, doc: &MeetingDoc<'_>, title: &str) {
    flow.paragraph(
        MARGIN,
        WIDTH,
        &[Run {
            style: TITLE,
            text: title,
        }],
    );
    let mut meta = Vec::new();
    if let Some(at) = doc.started_at.map(text::clean).filter(|s| !s.is_empty()) {
        meta.push(at);
    }
    if let Some(lang) = doc.language.map(text::clean).filter(|s| !s.is_empty()) {
        meta.push(format!("Language: {lang}"));
    }
    if !meta.is_empty() {
        let meta = meta.join("  ·  ");
        flow.gap(2.0);
        flow.paragraph(
            MARGIN,
            WIDTH,
            &[Run {
                style: META,
                text: &meta,
            }],
        );
    }
    flow.gap(6.0);
    flow.rule(0.75);
}

fn summary(flow: &mut Flow, overview: Option<&str>, sections: &[Section<'_>]) {
    let overview = overview.unwrap_or("");
    let sections: Vec<&Section<'_>> = sections
        .iter()
        .filter(|s| !blank(s.heading) || s.items.iter().any(|i| !blank(i)))
        .collect();
    if blank(overview) && sections.is_empty() {
        return;
    }
    flow.heading(HEADING, "Summary", 22.0);
    // A blank line in the overview starts a new paragraph; other line breaks are spaces.
    let mut first = true;
    for paragraph in paragraphs(overview) {
        if !first {
            flow.gap(5.0);
        }
        first = false;
        flow.paragraph(
            MARGIN,
            WIDTH,
            &[Run {
                style: BODY,
                text: &paragraph,
            }],
        );
    }
    for section in sections {
        if blank(section.heading) {
            flow.gap(6.0);
        } else {
            flow.heading(SUBHEADING, section.heading, 9.0);
        }
        for item in section.items.iter().filter(|i| !blank(i)) {
            flow.item(
                '•',
                &[Run {
                    style: BODY,
                    text: item,
                }],
            );
        }
    }
}

/// Text split at blank lines.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        if blank(line) {
            if !blank(&current) {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !blank(&current) {
        out.push(current);
    }
    out
}

fn action_items(flow: &mut Flow, items: &[ActionItem<'_>]) {
    fn present(s: Option<&str>) -> Option<&str> {
        s.filter(|s| !blank(s))
    }
    let items: Vec<&ActionItem<'_>> = items
        .iter()
        .filter(|i| !blank(i.text) || present(i.owner).is_some() || present(i.due).is_some())
        .collect();
    if items.is_empty() {
        return;
    }
    flow.heading(HEADING, "Action items", 22.0);
    for item in items {
        let mut details = Vec::new();
        if let Some(owner) = present(item.owner) {
            details.push(format!("Owner: {}", text::clean(owner)));
        }
        if let Some(due) = present(item.due) {
            details.push(format!("Due: {}", text::clean(due)));
        }
        let details = if details.is_empty() {
            String::new()
        } else if blank(item.text) {
            details.join(" · ")
        } else {
            format!(" — {}", details.join(" · "))
        };
        let runs = [
            Run {
                style: BODY,
                text: item.text,
            },
            Run {
                style: MUTED,
                text: &details,
            },
        ];
        flow.item('☐', &runs);
    }
}

fn transcript(flow: &mut Flow, doc: &MeetingDoc<'_>) {
    flow.heading(HEADING, "Transcript", 22.0);
    if doc.segments.is_empty() {
        flow.paragraph(
            MARGIN,
            WIDTH,
            &[Run {
                style: MUTED,
                text: "No transcript yet.",
            }],
        );
        return;
    }
    // One form of timestamp throughout, so they are all as wide (DejaVu's digits are) and the
    // gap to the text stays small enough for extraction to keep the two on one line.
    let hours = doc
        .segments
        .iter()
        .any(|s| text::needs_hours(s.start_seconds));
    let stamps: Vec<Vec<Glyph>> = doc
        .segments
        .iter()
        .map(|s| text::glyphs(TIME.face, &text::timestamp(s.start_seconds, hours)))
        .collect();
    let column = stamps
        .iter()
        .map(|g| text::measure(TIME, g))
        .fold(0.0, f64::max)
        + 7.0;
    for (segment, stamp) in doc.segments.iter().zip(stamps) {
        let speaker = text::clean(segment.speaker);
        let speaker = if speaker.is_empty() {
            speaker
        } else {
            format!("{speaker}: ")
        };
        let runs = [
            Run {
                style: SPEAKER,
                text: &speaker,
            },
            Run {
                style: BODY,
                text: segment.text,
            },
        ];
        let mut lines = text::wrap(&runs, WIDTH - column).into_iter();
        let y = flow.next_line(BODY.size);
        flow.put(MARGIN, y, TIME, stamp);
        if let Some(first) = lines.next() {
            flow.put_line(MARGIN + column, y, first);
        }
        for line in lines {
            let y = flow.next_line(BODY.size);
            flow.put_line(MARGIN + column, y, line);
        }
        flow.gap(3.0);
    }
}

fn footers(pages: &mut [Page], title: &str) {
    let count = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let label = text::glyphs(FOOTER.face, &format!("Page {} of {count}", i + 1));
        let label_width = text::measure(FOOTER, &label);
        let title = text::truncate(FOOTER, title, WIDTH - label_width - 24.0);
        page.ops.push(Op::Rule {
            x0: MARGIN,
            x1: PAGE_WIDTH - MARGIN,
            y: FOOTER_BASELINE + 11.0,
            gray: 0.85,
        });
        page.ops.push(Op::Text {
            style: FOOTER,
            x: MARGIN,
            y: FOOTER_BASELINE,
            glyphs: title,
        });
        page.ops.push(Op::Text {
            style: FOOTER,
            x: PAGE_WIDTH - MARGIN - label_width,
            y: FOOTER_BASELINE,
            glyphs: label,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Line;

    fn texts(page: &Page) -> Vec<String> {
        page.ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { glyphs, .. } => Some(glyphs.iter().map(|g| g.ch).collect()),
                Op::Rule { .. } => None,
            })
            .collect()
    }

    #[test]
    fn everything_stays_inside_the_page_margins() {
        let long = "word ".repeat(400);
        let segments: Vec<Line<'_>> = (0..300)
            .map(|i| Line {
                start_seconds: f64::from(i) * 7.0,
                speaker: "Speaker with a rather long name",
                text: &long[..(i as usize * 7) % long.len()],
            })
            .collect();
        let doc = MeetingDoc {
            title: "Planning",
            segments: &segments,
            ..MeetingDoc::default()
        };
        let pages = layout(&doc);
        assert!(pages.len() > 5);
        for page in &pages {
            for op in &page.ops {
                if let Op::Text {
                    style,
                    x,
                    y,
                    glyphs,
                } = op
                {
                    let right = x + text::measure(*style, glyphs);
                    assert!(*x >= MARGIN - 1e-6 && right <= PAGE_WIDTH - MARGIN + 1e-6);
                    assert!(*y >= FOOTER_BASELINE - 1e-6 && *y <= TOP);
                    let footer = (*y - FOOTER_BASELINE).abs() < 1e-9;
                    assert!(footer || *y >= BOTTOM, "body text at {y} in the footer");
                }
            }
        }
    }

    #[test]
    fn an_empty_meeting_says_there_is_no_transcript() {
        let pages = layout(&MeetingDoc::default());
        assert_eq!(pages.len(), 1);
        let t = texts(&pages[0]);
        assert_eq!(
            t,
            [
                UNTITLED,
                "Transcript",
                "No transcript yet.",
                UNTITLED,
                "Page 1 of 1"
            ]
        );
    }

    #[test]
    fn overview_paragraphs_split_at_blank_lines() {
        assert_eq!(
            paragraphs("one\ntwo\n \nthree\n\n\n"),
            vec!["one\ntwo\n".to_owned(), "three\n".to_owned()]
        );
        assert!(paragraphs(" \n\t").is_empty());
    }
}
