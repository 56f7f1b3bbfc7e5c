//! PDF extraction on files written here byte by byte (so that what they hold is known
//! exactly), and on hostile ones: random bytes, damaged and truncated files, decompression
//! bombs, limits.

use std::io::Write;

use flate2::{Compression, write::ZlibEncoder};

use super::super::{DocError, Format, Limits, extract};

/// A minimal PDF writer: numbered objects, a flat page tree, a classic xref table.
#[derive(Default)]
struct Pdf {
    objects: Vec<Vec<u8>>,
    pages: Vec<(usize, String)>,
}

impl Pdf {
    fn obj(&mut self, body: &[u8]) -> usize {
        self.objects.push(body.to_vec());
        self.objects.len()
    }

    fn stream(&mut self, dict: &str, data: &[u8]) -> usize {
        let mut body = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.obj(&body)
    }

    fn flate(&mut self, dict: &str, data: &[u8]) -> usize {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(data).unwrap();
        self.stream(
            &format!("/Filter /FlateDecode {dict}"),
            &z.finish().unwrap(),
        )
    }

    /// Helvetica in WinAnsiEncoding; every glyph 500/1000 wide when `widths` is set.
    fn helvetica(&mut self, widths: bool) -> usize {
        let widths = if widths {
            format!(
                "/FirstChar 32 /LastChar 126 /Widths [{}]",
                "500 ".repeat(95)
            )
        } else {
            String::new()
        };
        self.obj(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding \
                 {widths} >>"
            )
            .as_bytes(),
        )
    }

    fn page(&mut self, content: usize, resources: &str) {
        self.pages.push((content, resources.to_owned()));
    }

    fn finish(mut self) -> Vec<u8> {
        let base = self.objects.len();
        let pages_id = base + self.pages.len() + 1;
        for (content, resources) in std::mem::take(&mut self.pages) {
            self.obj(
                format!(
                    "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 612 792] \
                     /Contents {content} 0 R /Resources {resources} >>"
                )
                .as_bytes(),
            );
        }
        let kids: String = (base + 1..pages_id).map(|i| format!("{i} 0 R ")).collect();
        let count = pages_id - base - 1;
        self.obj(format!("<< /Type /Pages /Kids [{kids}] /Count {count} >>").as_bytes());
        let catalog = self.obj(format!("<< /Type /Catalog /Pages {pages_id} 0 R >>").as_bytes());

        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                self.objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}

/// A PDF whose pages have these content streams, with /F1 Helvetica (with widths).
fn text_pdf(pages: &[&str], compressed: bool) -> Vec<u8> {
    let mut pdf = Pdf::default();
    let font = pdf.helvetica(true);
    for content in pages {
        let id = if compressed {
            pdf.flate("", content.as_bytes())
        } else {
            pdf.stream("", content.as_bytes())
        };
        pdf.page(id, &format!("<< /Font << /F1 {font} 0 R >> >>"));
    }
    pdf.finish()
}

fn pdf_text(bytes: &[u8]) -> Result<String, DocError> {
    extract(Format::Pdf, bytes, &Limits::default())
}

#[test]
fn lines_paragraphs_and_pages_are_kept_apart() {
    let page1 = "BT /F1 10 Tf 72 700 Td (First line,) Tj 0 -12 Td (second line.) Tj \
                 0 -30 Td (A new paragraph.) Tj ET";
    let page2 = "BT /F1 10 Tf 12 TL 72 700 Td (Page two) Tj T* (goes on) Tj ET";
    for compressed in [false, true] {
        let text = pdf_text(&text_pdf(&[page1, page2], compressed)).unwrap();
        assert_eq!(
            text,
            "First line,\nsecond line.\n\nA new paragraph.\n\nPage two\ngoes on"
        );
    }
}

#[test]
fn words_hyphenated_at_a_line_end_are_joined() {
    let content = "BT /F1 10 Tf 12 TL 72 700 Td (Distinguished manip-) Tj T* (ulation, on-) Tj \
                   T* (Call and well-) Tj T* (- known) Tj ET";
    assert_eq!(
        pdf_text(&text_pdf(&[content], false)).unwrap(),
        "Distinguished manipulation, on-\nCall and well-\n- known"
    );
    assert_eq!(
        super::dehyphenate("a-\nb x\u{ad}\ny -\nz é-\nü-"),
        "ab xy -\nz éü-"
    );
}

#[test]
fn words_placed_apart_get_a_space_and_pieces_of_one_word_do_not() {
    // Each glyph is 5 units wide at size 10: "Hel" ends at 115, where "lo" is placed.
    let content = "BT /F1 10 Tf 100 700 Td (Hel) Tj 15 0 Td (lo) Tj 30 0 Td (world) Tj \
                   1 0 0 1 300 700 Tm (again) Tj ET";
    assert_eq!(
        pdf_text(&text_pdf(&[content], false)).unwrap(),
        "Hello world again"
    );
}

#[test]
fn tj_kerning_is_a_space_only_when_wide() {
    let content = "BT /F1 10 Tf 72 700 Td [(Ke) 40 (rning) -60 (kept) -300 (apart)] TJ ET";
    assert_eq!(
        pdf_text(&text_pdf(&[content], false)).unwrap(),
        "Kerningkept apart"
    );
}

#[test]
fn quote_operators_and_transformed_text_are_read() {
    let content = "q 2 0 0 2 0 0 cm BT /F1 10 Tf 14 TL 36 350 Td (Scaled) Tj (one) ' \
                   1 0.5 (two) \" ET Q";
    assert_eq!(
        pdf_text(&text_pdf(&[content], false)).unwrap(),
        "Scaled\none\ntwo"
    );
}

#[test]
fn text_in_form_xobjects_is_read() {
    let mut pdf = Pdf::default();
    let font = pdf.helvetica(false);
    let form = pdf.stream(
        &format!(
            "/Type /XObject /Subtype /Form /BBox [0 0 500 500] \
             /Resources << /Font << /F9 {font} 0 R >> >>"
        ),
        b"BT /F9 12 Tf 0 0 Td (Inside the form) Tj ET",
    );
    let content = pdf.stream("", b"BT /F9 12 Tf ET q 1 0 0 1 50 600 cm /X1 Do Q");
    pdf.page(content, &format!("<< /XObject << /X1 {form} 0 R >> >>"));
    assert_eq!(pdf_text(&pdf.finish()).unwrap(), "Inside the form");
}

#[test]
fn a_tounicode_map_is_preferred_to_the_encoding() {
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
                 /CMapName /T def /CMapType 2 def\n1 begincodespacerange\n<00> <FF>\n\
                 endcodespacerange\n2 beginbfchar\n<41> <0058>\n<42> <00E9>\nendbfchar\n\
                 endcmap CMapName currentdict /CMap defineresource pop end end";
    let mut pdf = Pdf::default();
    let map = pdf.stream("", cmap);
    let font = pdf.obj(
        format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica \
             /Encoding /WinAnsiEncoding /ToUnicode {map} 0 R >>"
        )
        .as_bytes(),
    );
    let content = pdf.stream("", b"BT /F1 10 Tf 72 700 Td (AB) Tj ET");
    pdf.page(content, &format!("<< /Font << /F1 {font} 0 R >> >>"));
    assert_eq!(pdf_text(&pdf.finish()).unwrap(), "Xé");
}

#[test]
fn a_pdf_without_text_has_no_text() {
    let mut pdf = Pdf::default();
    let image = pdf.stream(
        "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray \
         /BitsPerComponent 8",
        b"\x80",
    );
    let content = pdf.stream("", b"q 612 0 0 792 0 0 cm /Im1 Do Q");
    pdf.page(content, &format!("<< /XObject << /Im1 {image} 0 R >> >>"));
    let err = pdf_text(&pdf.finish()).unwrap_err();
    assert!(matches!(err, DocError::NoText), "{err:?}");
}

#[test]
fn more_pages_than_the_limit_is_too_large() {
    let bytes = text_pdf(&["BT /F1 9 Tf (a) Tj ET"; 3], false);
    let limits = |max_pages| Limits {
        max_pages,
        ..Limits::default()
    };
    assert_eq!(
        extract(Format::Pdf, &bytes, &limits(3)).unwrap(),
        "a\n\na\n\na"
    );
    let err = extract(Format::Pdf, &bytes, &limits(2)).unwrap_err();
    assert!(
        matches!(&err, DocError::TooLarge(m) if m.contains("more than 2 pages")),
        "{err:?}"
    );
}

#[test]
fn text_over_max_chars_stops_the_reading_early() {
    let page = format!("BT /F1 9 Tf ({}) Tj ET", "x".repeat(1000));
    let bytes = text_pdf(&vec![page.as_str(); 50], true);
    let limits = Limits {
        max_chars: 4_500,
        ..Limits::default()
    };
    let err = extract(Format::Pdf, &bytes, &limits).unwrap_err();
    assert!(
        matches!(&err, DocError::TooLarge(m) if m.contains("4500 characters")),
        "{err:?}"
    );
}

#[test]
fn a_zip_bomb_content_stream_is_too_large() {
    // 80 MiB of spaces (a valid, empty content stream) compress to about 80 KiB.
    let bomb = vec![b' '; 80 << 20];
    let mut pdf = Pdf::default();
    let font = pdf.helvetica(false);
    let content = pdf.flate("", &bomb);
    pdf.page(content, &format!("<< /Font << /F1 {font} 0 R >> >>"));
    let bytes = pdf.finish();
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());

    let started = std::time::Instant::now();
    let err = pdf_text(&bytes).unwrap_err();
    assert!(
        matches!(&err, DocError::TooLarge(m) if m.contains("inflates to more than 64 MiB")),
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn the_decompression_budget_is_for_the_whole_document() {
    // Four pages of 300 KB each: every page is under 1 MiB, together they are not.
    let page = format!("BT /F1 9 Tf (a) Tj ET{}", " ".repeat(300_000));
    let bytes = text_pdf(&[page.as_str(); 4], true);
    let limits = |max_decompressed| Limits {
        max_decompressed,
        ..Limits::default()
    };
    assert!(extract(Format::Pdf, &bytes, &limits(2 << 20)).is_ok());
    let err = extract(Format::Pdf, &bytes, &limits(1 << 20)).unwrap_err();
    assert!(
        matches!(&err, DocError::TooLarge(m) if m.contains("1 MiB")),
        "{err:?}"
    );
}

#[test]
fn a_bomb_in_a_font_map_is_too_large() {
    let mut pdf = Pdf::default();
    let map = pdf.flate("", &vec![b'%'; 2 << 20]);
    let font = pdf.obj(
        format!("<< /Type /Font /Subtype /TrueType /BaseFont /X /ToUnicode {map} 0 R >>")
            .as_bytes(),
    );
    let content = pdf.stream("", b"BT /F1 10 Tf (AB) Tj ET");
    pdf.page(content, &format!("<< /Font << /F1 {font} 0 R >> >>"));
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    let err = extract(Format::Pdf, &pdf.finish(), &limits).unwrap_err();
    assert!(matches!(err, DocError::TooLarge(_)), "{err:?}");
}

#[test]
fn files_that_are_not_pdfs_are_unreadable() {
    for bytes in [&b""[..], b"hello world", b"<html>%PDF</html>", b"%PDF-"] {
        let err = pdf_text(bytes).unwrap_err();
        assert!(matches!(err, DocError::Unreadable(_)), "{bytes:?}: {err:?}");
    }
    let err = pdf_text(b"GIF89a not a pdf").unwrap_err();
    assert!(err.to_string().contains("not a PDF file"), "{err}");
}

/// A small xorshift generator: the same "random" bytes on every run.
fn random_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_unreadable_and_never_panic() {
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    for i in 0..300 {
        let len = (i * 37) % 4096;
        let mut bytes = random_bytes(&mut seed, len);
        if i % 2 == 0 {
            bytes.splice(0..0, b"%PDF-1.7\n".iter().copied());
        }
        let err = pdf_text(&bytes).unwrap_err();
        assert!(matches!(err, DocError::Unreadable(_)), "input {i}: {err:?}");
    }
}

#[test]
fn damaged_and_truncated_pdfs_never_panic() {
    let pages = ["BT /F1 10 Tf 72 700 Td (Damaged but maybe readable) Tj ET"; 3];
    let good = text_pdf(&pages, true);
    let mut seed = 42;
    for i in 0..400 {
        let mut bytes = good.clone();
        let flips = random_bytes(&mut seed, 16);
        for pair in flips.chunks(2).take(1 + i % 8) {
            let at = (usize::from(pair[0]) << 8 | usize::from(pair[1])) % bytes.len();
            bytes[at] = random_bytes(&mut seed, 1)[0];
        }
        // Anything but a panic, a password or a limit: the file is small and has none.
        let result = pdf_text(&bytes);
        assert!(
            matches!(
                result,
                Ok(_) | Err(DocError::Unreadable(_) | DocError::NoText)
            ),
            "flip {i}: {result:?}"
        );
    }
    for len in (0..good.len()).step_by(7) {
        let result = pdf_text(&good[..len]);
        assert!(
            matches!(
                result,
                Ok(_) | Err(DocError::Unreadable(_) | DocError::NoText)
            ),
            "truncated to {len}: {result:?}"
        );
    }
    let err = pdf_text(&good[..good.len() / 3]).unwrap_err();
    assert!(
        matches!(err, DocError::Unreadable(_) | DocError::NoText),
        "{err:?}"
    );
}
