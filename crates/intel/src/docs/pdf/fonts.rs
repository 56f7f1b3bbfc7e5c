//! A PDF font as text extraction needs it: how its codes decode to Unicode (lopdf's
//! encodings, with a ToUnicode map preferred over a simple font's /Encoding, as readers do)
//! and how wide each code is (to tell a word gap from the next glyph of the same word).
//! Resolved once per font dictionary, with the decompression they cost charged to the
//! document's budget.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

use super::{Budget, PdfResult, bounded, std14};

/// Average glyph width (thousandths of an em) assumed when a font does not give its widths:
/// the standard 14 fonts, which readers know by heart, mostly.
const ASSUMED_WIDTH: f32 = 500.0;

/// A font, ready to decode and measure shown strings.
pub(super) struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    widths: Widths,
    /// Bytes per character code for measuring: 2 for composite (Type0) fonts, else 1.
    code_len: usize,
}

impl Font<'_> {
    /// Appends the text `bytes` stand for; nothing when the font's encoding is unknown.
    pub(super) fn decode(&self, bytes: &[u8], out: &mut String) {
        if let Some(encoding) = &self.encoding {
            // A code the encoding cannot map costs its glyph, not the string.
            let _ = encoding.write_to_string(bytes, out);
        }
    }

    /// The character codes in `bytes`, each with its width in thousandths of text space.
    pub(super) fn codes<'b>(&'b self, bytes: &'b [u8]) -> impl Iterator<Item = (u32, f32)> + 'b {
        bytes.chunks(self.code_len).map(|code| {
            let code = code.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            (code, self.widths.of(code))
        })
    }

    /// Whether word spacing (Tw) applies to code 32: only in single-byte codes.
    pub(super) fn single_byte(&self) -> bool {
        self.code_len == 1
    }
}

/// Widths by code: ranges sorted by their first code.
struct Widths {
    ranges: Vec<(u32, u32, f32)>,
    default: f32,
}

impl Widths {
    fn of(&self, code: u32) -> f32 {
        let at = self.ranges.partition_point(|&(first, _, _)| first <= code);
        match at.checked_sub(1).map(|i| self.ranges[i]) {
            Some((_, last, width)) if code <= last => width,
            _ => self.default,
        }
    }
}

/// The fonts of one document, resolved on first use and kept by dictionary.
pub(super) struct Fonts<'a> {
    doc: &'a Document,
    overrides: &'a HashMap<ObjectId, Dictionary>,
    cache: HashMap<*const Dictionary, Rc<Font<'a>>>,
}

impl<'a> Fonts<'a> {
    pub(super) fn new(doc: &'a Document, overrides: &'a HashMap<ObjectId, Dictionary>) -> Self {
        Fonts {
            doc,
            overrides,
            cache: HashMap::new(),
        }
    }

    /// The font an entry of a /Font resource dictionary refers to.
    pub(super) fn get(
        &mut self,
        entry: &'a Object,
        budget: &mut Budget,
    ) -> PdfResult<Option<Rc<Font<'a>>>> {
        let Ok((id, Object::Dictionary(dict))) = self.doc.dereference(entry) else {
            return Ok(None);
        };
        let key: *const Dictionary = dict;
        if let Some(font) = self.cache.get(&key) {
            return Ok(Some(font.clone()));
        }
        let for_text = id.and_then(|id| self.overrides.get(&id)).unwrap_or(dict);
        let encoding = self.encoding(for_text, budget)?;
        let font = Rc::new(Font {
            widths: widths(self.doc, dict, encoding.as_ref()),
            encoding,
            code_len: if subtype(dict) == Some(b"Type0") {
                2
            } else {
                1
            },
        });
        self.cache.insert(key, font.clone());
        Ok(Some(font))
    }

    fn encoding(
        &self,
        dict: &'a Dictionary,
        budget: &mut Budget,
    ) -> PdfResult<Option<Encoding<'a>>> {
        // lopdf decodes the ToUnicode map within the limit but does not say how much it
        // inflated to: measure it here (once per font), so that many fonts cannot each
        // spend the whole limit.
        let map = dict
            .get_deref(b"ToUnicode", self.doc)
            .and_then(Object::as_stream);
        if let Ok(stream) = map
            && let Some(map) = bounded(stream.get_plain_content_with_limit(budget.left()))?
        {
            budget.charge(map.len())?;
        }
        match dict.get_font_encoding_with_limit(self.doc, budget.left()) {
            Ok(encoding) => Ok(Some(encoding)),
            Err(
                e @ lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }),
            ) => Err(e.into()),
            Err(_) => Ok(None),
        }
    }
}

/// Copies of the document's simple fonts that have both an /Encoding and a ToUnicode map,
/// without the /Encoding, so that lopdf decodes them by the map (it prefers /Encoding, which
/// for subset fonts often names glyphs it cannot map to Unicode).
pub(super) fn unicode_overrides(doc: &Document) -> HashMap<ObjectId, Dictionary> {
    doc.objects
        .iter()
        .filter_map(|(&id, object)| {
            let dict = object.as_dict().ok()?;
            let identity = matches!(
                dict.get(b"Encoding").and_then(Object::as_name),
                Ok(b"Identity-H" | b"Identity-V")
            );
            let wanted = dict.has_type(b"Font")
                && dict.has(b"ToUnicode")
                && dict.has(b"Encoding")
                && !identity
                && subtype(dict) != Some(b"Type0");
            wanted.then(|| {
                let mut copy = dict.clone();
                copy.remove(b"Encoding");
                (id, copy)
            })
        })
        .collect()
}

fn subtype(dict: &Dictionary) -> Option<&[u8]> {
    dict.get(b"Subtype").and_then(Object::as_name).ok()
}

/// The font's widths: /FirstChar and /Widths for simple fonts (scaled by /FontMatrix for
/// Type3), else the standard fonts' metrics by the codes' characters; the descendant's /W
/// and /DW for composite ones.
fn widths(doc: &Document, dict: &Dictionary, encoding: Option<&Encoding>) -> Widths {
    let number = |o: &Object| doc.dereference(o).ok().and_then(|(_, o)| o.as_float().ok());
    let array = |d: &Dictionary, key: &[u8]| {
        d.get_deref(key, doc)
            .and_then(Object::as_array)
            .ok()
            .cloned()
            .unwrap_or_default()
    };

    if subtype(dict) == Some(b"Type0") {
        let descendant = array(dict, b"DescendantFonts")
            .first()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok().cloned())
            .unwrap_or_default();
        let default = descendant
            .get(b"DW")
            .ok()
            .and_then(number)
            .unwrap_or(1000.0);
        return Widths {
            ranges: cid_widths(&array(&descendant, b"W"), number),
            default,
        };
    }

    let scale = match subtype(dict) {
        Some(b"Type3") => array(dict, b"FontMatrix")
            .first()
            .and_then(number)
            .map_or(1.0, |a| a * 1000.0),
        _ => 1.0,
    };
    let first = dict
        .get(b"FirstChar")
        .ok()
        .and_then(number)
        .map_or(0, |f| f.clamp(0.0, 65_535.0) as u32);
    let mut ranges: Vec<(u32, u32, f32)> = array(dict, b"Widths")
        .iter()
        .zip(first..)
        .filter_map(|(w, code)| number(w).map(|w| (code, code, w * scale)))
        .collect();
    if let (true, Some(name), Some(encoding)) = (ranges.is_empty(), base_font(dict), encoding) {
        ranges = (0..=255u8)
            .filter_map(|code| {
                let text = encoding.bytes_to_string(&[code]).ok()?;
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => std14::width(name, c).map(|w| (code.into(), code.into(), w)),
                    _ => None,
                }
            })
            .collect();
    }
    let missing = dict
        .get_deref(b"FontDescriptor", doc)
        .and_then(Object::as_dict)
        .ok()
        .and_then(|d| d.get(b"MissingWidth").ok())
        .and_then(number)
        .filter(|&w| w > 0.0);
    let default = match (missing, ranges.is_empty()) {
        (Some(w), _) => w * scale,
        // Courier, the one standard font whose every glyph has the same width.
        (None, true) if base_font(dict).is_some_and(|n| n.starts_with(b"Courier")) => 600.0,
        (None, _) => ASSUMED_WIDTH * scale,
    };
    Widths { ranges, default }
}

fn base_font(dict: &Dictionary) -> Option<&[u8]> {
    dict.get(b"BaseFont").and_then(Object::as_name).ok()
}

/// A composite font's /W array: `c [w1 w2 …]` (widths from code c on) and `c_first c_last w`
/// (one width for a range), as sorted ranges.
fn cid_widths(w: &[Object], number: impl Fn(&Object) -> Option<f32>) -> Vec<(u32, u32, f32)> {
    let code = |o: &Object| number(o).map(|f| f.clamp(0.0, u32::MAX as f32) as u32);
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let Some(first) = code(&w[i]) else { break };
        match (w.get(i + 1), w.get(i + 2)) {
            (Some(Object::Array(list)), _) => {
                for (k, width) in list.iter().enumerate() {
                    if let Some(width) = number(width) {
                        let c = first.saturating_add(k as u32);
                        ranges.push((c, c, width));
                    }
                }
                i += 2;
            }
            (Some(last), Some(width)) => {
                if let (Some(last), Some(width)) = (code(last), number(width)) {
                    ranges.push((first, last, width));
                }
                i += 3;
            }
            _ => break,
        }
    }
    ranges.sort_by_key(|&(first, _, _)| first);
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_widths_read_both_forms_of_w() {
        let w = vec![
            Object::Integer(1),
            Object::Array(vec![Object::Integer(500), Object::Real(250.5)]),
            Object::Integer(10),
            Object::Integer(20),
            Object::Integer(700),
        ];
        let widths = Widths {
            ranges: cid_widths(&w, |o| o.as_float().ok()),
            default: 1000.0,
        };
        assert_eq!(widths.of(0), 1000.0);
        assert_eq!(widths.of(1), 500.0);
        assert_eq!(widths.of(2), 250.5);
        assert_eq!(widths.of(3), 1000.0);
        assert_eq!(widths.of(10), 700.0);
        assert_eq!(widths.of(20), 700.0);
        assert_eq!(widths.of(21), 1000.0);
    }
}
