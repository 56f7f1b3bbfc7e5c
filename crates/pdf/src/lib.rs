//! A meeting as a PDF document, in pure Rust: no browser, no external service, no I/O.
//! [`render`] lays out the title, the date and language, the summary (an overview and sections
//! of bullets) and the action items when there are any, and the transcript (a `[mm:ss]`
//! timestamp, or `[h:mm:ss]` throughout once the meeting runs past an hour, the speaker in bold,
//! the wrapped text; "No transcript yet." when there is none) on A4 pages with a footer
//! ("Page N of M" and the title). Must never: depend on other meetvault crates, or do I/O.
//!
//! **Fonts.** Text is set in DejaVu Sans and DejaVu Sans Bold (2.37, `fonts/`, under the
//! Bitstream Vera and Arev licenses in `fonts/LICENSE`; DejaVu's own changes are public domain),
//! chosen for coverage: Latin with its accents (Latin-1, Extended-A and B), Greek, Cyrillic,
//! Armenian, Georgian, Hebrew and Arabic letters, and common symbols. Each PDF embeds only the
//! outlines of the glyphs it uses (`subset`), as Type 0 fonts with `Identity-H` encoding and a
//! `/ToUnicode` map, so the text can be searched and extracted in reading order. A full page
//! (summary, action items, a dozen segments) is a PDF of about 26 KB, a few words 18 KB; the
//! fonts' `name` tables (their copyright and license notices) are some 4 KB of that.
//!
//! **Text.** Control characters (line breaks, tabs, NUL…) become spaces and runs of spaces
//! collapse, except that a blank line in the overview starts a new paragraph; invisible format
//! characters (soft hyphens, zero-width and bidi controls, variation selectors) are dropped; a
//! character DejaVu Sans lacks (Chinese, Japanese, Korean, most emoji…) is set as U+FFFD "�",
//! which is also what extraction gives back. Lines break at spaces by the fonts' advance widths;
//! a word wider than a line is broken between characters, never inside a combining sequence.
//!
//! **Limits.** One glyph per character, with no shaping: no kerning or ligatures, right-to-left
//! text (Hebrew, Arabic) is laid out left to right and Arabic letters keep their isolated forms,
//! and scripts that need reordering or conjuncts (Devanagari…) are not set correctly. The output
//! is not tagged PDF (no structure tree for screen readers) and carries no dates, so the same
//! meeting always gives the same bytes.

mod font;
mod layout;
mod subset;
mod text;
mod writer;

/// A meeting to render. Every string is shown as given (cleaned of control characters); empty
/// or absent parts are left out.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeetingDoc<'a> {
    /// The heading of the first page, the footer of every page and the document's `/Title`;
    /// "Untitled meeting" when blank.
    pub title: &'a str,
    /// When the meeting started, already formatted (e.g. "2026-12-05 09:30 UTC").
    pub started_at: Option<&'a str>,
    /// The meeting's language: shown as given, and the document's `/Lang` when it is shaped
    /// like a language tag ("en", "pt-BR").
    pub language: Option<&'a str>,
    /// The summary's opening paragraphs (a blank line separates paragraphs).
    pub overview: Option<&'a str>,
    /// Summary sections such as "Decisions" and "Risks".
    pub sections: &'a [Section<'a>],
    pub action_items: &'a [ActionItem<'a>],
    /// The transcript, in order.
    pub segments: &'a [Line<'a>],
}

/// A summary section: a heading and its bullet items.
#[derive(Clone, Copy, Debug, Default)]
pub struct Section<'a> {
    pub heading: &'a str,
    pub items: &'a [&'a str],
}

/// An action item, with its owner and due date when known (shown as given).
#[derive(Clone, Copy, Debug, Default)]
pub struct ActionItem<'a> {
    pub text: &'a str,
    pub owner: Option<&'a str>,
    pub due: Option<&'a str>,
}

/// One transcript segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Line<'a> {
    /// Seconds from the start of the meeting (negative or non-finite reads as zero).
    pub start_seconds: f64,
    /// Shown in bold before the text; left out when empty.
    pub speaker: &'a str,
    pub text: &'a str,
}

/// The meeting as the bytes of a PDF file. Never fails: any text renders (see the crate
/// documentation for what happens to characters the fonts lack).
pub fn render(doc: &MeetingDoc<'_>) -> Vec<u8> {
    let pages = layout::layout(doc);
    writer::write(&pages, &layout::title(doc), doc.language)
}
