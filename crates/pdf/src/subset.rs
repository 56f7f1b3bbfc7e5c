//! Font subsetting: a TrueType file that keeps only the outlines of the glyphs a document uses
//! (with the components of composite glyphs, and glyph 0). Glyph ids stay as they are, so the
//! PDF can address glyphs by their id (`/CIDToGIDMap /Identity`): unused glyphs become empty
//! entries in a rebuilt `loca`. Tables a PDF viewer never reads from an embedded font (layout,
//! kerning, glyph names, the character map) are left out.

use std::collections::BTreeSet;

use crate::font::{Font, i16_at, u16_at};

/// Tables copied as they are: metrics and hinting programs. (`name` is kept too, as
/// [`windows_names`] leaves it: it carries the copyright and license notices the font license
/// asks every copy to keep.)
const COPIED: [&[u8; 4]; 7] = [
    b"OS/2", b"cvt ", b"fpgm", b"gasp", b"hhea", b"maxp", b"prep",
];

/// Composite glyph flags (OpenType `glyf`).
const ARG_1_AND_2_ARE_WORDS: u16 = 0x0001;
const WE_HAVE_A_SCALE: u16 = 0x0008;
const MORE_COMPONENTS: u16 = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE: u16 = 0x0040;
const WE_HAVE_A_TWO_BY_TWO: u16 = 0x0080;

/// The glyphs a composite glyph is built from (none for a simple or empty glyph).
fn components(outline: &[u8]) -> Vec<u16> {
    let mut found = Vec::new();
    if outline.len() < 10 || i16_at(outline, 0) >= 0 {
        return found;
    }
    let mut at = 10;
    while at + 4 <= outline.len() {
        let flags = u16_at(outline, at);
        found.push(u16_at(outline, at + 2));
        at += 4;
        at += if flags & ARG_1_AND_2_ARE_WORDS != 0 {
            4
        } else {
            2
        };
        at += if flags & WE_HAVE_A_SCALE != 0 {
            2
        } else if flags & WE_HAVE_AN_X_AND_Y_SCALE != 0 {
            4
        } else if flags & WE_HAVE_A_TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE_COMPONENTS == 0 {
            break;
        }
    }
    found
}

/// The glyphs to keep: those used, what composites among them are made of, and glyph 0.
pub(crate) fn closure(font: &Font, used: &BTreeSet<u16>) -> BTreeSet<u16> {
    let mut keep: BTreeSet<u16> = used
        .iter()
        .copied()
        .filter(|&g| g < font.num_glyphs)
        .collect();
    keep.insert(0);
    let mut todo: Vec<u16> = keep.iter().copied().collect();
    while let Some(id) = todo.pop() {
        for part in components(font.outline(id)) {
            if part < font.num_glyphs && keep.insert(part) {
                todo.push(part);
            }
        }
    }
    keep
}

/// A TrueType file with the outlines of `used` (see the module doc) and nothing else.
pub(crate) fn subset(font: &Font, used: &BTreeSet<u16>) -> Vec<u8> {
    let keep = closure(font, used);
    let mut glyf = Vec::new();
    let mut loca = Vec::with_capacity(4 * (usize::from(font.num_glyphs) + 1));
    for id in 0..font.num_glyphs {
        loca.extend_from_slice(&offset(glyf.len()));
        if keep.contains(&id) {
            glyf.extend_from_slice(font.outline(id));
            glyf.resize(glyf.len().next_multiple_of(4), 0);
        }
    }
    loca.extend_from_slice(&offset(glyf.len()));

    // Metrics of dropped glyphs are zeroed (they compress to nothing); `/W` holds the widths.
    let mut hmtx = font.table(b"hmtx").to_vec();
    let long = usize::from(u16_at(font.table(b"hhea"), 34));
    for id in (0..font.num_glyphs).filter(|id| !keep.contains(id)) {
        let i = usize::from(id);
        let range = if i < long {
            4 * i..4 * i + 4
        } else {
            4 * long + 2 * (i - long)..4 * long + 2 * (i - long) + 2
        };
        if let Some(bytes) = hmtx.get_mut(range) {
            bytes.fill(0);
        }
    }

    let mut head = font.table(b"head").to_vec();
    if head.len() >= 54 {
        head[8..12].fill(0); // checkSumAdjustment, set once the file is assembled
        head[50..52].copy_from_slice(&1u16.to_be_bytes()); // long `loca` offsets
    }

    // `post` version 3: the same metrics, no glyph names.
    let mut post = font
        .table(b"post")
        .get(..32)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    if post.len() == 32 {
        post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
    }

    let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"glyf", glyf),
        (*b"head", head),
        (*b"hmtx", hmtx),
        (*b"loca", loca),
        (*b"post", post),
    ];
    for tag in COPIED {
        if font.has_table(tag) {
            tables.push((*tag, font.table(tag).to_vec()));
        }
    }
    tables.push((*b"name", windows_names(font.table(b"name"))));
    tables.retain(|(_, data)| !data.is_empty());
    tables.sort_by_key(|t| t.0);
    assemble(tables)
}

/// The `name` table with only its Windows (platform 3) records: every notice is there twice,
/// once for the Mac, and the license text alone is some 4,700 characters. A table of another
/// format, or with no Windows records, is kept whole.
fn windows_names(name: &[u8]) -> Vec<u8> {
    let count = usize::from(u16_at(name, 2));
    let storage = usize::from(u16_at(name, 4));
    let records: Vec<&[u8]> = (0..count)
        .filter_map(|i| name.get(6 + 12 * i..18 + 12 * i))
        .filter(|r| u16_at(r, 0) == 3)
        .collect();
    if u16_at(name, 0) != 0 || records.is_empty() {
        return name.to_vec();
    }
    let kept = u16::try_from(records.len()).unwrap_or(0);
    let mut head = Vec::new();
    let mut strings = Vec::new();
    head.extend_from_slice(&0u16.to_be_bytes());
    head.extend_from_slice(&kept.to_be_bytes());
    head.extend_from_slice(&(6 + 12 * kept).to_be_bytes());
    for record in records {
        let len = usize::from(u16_at(record, 8));
        let from = storage + usize::from(u16_at(record, 10));
        let text = name.get(from..from + len).unwrap_or(&[]);
        head.extend_from_slice(&record[..8]);
        head.extend_from_slice(&u16::try_from(text.len()).unwrap_or(0).to_be_bytes());
        head.extend_from_slice(&u16::try_from(strings.len()).unwrap_or(0).to_be_bytes());
        strings.extend_from_slice(text);
    }
    head.extend_from_slice(&strings);
    head
}

fn offset(at: usize) -> [u8; 4] {
    u32::try_from(at).unwrap_or(u32::MAX).to_be_bytes()
}

/// The OpenType checksum: the sum of the big-endian words, the tail padded with zeros.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// Writes the table directory and the tables (tags sorted, each padded to four bytes).
fn assemble(tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    let count = u16::try_from(tables.len()).unwrap_or(0);
    let entry_selector = 15 - count.max(1).leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [
        count,
        search_range,
        entry_selector,
        count * 16 - search_range,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut at = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&offset(at));
        out.extend_from_slice(&offset(data.len()));
        if tag == b"head" {
            head_at = Some(at);
        }
        at += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(head) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        if let Some(field) = out.get_mut(head + 8..head + 12) {
            field.copy_from_slice(&adjustment.to_be_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::{Face, u32_at};

    fn reparse(bytes: Vec<u8>) -> Font {
        Font::new(Box::leak(bytes.into_boxed_slice()), "subset")
    }

    #[test]
    fn a_subset_keeps_the_used_outlines_and_ids_and_drops_the_rest() {
        let font = Face::Regular.font();
        let used: BTreeSet<u16> = "Hé".chars().map(|c| font.glyph(c).unwrap()).collect();
        let bytes = subset(font, &used);
        // What the PDF holds is compressed: the emptied `loca` and `hmtx` entries vanish.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &bytes).unwrap();
        let compressed = z.finish().unwrap().len();
        assert!(
            compressed < 12_000,
            "subset is {compressed} bytes compressed"
        );
        assert_eq!(checksum(&bytes), 0xB1B0_AFBA, "whole-file checksum");
        let small = reparse(bytes);
        assert_eq!(small.num_glyphs, font.num_glyphs);
        for id in &used {
            assert!(
                small.outline(*id).starts_with(font.outline(*id)),
                "glyph {id}"
            );
        }
        assert!(small.outline(0).starts_with(font.outline(0)));
        let x = font.glyph('x').unwrap();
        assert!(!font.outline(x).is_empty());
        assert!(small.outline(x).is_empty(), "unused glyph kept");
        assert!(!small.has_table(b"cmap") && !small.has_table(b"GPOS"));
        assert_eq!(u32_at(small.table(b"post"), 0), 0x0003_0000);
    }

    /// The records of a `name` table: (platform, name id, text).
    fn names(table: &[u8]) -> Vec<(u16, u16, String)> {
        let storage = usize::from(u16_at(table, 4));
        (0..usize::from(u16_at(table, 2)))
            .map(|i| {
                let r = 6 + 12 * i;
                let len = usize::from(u16_at(table, r + 8));
                let at = storage + usize::from(u16_at(table, r + 10));
                let bytes = &table[at..at + len];
                let text = if u16_at(table, r) == 3 {
                    let units: Vec<u16> = (0..len / 2).map(|k| u16_at(bytes, 2 * k)).collect();
                    String::from_utf16(&units).unwrap()
                } else {
                    bytes.iter().map(|&b| char::from(b)).collect()
                };
                (u16_at(table, r), u16_at(table, r + 6), text)
            })
            .collect()
    }

    #[test]
    fn the_subset_keeps_the_copyright_and_license_notices() {
        for face in Face::ALL {
            let font = face.font();
            let original = names(font.table(b"name"));
            let small = reparse(subset(font, &BTreeSet::new()));
            let kept = names(small.table(b"name"));
            let windows: Vec<_> = original.into_iter().filter(|n| n.0 == 3).collect();
            assert_eq!(kept, windows);
            let text = |id: u16| kept.iter().find(|n| n.1 == id).unwrap().2.clone();
            assert!(text(0).starts_with("Copyright (c) 2003 by Bitstream, Inc."));
            assert!(
                text(13).contains("Arev Fonts Copyright"),
                "the license text"
            );
        }
    }

    #[test]
    fn composite_glyphs_keep_their_components() {
        let font = Face::Regular.font();
        // DejaVu builds many accented letters from a base and a mark.
        let composite = "éüñőčąŒ"
            .chars()
            .map(|c| font.glyph(c).unwrap())
            .find(|&id| !components(font.outline(id)).is_empty())
            .expect("some accented letter is a composite");
        let parts = components(font.outline(composite));
        let keep = closure(font, &BTreeSet::from([composite]));
        for part in &parts {
            assert!(keep.contains(part), "component {part} dropped");
        }
        let small = reparse(subset(font, &BTreeSet::from([composite])));
        for part in parts {
            assert!(small.outline(part).starts_with(font.outline(part)));
        }
    }
}
