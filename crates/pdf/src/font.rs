//! Reading the two embedded TrueType fonts: the table directory, the character map (formats 4
//! and 12), advance widths, outlines by glyph id and the few metrics a PDF font descriptor
//! needs. Total by design: a table that is missing or cut short reads as empty or zero, so a bad
//! font file could only cost glyphs, never panic (the unit tests pin what the real files hold).

use std::ops::Range;
use std::sync::LazyLock;

/// The two typefaces a document is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Face {
    Regular,
    Bold,
}

impl Face {
    #[cfg(test)]
    pub(crate) const ALL: [Face; 2] = [Face::Regular, Face::Bold];

    pub(crate) fn font(self) -> &'static Font {
        static REGULAR: LazyLock<Font> =
            LazyLock::new(|| Font::new(include_bytes!("../fonts/DejaVuSans.ttf"), "DejaVuSans"));
        static BOLD: LazyLock<Font> = LazyLock::new(|| {
            Font::new(
                include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
                "DejaVuSans-Bold",
            )
        });
        match self {
            Face::Regular => &REGULAR,
            Face::Bold => &BOLD,
        }
    }
}

pub(crate) fn u16_at(data: &[u8], at: usize) -> u16 {
    data.get(at..at.saturating_add(2))
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn i16_at(data: &[u8], at: usize) -> i16 {
    u16_at(data, at) as i16
}

pub(crate) fn u32_at(data: &[u8], at: usize) -> u32 {
    data.get(at..at.saturating_add(4))
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Where the character map this font is read through sits, as a range of the file.
#[derive(Debug)]
enum Cmap {
    /// Segment mapping to delta values: the Basic Multilingual Plane.
    Segments(Range<usize>),
    /// Segmented coverage: all of Unicode.
    Groups(Range<usize>),
    Missing,
}

/// A parsed TrueType font (`glyf` outlines); the bytes are the embedded file's.
#[derive(Debug)]
pub(crate) struct Font {
    pub(crate) data: &'static [u8],
    /// The PostScript name PDF font dictionaries carry (after the subset tag).
    pub(crate) name: &'static str,
    tables: Vec<([u8; 4], Range<usize>)>,
    pub(crate) units_per_em: u16,
    pub(crate) num_glyphs: u16,
    num_h_metrics: u16,
    long_loca: bool,
    cmap: Cmap,
}

impl Font {
    pub(crate) fn new(data: &'static [u8], name: &'static str) -> Font {
        let count = usize::from(u16_at(data, 4));
        let tables = (0..count)
            .map(|i| {
                let record = 12 + 16 * i;
                let mut tag = [0u8; 4];
                if let Some(t) = data.get(record..record + 4) {
                    tag.copy_from_slice(t);
                }
                let start = u32_at(data, record + 8) as usize;
                let end = start.saturating_add(u32_at(data, record + 12) as usize);
                let range = if end <= data.len() { start..end } else { 0..0 };
                (tag, range)
            })
            .collect();
        let mut font = Font {
            data,
            name,
            tables,
            units_per_em: 0,
            num_glyphs: 0,
            num_h_metrics: 0,
            long_loca: false,
            cmap: Cmap::Missing,
        };
        let head = font.table(b"head");
        font.units_per_em = u16_at(head, 18).max(16);
        font.long_loca = i16_at(head, 50) == 1;
        font.num_glyphs = u16_at(font.table(b"maxp"), 4);
        font.num_h_metrics = u16_at(font.table(b"hhea"), 34);
        font.cmap = font.find_cmap();
        font
    }

    /// A table's bytes, empty when the font has none.
    pub(crate) fn table(&self, tag: &[u8; 4]) -> &'static [u8] {
        let data: &'static [u8] = self.data;
        self.tables
            .iter()
            .find(|(t, _)| t == tag)
            .and_then(|(_, r)| data.get(r.clone()))
            .unwrap_or(&[])
    }

    pub(crate) fn has_table(&self, tag: &[u8; 4]) -> bool {
        self.tables.iter().any(|(t, r)| t == tag && !r.is_empty())
    }

    /// The Unicode subtable to read: full-range groups first, then the BMP segments.
    fn find_cmap(&self) -> Cmap {
        let cmap = self.table(b"cmap");
        let Some(base) = self
            .tables
            .iter()
            .find(|(t, _)| t == b"cmap")
            .map(|(_, r)| r.start)
        else {
            return Cmap::Missing;
        };
        let count = usize::from(u16_at(cmap, 2));
        let mut best: (u8, Cmap) = (0, Cmap::Missing);
        for i in 0..count {
            let record = 4 + 8 * i;
            let platform = u16_at(cmap, record);
            let encoding = u16_at(cmap, record + 2);
            let offset = u32_at(cmap, record + 4) as usize;
            let format = u16_at(cmap, offset);
            let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10));
            let (rank, found) = match format {
                12 if unicode => {
                    let len = u32_at(cmap, offset + 4) as usize;
                    (
                        2,
                        Cmap::Groups(base + offset..base + offset.saturating_add(len)),
                    )
                }
                4 if unicode => {
                    let len = usize::from(u16_at(cmap, offset + 2));
                    (
                        1,
                        Cmap::Segments(base + offset..base + offset.saturating_add(len)),
                    )
                }
                _ => continue,
            };
            if rank > best.0 {
                best = (rank, found);
            }
        }
        best.1
    }

    /// The glyph for a character, `None` when the font has none (glyph 0 is "missing").
    pub(crate) fn glyph(&self, c: char) -> Option<u16> {
        let code = u32::from(c);
        let id = match &self.cmap {
            Cmap::Groups(r) => groups_lookup(self.data.get(r.clone())?, code),
            Cmap::Segments(r) => segments_lookup(self.data.get(r.clone())?, code),
            Cmap::Missing => None,
        }?;
        (id != 0 && id < self.num_glyphs).then_some(id)
    }

    /// Advance width in font units.
    fn advance_units(&self, id: u16) -> u16 {
        let last = self.num_h_metrics.saturating_sub(1);
        u16_at(self.table(b"hmtx"), 4 * usize::from(id.min(last)))
    }

    /// Advance width in thousandths of the font size: the unit of the PDF `/W` array, and so
    /// the unit all layout measures in (what is measured is what a viewer places).
    pub(crate) fn width(&self, id: u16) -> u16 {
        let w = u32::from(self.advance_units(id)) * 1000;
        let em = u32::from(self.units_per_em);
        u16::try_from((w + em / 2) / em).unwrap_or(u16::MAX)
    }

    /// A glyph's outline bytes in `glyf` (empty for a blank glyph such as the space).
    pub(crate) fn outline(&self, id: u16) -> &'static [u8] {
        if id >= self.num_glyphs {
            return &[];
        }
        let loca = self.table(b"loca");
        let i = usize::from(id);
        let (start, end) = if self.long_loca {
            (
                u32_at(loca, 4 * i) as usize,
                u32_at(loca, 4 * i + 4) as usize,
            )
        } else {
            (
                2 * usize::from(u16_at(loca, 2 * i)),
                2 * usize::from(u16_at(loca, 2 * i + 2)),
            )
        };
        self.table(b"glyf").get(start..end).unwrap_or(&[])
    }

    /// Scales font units to the thousandths of text space PDF metrics are given in.
    pub(crate) fn scale(&self, units: i16) -> i32 {
        i32::from(units) * 1000 / i32::from(self.units_per_em)
    }

    /// The font bounding box (`head`), in thousandths.
    pub(crate) fn bbox(&self) -> [i32; 4] {
        let head = self.table(b"head");
        [36, 38, 40, 42].map(|at| self.scale(i16_at(head, at)))
    }

    /// Ascender and descender (`hhea`), in thousandths.
    pub(crate) fn ascent_descent(&self) -> (i32, i32) {
        let hhea = self.table(b"hhea");
        (self.scale(i16_at(hhea, 4)), self.scale(i16_at(hhea, 6)))
    }

    /// The height of "H" (this font's `OS/2` is too old to state it), in thousandths.
    pub(crate) fn cap_height(&self) -> i32 {
        let h = self.glyph('H').map_or(&[][..], |id| self.outline(id));
        match i16_at(h, 8) {
            0 => self.ascent_descent().0,
            y => self.scale(y),
        }
    }
}

fn segments_lookup(sub: &[u8], code: u32) -> Option<u16> {
    let code = u16::try_from(code).ok()?;
    let seg_x2 = usize::from(u16_at(sub, 6));
    let segments = seg_x2 / 2;
    let ends = 14;
    let starts = ends + seg_x2 + 2;
    let deltas = starts + seg_x2;
    let offsets = deltas + seg_x2;
    // The first segment whose end is at or past the code.
    let (mut lo, mut hi) = (0, segments);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if u16_at(sub, ends + 2 * mid) < code {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo == segments {
        return None;
    }
    let start = u16_at(sub, starts + 2 * lo);
    if start > code {
        return None;
    }
    let delta = u16_at(sub, deltas + 2 * lo);
    let offset_at = offsets + 2 * lo;
    let offset = usize::from(u16_at(sub, offset_at));
    if offset == 0 {
        return Some(code.wrapping_add(delta));
    }
    let at = offset_at + offset + 2 * usize::from(code - start);
    match u16_at(sub, at) {
        0 => None,
        id => Some(id.wrapping_add(delta)),
    }
}

fn groups_lookup(sub: &[u8], code: u32) -> Option<u16> {
    let count = u32_at(sub, 12) as usize;
    let group = |i: usize| {
        let at = 16 + 12 * i;
        (u32_at(sub, at), u32_at(sub, at + 4), u32_at(sub, at + 8))
    };
    let (mut lo, mut hi) = (0, count.min(sub.len() / 12));
    while lo < hi {
        let mid = (lo + hi) / 2;
        let (start, end, first) = group(mid);
        if end < code {
            lo = mid + 1;
        } else if start > code {
            hi = mid;
        } else {
            return u16::try_from(first.checked_add(code - start)?).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_fonts_parse_with_the_tables_a_pdf_needs() {
        for face in Face::ALL {
            let font = face.font();
            for tag in [
                b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf", b"cmap", b"name",
            ] {
                assert!(font.has_table(tag), "{face:?} lacks {tag:?}");
            }
            assert_eq!(font.units_per_em, 2048);
            assert!(font.num_glyphs > 5000, "{face:?}: {}", font.num_glyphs);
            assert!(
                matches!(font.cmap, Cmap::Groups(_)),
                "{face:?}: {:?}",
                font.cmap
            );
        }
    }

    #[test]
    fn characters_map_to_glyphs_with_widths() {
        let font = Face::Regular.font();
        let a = font.glyph('A').unwrap();
        let space = font.glyph(' ').unwrap();
        // DejaVu Sans: A is 1401 units of 2048, the space 651.
        assert_eq!(font.width(a), 684);
        assert_eq!(font.width(space), 318);
        for c in "éüñßøŒłőčşąΩжЖ€•☐\u{FFFD}\u{1D538}".chars() {
            assert!(font.glyph(c).is_some(), "no glyph for {c:?}");
        }
        assert_eq!(font.glyph('\u{4E2D}'), None, "DejaVu Sans has no CJK");
        assert!(!font.outline(a).is_empty());
        assert!(font.outline(space).is_empty());
        assert!(font.cap_height() > 600 && font.cap_height() < 800);
    }

    #[test]
    fn bold_is_wider_than_regular() {
        let w = |face: Face| {
            let font = face.font();
            "meeting"
                .chars()
                .map(|c| u32::from(font.width(font.glyph(c).unwrap())))
                .sum::<u32>()
        };
        assert!(w(Face::Bold) > w(Face::Regular));
    }
}
