//! PDF to text, with lopdf: the file loaded with its streams' decompression bounded, refused
//! when password-protected or over the page limit, then each page's text read by
//! [`content`]'s interpreter with a decompression budget for the whole document. lopdf is
//! not trusted not to panic on hostile bytes: a panic is caught and reported as a damaged
//! file.

mod content;
mod fonts;
mod std14;
#[cfg(test)]
mod tests;

use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{DecompressError, Document, LoadOptions, ParseError};

use super::{DocError, Limits, too_many_chars};

/// The text of a PDF, page after page, pages apart by a blank line (not yet normalised).
pub(super) fn extract(bytes: &[u8], limits: &Limits) -> Result<String, DocError> {
    match catch_unwind(AssertUnwindSafe(|| read(bytes, limits))) {
        Ok(result) => result.map_err(|e| e.into_doc_error(limits)),
        Err(_) => Err(damaged()),
    }
}

fn read(bytes: &[u8], limits: &Limits) -> PdfResult<String> {
    let options = LoadOptions {
        max_decompressed_size: Some(limits.max_decompressed),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options)?;
    // lopdf opens files whose user password is empty (owner-password-only files: anyone
    // may read them) and removes /Encrypt from the trailer; one still there needs a password.
    if doc.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let pages: Vec<_> = doc
        .page_iter()
        .take(limits.max_pages.saturating_add(1))
        .collect();
    if pages.len() > limits.max_pages {
        return Err(PdfError::TooManyPages);
    }

    let overrides = fonts::unicode_overrides(&doc);
    let mut reader = content::Reader {
        doc: &doc,
        fonts: fonts::Fonts::new(&doc, &overrides),
        budget: Budget {
            left: limits.max_decompressed,
        },
        max_chars: limits.max_chars,
    };
    let mut out = String::new();
    let mut chars = 0;
    for id in pages {
        let mut page = content::Page::new(&mut out, chars);
        reader.page(id, &mut page)?;
        chars = page.chars;
        out.push_str("\n\n");
    }
    Ok(dehyphenate(&out))
}

/// Joins words hyphenated across a line break (`manip-\nulation`), as readers of PDFs do: a
/// hyphen (or soft hyphen) between a lowercase letter at a line's end and one at the next
/// line's start goes, with the break.
fn dehyphenate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['-', '\u{ad}']) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let hyphen = after.chars().next().map_or(1, char::len_utf8);
        let next = &after[hyphen..];
        let joins = before.chars().next_back().is_some_and(char::is_lowercase)
            && next
                .strip_prefix('\n')
                .and_then(|n| n.chars().next())
                .is_some_and(char::is_lowercase);
        if joins {
            rest = &next[1..];
        } else {
            out.push_str(&after[..hyphen]);
            rest = next;
        }
    }
    out.push_str(rest);
    out
}

/// What remains of the bytes a document's streams may inflate to while its text is read.
#[derive(Debug)]
pub(super) struct Budget {
    left: usize,
}

impl Budget {
    pub(super) fn left(&self) -> usize {
        self.left
    }

    /// Spends `bytes` of the budget, or fails if that is more than is left.
    pub(super) fn charge(&mut self, bytes: usize) -> PdfResult<()> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or(PdfError::OverDecompressionLimit)?;
        Ok(())
    }
}

pub(super) type PdfResult<T> = Result<T, PdfError>;

/// A stream decoded within the budget: over it is an error, any other failure only costs
/// this stream (`None`), as a damaged font map or form costs its own text, not the file's.
pub(super) fn bounded(decoded: lopdf::Result<Vec<u8>>) -> PdfResult<Option<Vec<u8>>> {
    match decoded {
        Ok(data) => Ok(Some(data)),
        Err(lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. })) => {
            Err(PdfError::OverDecompressionLimit)
        }
        Err(_) => Ok(None),
    }
}

/// Why reading a PDF stopped, before it is put in words for the caller.
#[derive(Debug)]
pub(super) enum PdfError {
    Lopdf(lopdf::Error),
    Encrypted,
    TooManyPages,
    OverDecompressionLimit,
    TooManyChars,
}

impl From<lopdf::Error> for PdfError {
    fn from(e: lopdf::Error) -> Self {
        match e {
            lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. }) => {
                PdfError::OverDecompressionLimit
            }
            lopdf::Error::Decryption(_)
            | lopdf::Error::UnsupportedSecurityHandler(_)
            | lopdf::Error::InvalidPassword => PdfError::Encrypted,
            e => PdfError::Lopdf(e),
        }
    }
}

impl PdfError {
    /// The caller's error. lopdf's own messages are not passed on: some quote the file.
    fn into_doc_error(self, limits: &Limits) -> DocError {
        match self {
            PdfError::Lopdf(lopdf::Error::Parse(ParseError::InvalidFileHeader)) => {
                DocError::Unreadable(
                    "it is not a PDF file (it has no PDF header); check its content type".into(),
                )
            }
            PdfError::Lopdf(_) => damaged(),
            PdfError::Encrypted => DocError::Encrypted,
            PdfError::TooManyPages => DocError::TooLarge(format!(
                "the PDF has more than {} pages (the limit)",
                limits.max_pages
            )),
            PdfError::OverDecompressionLimit => DocError::TooLarge(format!(
                "the PDF's compressed content inflates to more than {} (the limit)",
                bytes(limits.max_decompressed)
            )),
            PdfError::TooManyChars => too_many_chars(limits),
        }
    }
}

fn damaged() -> DocError {
    DocError::Unreadable(
        "the PDF is damaged or its structure could not be parsed; open it and save (or print) \
         it as a new PDF, then upload that"
            .into(),
    )
}

/// A byte count for people: whole MiB or KiB when exact.
fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}
