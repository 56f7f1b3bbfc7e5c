//! Laid-out pages to PDF 1.7 bytes: the catalog (with `/Lang`), the document information
//! (`/Title`), one content stream per page, and per typeface a Type 0 font over a
//! `CIDFontType2` with `Identity-H` encoding, so character codes are glyph ids: the `/W` widths
//! of the glyphs used, a `/ToUnicode` map back to the characters, and the subsetted font file.
//! Strings from the document only ever reach the file as hex (glyph ids, UTF-16 titles) or
//! after a strict check (the language tag), so no text can end a string or a stream early.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use crate::font::Face;
use crate::layout::{Op, PAGE_HEIGHT, PAGE_WIDTH, Page};
use crate::subset;

/// A PDF file being written: objects are numbered before they are written, in any order.
#[derive(Debug, Default)]
struct Objects {
    out: Vec<u8>,
    /// Byte offset of each object, by number - 1; `None` until written.
    offsets: Vec<Option<usize>>,
}

impl Objects {
    fn new() -> Objects {
        let mut out = b"%PDF-1.7\n".to_vec();
        // A comment of high bytes marks the file as binary for transfer tools.
        out.extend_from_slice(b"%\xE2\xE3\xCF\xD3\n");
        Objects {
            out,
            offsets: Vec::new(),
        }
    }

    fn reserve(&mut self) -> usize {
        self.offsets.push(None);
        self.offsets.len()
    }

    fn start(&mut self, id: usize) {
        if let Some(slot) = self.offsets.get_mut(id - 1) {
            *slot = Some(self.out.len());
        }
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn object(&mut self, id: usize, body: &str) {
        self.start(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// A FlateDecode stream; `extra` goes into its dictionary.
    fn stream(&mut self, id: usize, extra: &str, data: &[u8]) {
        let data = deflate(data);
        self.start(id);
        let dict = format!(
            "<< /Length {} /Filter /FlateDecode{extra} >>\nstream\n",
            data.len()
        );
        self.out.extend_from_slice(dict.as_bytes());
        self.out.extend_from_slice(&data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        let xref = self.out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1);
        for offset in &self.offsets {
            match offset {
                Some(at) => table.push_str(&format!("{at:010} 00000 n \n")),
                None => table.push_str("0000000000 65535 f \n"),
            }
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// A number as PDF writes it: at most two decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A text string in the document information: UTF-16BE with a byte order mark, in hex.
fn text_string(s: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

/// A language tag fit for `/Lang` (BCP 47 shape: letters first, then letters, digits and
/// hyphens), or `None`.
pub(crate) fn language_tag(lang: &str) -> Option<&str> {
    let lang = lang.trim();
    let mut chars = lang.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && lang.len() <= 35;
    shaped.then_some(lang)
}

/// A six-letter subset tag, the same for the same glyphs (FNV-1a over their ids).
fn subset_tag(glyphs: &BTreeSet<u16>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in glyphs {
        for byte in id.to_be_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
        .collect()
}

/// The content stream of one page.
fn content(page: &Page) -> Vec<u8> {
    let mut s = String::new();
    for op in &page.ops {
        if let Op::Rule { x0, x1, y, gray } = op {
            let _ = writeln!(
                s,
                "{} G 0.6 w {} {} m {} {} l S",
                num(*gray),
                num(*x0),
                num(*y),
                num(*x1),
                num(*y)
            );
        }
    }
    s.push_str("BT\n");
    let mut font: Option<(Face, String)> = None;
    let mut gray: Option<String> = None;
    for op in &page.ops {
        let Op::Text {
            style,
            x,
            y,
            glyphs,
        } = op
        else {
            continue;
        };
        let size = num(style.size);
        if font.as_ref() != Some(&(style.face, size.clone())) {
            let _ = writeln!(s, "/{} {size} Tf", resource_name(style.face));
            font = Some((style.face, size));
        }
        let g = num(style.gray);
        if gray.as_ref() != Some(&g) {
            let _ = writeln!(s, "{g} g");
            gray = Some(g);
        }
        let _ = write!(s, "1 0 0 1 {} {} Tm <", num(*x), num(*y));
        for glyph in glyphs {
            let _ = write!(s, "{:04X}", glyph.id);
        }
        s.push_str("> Tj\n");
    }
    s.push_str("ET\n");
    s.into_bytes()
}

fn resource_name(face: Face) -> &'static str {
    match face {
        Face::Regular => "F1",
        Face::Bold => "F2",
    }
}

/// Each face's glyphs and the character each stands for (the first one seen, when several
/// characters share a glyph).
fn used_glyphs(pages: &[Page]) -> BTreeMap<Face, BTreeMap<u16, char>> {
    let mut used: BTreeMap<Face, BTreeMap<u16, char>> = BTreeMap::new();
    for op in pages.iter().flat_map(|p| &p.ops) {
        if let Op::Text { style, glyphs, .. } = op {
            let map = used.entry(style.face).or_default();
            for g in glyphs {
                map.entry(g.id).or_insert(g.ch);
            }
        }
    }
    used
}

/// `/W`: the widths of the glyphs used, consecutive ids grouped.
fn widths(face: Face, glyphs: &BTreeMap<u16, char>) -> String {
    let font = face.font();
    let mut s = String::from("[");
    let mut previous: Option<u16> = None;
    for &id in glyphs.keys() {
        if previous.is_none_or(|p| p.checked_add(1) != Some(id)) {
            if previous.is_some() {
                s.push(']');
            }
            let _ = write!(s, " {id} [");
        } else {
            s.push(' ');
        }
        let _ = write!(s, "{}", font.width(id));
        previous = Some(id);
    }
    if previous.is_some() {
        s.push(']');
    }
    s.push_str(" ]");
    s
}

/// The `/ToUnicode` CMap: each glyph id back to its character.
fn to_unicode(glyphs: &BTreeMap<u16, char>) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = glyphs.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (id, ch) in chunk {
            let _ = write!(s, "<{id:04X}> <");
            for unit in ch.encode_utf16(&mut [0; 2]) {
                let _ = write!(s, "{unit:04X}");
            }
            s.push_str(">\n");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// Writes one face's font objects; gives the number of its Type 0 font dictionary.
fn font(objects: &mut Objects, face: Face, glyphs: &BTreeMap<u16, char>) -> usize {
    let font = face.font();
    let ids: BTreeSet<u16> = glyphs.keys().copied().collect();
    let name = format!("{}+{}", subset_tag(&ids), font.name);
    let [type0, cid, descriptor, file, cmap] = [(); 5].map(|()| objects.reserve());

    objects.object(
        type0,
        &format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
             /DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>"
        ),
    );
    objects.object(
        cid,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} 0 R /CIDToGIDMap /Identity /DW 1000 /W {} >>",
            widths(face, glyphs)
        ),
    );
    let [x0, y0, x1, y1] = font.bbox();
    let (ascent, descent) = font.ascent_descent();
    let (weight, stem) = match face {
        Face::Regular => (400, 80),
        Face::Bold => (700, 140),
    };
    objects.object(
        descriptor,
        &format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{x0} {y0} {x1} {y1}] \
             /ItalicAngle 0 /Ascent {ascent} /Descent {descent} /CapHeight {} /FontWeight {weight} \
             /StemV {stem} /FontFile2 {file} 0 R >>",
            font.cap_height()
        ),
    );
    let program = subset::subset(font, &ids);
    objects.stream(file, &format!(" /Length1 {}", program.len()), &program);
    objects.stream(cmap, "", to_unicode(glyphs).as_bytes());
    type0
}

/// The whole file.
pub(crate) fn write(pages: &[Page], title: &str, language: Option<&str>) -> Vec<u8> {
    let mut objects = Objects::new();
    let [catalog, tree, info, resources] = [(); 4].map(|()| objects.reserve());

    let mut fonts = String::new();
    for (face, glyphs) in used_glyphs(pages) {
        let id = font(&mut objects, face, &glyphs);
        let _ = write!(fonts, " /{} {id} 0 R", resource_name(face));
    }
    objects.object(resources, &format!("<< /Font <<{fonts} >> >>"));

    let mut kids = String::new();
    for page in pages {
        let [page_id, content_id] = [(); 2].map(|()| objects.reserve());
        objects.stream(content_id, "", &content(page));
        objects.object(
            page_id,
            &format!(
                "<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {} {}] \
                 /Resources {resources} 0 R /Contents {content_id} 0 R >>",
                num(PAGE_WIDTH),
                num(PAGE_HEIGHT)
            ),
        );
        let _ = write!(kids, " {page_id} 0 R");
    }
    objects.object(
        tree,
        &format!("<< /Type /Pages /Kids [{kids} ] /Count {} >>", pages.len()),
    );

    let lang = language
        .and_then(language_tag)
        .map(|tag| format!(" /Lang ({tag})"))
        .unwrap_or_default();
    objects.object(
        catalog,
        &format!(
            "<< /Type /Catalog /Pages {tree} 0 R /ViewerPreferences << /DisplayDocTitle true >>{lang} >>"
        ),
    );
    objects.object(
        info,
        &format!("<< /Title {} /Producer (meetvault) >>", text_string(title)),
    );
    objects.finish(catalog, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_two_decimals() {
        assert_eq!(num(595.28), "595.28");
        assert_eq!(num(10.0), "10");
        assert_eq!(num(0.45), "0.45");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.345_67), "12.35");
    }

    #[test]
    fn titles_are_utf16_hex() {
        assert_eq!(text_string("A é"), "<FEFF0041002000E9>");
        assert_eq!(text_string(") Tj"), "<FEFF002900200054006A>");
    }

    #[test]
    fn only_tag_shaped_languages_reach_lang() {
        assert_eq!(language_tag("en"), Some("en"));
        assert_eq!(language_tag(" pt-BR "), Some("pt-BR"));
        for bad in ["", "en US", "(en)", "fr)", "1en", "ß", &"a".repeat(36)] {
            assert_eq!(language_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn to_unicode_maps_ids_to_utf16_in_blocks_of_a_hundred() {
        let glyphs: BTreeMap<u16, char> = (1..=150u16)
            .map(|i| (i, char::from_u32(0x41 + u32::from(i)).unwrap()))
            .chain([(500, '\u{1D400}')])
            .collect();
        let cmap = to_unicode(&glyphs);
        assert!(cmap.contains("100 beginbfchar") && cmap.contains("51 beginbfchar"));
        assert!(cmap.contains("<0001> <0042>"));
        assert!(cmap.contains("<01F4> <D835DC00>"));
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let page = Page {
            ops: vec![Op::Text {
                style: crate::text::Style::new(Face::Bold, 12.0, 0.0),
                x: 10.0,
                y: 10.0,
                glyphs: crate::text::glyphs(Face::Bold, "Hi"),
            }],
        };
        let pdf = write(&[page.clone(), page], "Hi", Some("en"));
        // Everything from the cross-reference table on is ASCII.
        let start = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
        let tail = std::str::from_utf8(&pdf[start..]).unwrap();
        let xref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        assert!(table.starts_with("xref\n0 "));
        let mut lines = table.lines().skip(1);
        let count: usize = lines.next().unwrap()[2..].parse().unwrap();
        let entries: Vec<&str> = lines.skip(1).take(count - 1).collect();
        assert_eq!(entries.len(), count - 1);
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry.len(), 19, "{entry:?}");
            assert!(entry.ends_with(" 00000 n "), "object {} not written", i + 1);
            let at: usize = entry[..10].parse().unwrap();
            assert!(pdf[at..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()));
        }
    }

    #[test]
    fn widths_group_consecutive_ids() {
        let font = Face::Regular.font();
        let glyphs: BTreeMap<u16, char> =
            "ABD".chars().map(|c| (font.glyph(c).unwrap(), c)).collect();
        let ids: Vec<u16> = glyphs.keys().copied().collect();
        let w = widths(Face::Regular, &glyphs);
        // A and B are neighbours in DejaVu; D is not next to B.
        assert!(w.starts_with(&format!("[ {} [", ids[0])), "{w}");
        assert_eq!(w.matches('[').count(), 3, "{w}");
    }
}
