//! Documents attached to a meeting (pre-reads: PDF, Markdown, HTML, plain text) turned into
//! normalised plain text ([`extract`]) and into overlapping chunks for embedding and search
//! ([`chunk`]). Every input is untrusted: each format is read in time linear in its size,
//! within [`Limits`], and never panics. Must never: do I/O, run OCR, or log content.

mod chunking;
mod html;
mod markdown;
mod pdf;

pub use chunking::{Chunk, chunk};

/// A document's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Markdown,
    Html,
    Text,
}

impl Format {
    /// From a Content-Type (parameters like `; charset=utf-8` ignored, case-insensitive):
    /// `application/pdf`, `text/markdown` (also `text/x-markdown`), `text/html`, `text/plain`.
    /// `None` otherwise.
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        [
            ("application/pdf", Format::Pdf),
            ("text/markdown", Format::Markdown),
            ("text/x-markdown", Format::Markdown),
            ("text/html", Format::Html),
            ("text/plain", Format::Text),
        ]
        .into_iter()
        .find(|(name, _)| essence.eq_ignore_ascii_case(name))
        .map(|(_, format)| format)
    }

    /// The canonical media type (`application/pdf`, `text/markdown`, `text/html`,
    /// `text/plain`).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
            Format::Text => "text/plain",
        }
    }
}

/// Bounds on untrusted input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most characters the extracted (normalised) text may have.
    pub max_chars: usize,
    /// The most pages a PDF may have.
    pub max_pages: usize,
    /// The most bytes a PDF's compressed streams may inflate to: per stream while the file is
    /// loaded, and in total for the page contents, forms and font maps text is read from.
    pub max_decompressed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chars: 200_000,
            max_pages: 500,
            max_decompressed: 64 * 1024 * 1024,
        }
    }
}

/// Why a document could not be read. The messages are safe to show an API caller: they carry
/// no content of the file, and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Not a valid file of its format; the reason says why and what to do.
    #[error("the document could not be read: {0}")]
    Unreadable(String),
    /// A password-protected PDF.
    #[error(
        "the PDF is password-protected: remove the password (or print it to a new PDF) and \
         upload it again"
    )]
    Encrypted,
    /// Over one of the [`Limits`]; says which.
    #[error("the document is too large: {0}; split it into smaller documents")]
    TooLarge(String),
    /// Nothing to extract, such as a scanned PDF whose pages are images only.
    #[error(
        "the document contains no text: scanned pages are images and meetvault does not run \
         OCR; upload a version with a text layer"
    )]
    NoText,
}

/// The document's text, normalised: Unicode text, whitespace runs inside a line collapsed,
/// paragraphs separated by one blank line, no control characters.
pub fn extract(format: Format, bytes: &[u8], limits: &Limits) -> Result<String, DocError> {
    let raw = match format {
        Format::Pdf => pdf::extract(bytes, limits)?,
        Format::Markdown => markdown::to_text(utf8(bytes, "Markdown")?),
        Format::Html => html::to_text(utf8(bytes, "HTML")?),
        Format::Text => utf8(bytes, "text")?.to_owned(),
    };
    let text = normalize(&raw);
    if text.chars().count() > limits.max_chars {
        return Err(too_many_chars(limits));
    }
    if text.is_empty() {
        return Err(DocError::NoText);
    }
    Ok(text)
}

/// The error for text over [`Limits::max_chars`].
fn too_many_chars(limits: &Limits) -> DocError {
    DocError::TooLarge(format!(
        "its text has more than {} characters (the limit)",
        limits.max_chars
    ))
}

/// `bytes` as UTF-8 text without a byte-order mark; binary (NUL bytes) and other encodings
/// are refused.
fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, DocError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.contains(&0) {
        return Err(DocError::Unreadable(format!(
            "it is a binary file (it contains NUL bytes), not {what}; check its content type"
        )));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        DocError::Unreadable(format!(
            "not UTF-8 {what} (invalid byte at offset {}); save it as UTF-8 and upload it again",
            e.valid_up_to()
        ))
    })
}

/// Normalises extracted text: line ends unified, control and invisible formatting characters
/// dropped, whitespace runs inside a line collapsed to one space, lines trimmed, and any run
/// of blank lines made one blank line (a paragraph break); none at the start or end.
fn normalize(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let mut out = String::with_capacity(raw.len());
    // Line ends seen since the last line with text: two or more make a paragraph break.
    let mut pending_breaks = 0usize;
    for line in raw.split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{0b}', '\u{0c}']) {
        let mut words = line
            .split(char::is_whitespace)
            .map(|w| w.chars().filter(|&c| !dropped(c)).collect::<String>())
            .filter(|w| !w.is_empty())
            .peekable();
        if words.peek().is_none() {
            pending_breaks += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if pending_breaks > 1 { "\n\n" } else { "\n" });
        }
        pending_breaks = 1;
        for (i, word) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
    out
}

/// Characters that carry no text: controls, the byte-order mark, soft hyphens, zero-width
/// spaces, and the replacement character a broken font mapping leaves.
fn dropped(c: char) -> bool {
    c.is_control() || matches!(c, '\u{feff}' | '\u{ad}' | '\u{200b}' | '\u{fffd}')
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Asserts that each input, hostile to a naive parser, is read in well under the time a
    /// quadratic pass over its megabyte would take (minutes), whatever the result.
    pub(in crate::docs) fn assert_linear(format: Format, inputs: &[String]) {
        for input in inputs {
            let started = std::time::Instant::now();
            let _ = extract(format, input.as_bytes(), &Limits::default());
            let took = started.elapsed();
            let head: String = input.chars().take(16).collect();
            assert!(
                took < std::time::Duration::from_secs(5),
                "{format:?}: {took:?} for {head:?}…"
            );
        }
    }

    #[test]
    fn media_types_are_recognised_case_insensitively_without_parameters() {
        let cases = [
            ("application/pdf", Some(Format::Pdf)),
            ("Application/PDF", Some(Format::Pdf)),
            ("text/markdown; charset=utf-8", Some(Format::Markdown)),
            ("text/x-markdown", Some(Format::Markdown)),
            (" TEXT/HTML ;charset=UTF-8", Some(Format::Html)),
            ("text/plain", Some(Format::Text)),
            ("text/csv", None),
            ("application/pdfx", None),
            ("", None),
            ("image/png; text/plain", None),
        ];
        for (media_type, want) in cases {
            assert_eq!(Format::from_media_type(media_type), want, "{media_type:?}");
        }
        for format in [Format::Pdf, Format::Markdown, Format::Html, Format::Text] {
            assert_eq!(Format::from_media_type(format.media_type()), Some(format));
        }
    }

    #[test]
    fn default_limits_are_the_documented_ones() {
        let limits = Limits::default();
        assert_eq!(limits.max_chars, 200_000);
        assert_eq!(limits.max_pages, 500);
        assert_eq!(limits.max_decompressed, 64 << 20);
    }

    #[test]
    fn text_is_normalised() {
        let raw =
            "\u{feff}  Hello,\t\tworld  \r\nsecond  line\n\n\n\n  \nnext\u{a0}para\u{ad}graph \n\n";
        let text = extract(Format::Text, raw.as_bytes(), &Limits::default());
        assert_eq!(text.unwrap(), "Hello, world\nsecond line\n\nnext paragraph");
        assert_eq!(normalize("a\u{7}b \u{1b}[0m c\u{2028}d"), "ab [0m c\nd");
        assert_eq!(normalize("\n\n  \n"), "");
    }

    #[test]
    fn text_with_a_bom_is_read_without_it() {
        let text = extract(Format::Text, b"\xEF\xBB\xBFagenda", &Limits::default()).unwrap();
        assert_eq!(text, "agenda");
    }

    #[test]
    fn text_that_is_not_utf8_is_unreadable_and_says_so() {
        let err = extract(Format::Text, b"caf\xe9 au lait", &Limits::default()).unwrap_err();
        assert!(matches!(err, DocError::Unreadable(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("not UTF-8 text"), "{message}");
        assert!(message.contains("offset 3"), "{message}");
        assert!(
            !message.contains("caf"),
            "the message must not quote the file: {message}"
        );
    }

    #[test]
    fn binary_files_are_unreadable_in_every_text_format() {
        for format in [Format::Text, Format::Markdown, Format::Html] {
            let err = extract(format, b"PK\x03\x04\x00\x00abc", &Limits::default()).unwrap_err();
            assert!(
                matches!(&err, DocError::Unreadable(m) if m.contains("NUL")),
                "{format:?}: {err:?}"
            );
        }
    }

    #[test]
    fn empty_documents_have_no_text() {
        for format in [Format::Text, Format::Markdown, Format::Html] {
            for input in ["", "  \n\n\t ", "\u{feff}"] {
                let err = extract(format, input.as_bytes(), &Limits::default()).unwrap_err();
                assert!(
                    matches!(err, DocError::NoText),
                    "{format:?} {input:?}: {err:?}"
                );
            }
        }
        let err = extract(
            Format::Html,
            b"<html><script>x()</script></html>",
            &Limits::default(),
        );
        assert!(matches!(err, Err(DocError::NoText)));
        assert!(DocError::NoText.to_string().contains("OCR"));
    }

    #[test]
    fn text_over_max_chars_is_too_large_and_names_the_limit() {
        let limits = Limits {
            max_chars: 10,
            ..Limits::default()
        };
        // Nine characters once normalised, from more bytes and whitespace.
        let ok = extract(Format::Text, "  é é é é  é ".as_bytes(), &limits).unwrap();
        assert_eq!(ok.chars().count(), 9);
        assert_eq!(
            extract(Format::Text, b"0123456789", &limits).unwrap().len(),
            10
        );
        for format in [Format::Text, Format::Markdown, Format::Html] {
            let err = extract(format, b"01234 56789", &limits).unwrap_err();
            assert!(
                matches!(&err, DocError::TooLarge(m) if m.contains("10 characters")),
                "{format:?}: {err:?}"
            );
        }
    }

    #[test]
    fn error_messages_say_what_to_do() {
        assert!(
            DocError::Encrypted
                .to_string()
                .contains("remove the password")
        );
        assert!(
            DocError::TooLarge("x".into())
                .to_string()
                .contains("split it")
        );
    }
}
