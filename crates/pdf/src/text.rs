//! Text to positioned glyphs: cleaning (control characters become spaces, invisible format
//! characters go), one glyph per character from the font's character map (a character the font
//! lacks becomes U+FFFD, "�"), and greedy line wrapping by advance widths, with words wider than
//! a line broken between characters. No shaping: no kerning, ligatures, or right-to-left order.

use crate::font::Face;

/// How a run of text is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Style {
    pub face: Face,
    /// Points.
    pub size: f64,
    /// Fill gray, 0 black to 1 white.
    pub gray: f64,
}

impl Style {
    pub(crate) const fn new(face: Face, size: f64, gray: f64) -> Style {
        Style { face, size, gray }
    }
}

/// One glyph and the character it stands for (what the ToUnicode map gives back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Glyph {
    pub id: u16,
    pub ch: char,
    /// Advance in thousandths of the font size.
    pub width: u16,
}

/// Text in one style; consecutive runs with no whitespace between them form one word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run<'a> {
    pub style: Style,
    pub text: &'a str,
}

/// Glyphs in one style at `x` points from the start of their line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Piece {
    pub style: Style,
    pub x: f64,
    pub glyphs: Vec<Glyph>,
}

/// What a character becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A word boundary: spaces, line breaks, tabs and every other control character.
    Space,
    /// Invisible formatting (soft hyphen, zero-width and bidi controls, variation selectors,
    /// the byte-order mark): dropped.
    Drop,
    Keep,
}

fn class(c: char) -> Class {
    const NO_BREAK: [char; 3] = ['\u{A0}', '\u{2007}', '\u{202F}'];
    match c {
        '\u{AD}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E01EF}' => Class::Drop,
        c if c.is_control() => Class::Space,
        c if c.is_whitespace() && !NO_BREAK.contains(&c) => Class::Space,
        _ => Class::Keep,
    }
}

/// Text as it is set: control characters become single spaces, runs of spaces collapse, the
/// ends are trimmed and invisible format characters dropped. Used where a string is shown whole
/// (the document title in the info dictionary and the footer).
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        match class(c) {
            Class::Space => space = !out.is_empty(),
            Class::Drop => {}
            Class::Keep => {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
        }
    }
    out
}

/// The glyph for one character in a face, or the replacement for one the font lacks.
pub(crate) fn glyph(face: Face, c: char) -> Glyph {
    let font = face.font();
    let (id, ch) = match font.glyph(c) {
        Some(id) => (id, c),
        None if c.is_whitespace() => (font.glyph(' ').unwrap_or(0), ' '),
        None => match font.glyph('\u{FFFD}') {
            Some(id) => (id, '\u{FFFD}'),
            None => (font.glyph('?').unwrap_or(0), '?'),
        },
    };
    Glyph {
        id,
        ch,
        width: font.width(id),
    }
}

/// Glyphs for text that is already clean (see [`clean`]).
pub(crate) fn glyphs(face: Face, text: &str) -> Vec<Glyph> {
    text.chars().map(|c| glyph(face, c)).collect()
}

/// Width in points of glyphs set in a style.
pub(crate) fn measure(style: Style, glyphs: &[Glyph]) -> f64 {
    glyphs.iter().map(|g| f64::from(g.width)).sum::<f64>() * style.size / 1000.0
}

/// Whether a character attaches to the one before it (a combining mark): a long word is never
/// broken between the two.
fn is_mark(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// A word: glyphs in one or more styles, and the style of the space before it (`None` for the
/// first word, or one with nothing but dropped characters before it).
#[derive(Debug, Default)]
struct Word {
    space_before: Option<Style>,
    parts: Vec<(Style, Vec<Glyph>)>,
}

impl Word {
    fn width(&self) -> f64 {
        self.parts.iter().map(|(s, g)| measure(*s, g)).sum()
    }
}

fn words(runs: &[Run<'_>]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut word = Word::default();
    let mut space: Option<Style> = None;
    for run in runs {
        for c in run.text.chars() {
            match class(c) {
                Class::Drop => {}
                Class::Space => {
                    if !word.parts.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    space = Some(run.style);
                }
                Class::Keep => {
                    if word.parts.is_empty() {
                        word.space_before = space.take();
                    }
                    let g = glyph(run.style.face, c);
                    match word.parts.last_mut() {
                        Some((style, glyphs)) if *style == run.style => glyphs.push(g),
                        _ => word.parts.push((run.style, vec![g])),
                    }
                }
            }
        }
    }
    if !word.parts.is_empty() {
        words.push(word);
    }
    words
}

/// A line being filled.
#[derive(Debug, Default)]
struct LineBuf {
    pieces: Vec<Piece>,
    width: f64,
}

impl LineBuf {
    fn push(&mut self, style: Style, g: Glyph) {
        match self.pieces.last_mut() {
            Some(piece) if piece.style == style => piece.glyphs.push(g),
            _ => self.pieces.push(Piece {
                style,
                x: self.width,
                glyphs: vec![g],
            }),
        }
        self.width += f64::from(g.width) * style.size / 1000.0;
    }

    fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

/// Slack for rounding when a word fits a line exactly.
const EPSILON: f64 = 1e-6;

/// Sets runs of text in lines at most `width` points wide: words are separated by one space
/// (in the style of the whitespace in the input), a word that does not fit goes to the next
/// line, and a word wider than a whole line is broken between characters. No lines for text
/// with nothing visible.
pub(crate) fn wrap(runs: &[Run<'_>], width: f64) -> Vec<Vec<Piece>> {
    let mut lines = Vec::new();
    let mut line = LineBuf::default();
    for word in words(runs) {
        let w = word.width();
        let space = match word.space_before {
            Some(style) if !line.is_empty() => Some((style, glyph(style.face, ' '))),
            _ => None,
        };
        let space_w = space.map_or(0.0, |(s, g)| measure(s, &[g]));
        if line.width + space_w + w <= width + EPSILON {
            if let Some((style, g)) = space {
                line.push(style, g);
            }
        } else if w <= width + EPSILON || !line.is_empty() {
            lines.push(std::mem::take(&mut line).pieces);
        }
        for (style, glyphs) in word.parts {
            for g in glyphs {
                let gw = f64::from(g.width) * style.size / 1000.0;
                if line.width + gw > width + EPSILON && !line.is_empty() && !is_mark(g.ch) {
                    lines.push(std::mem::take(&mut line).pieces);
                }
                line.push(style, g);
            }
        }
    }
    if !line.is_empty() {
        lines.push(line.pieces);
    }
    lines
}

/// Glyphs of clean text cut to `width` points, ending in "…" when cut.
pub(crate) fn truncate(style: Style, text: &str, width: f64) -> Vec<Glyph> {
    let all = glyphs(style.face, text);
    if measure(style, &all) <= width {
        return all;
    }
    let ellipsis = glyph(style.face, '…');
    let mut room = width - measure(style, &[ellipsis]);
    let mut kept: Vec<Glyph> = all
        .into_iter()
        .take_while(|g| {
            room -= f64::from(g.width) * style.size / 1000.0;
            room >= 0.0
        })
        .collect();
    while kept.last().is_some_and(|g| g.ch == ' ' || is_mark(g.ch)) {
        kept.pop();
    }
    kept.push(ellipsis);
    kept
}

/// Whole seconds of a timestamp: truncated, negative or non-finite times read as zero, and at
/// most 999:59:59.
fn whole_seconds(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds.floor() as u64).min(999 * 3600 + 59 * 60 + 59)
    } else {
        0
    }
}

/// Whether a time needs the hours field (it is an hour or more in).
pub(crate) fn needs_hours(seconds: f64) -> bool {
    whole_seconds(seconds) >= 3600
}

/// A timestamp as `[mm:ss]`, or as `[h:mm:ss]` with `hours` (which a time past the first hour
/// always gets): a transcript uses one form throughout, so its timestamps line up.
pub(crate) fn timestamp(seconds: f64, hours: bool) -> String {
    let total = whole_seconds(seconds);
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if hours || h > 0 {
        format!("[{h}:{m:02}:{s:02}]")
    } else {
        format!("[{m:02}:{s:02}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: Style = Style::new(Face::Regular, 10.0, 0.0);
    const BOLD: Style = Style::new(Face::Bold, 10.0, 0.0);

    fn text_of(line: &[Piece]) -> String {
        line.iter()
            .flat_map(|p| p.glyphs.iter().map(|g| g.ch))
            .collect()
    }

    fn lines(runs: &[Run<'_>], width: f64) -> Vec<String> {
        wrap(runs, width).iter().map(|l| text_of(l)).collect()
    }

    fn width_of(s: &str) -> f64 {
        measure(BODY, &glyphs(Face::Regular, s))
    }

    #[test]
    fn timestamps_use_minutes_under_an_hour_and_hours_after() {
        assert_eq!(timestamp(0.0, false), "[00:00]");
        assert_eq!(timestamp(7.9, false), "[00:07]");
        assert_eq!(timestamp(59.99, false), "[00:59]");
        assert_eq!(timestamp(61.0, false), "[01:01]");
        assert_eq!(timestamp(3599.5, false), "[59:59]");
        assert_eq!(timestamp(3600.0, false), "[1:00:00]");
        assert_eq!(timestamp(36_125.0, false), "[10:02:05]");
        assert_eq!(timestamp(-3.0, false), "[00:00]");
        assert_eq!(timestamp(f64::NAN, false), "[00:00]");
        assert_eq!(timestamp(f64::INFINITY, false), "[00:00]");
        assert_eq!(timestamp(1e18, false), "[999:59:59]");
    }

    #[test]
    fn timestamps_take_the_hours_field_when_asked() {
        assert_eq!(timestamp(0.0, true), "[0:00:00]");
        assert_eq!(timestamp(75.0, true), "[0:01:15]");
        assert_eq!(timestamp(3725.0, true), "[1:02:05]");
        assert!(!needs_hours(3599.9) && needs_hours(3600.0) && !needs_hours(f64::NAN));
    }

    #[test]
    fn clean_turns_controls_into_single_spaces_and_drops_invisibles() {
        assert_eq!(clean("  a\tb\r\n\u{7}c  "), "a b c");
        assert_eq!(clean("soft\u{AD}hy\u{200B}phen\u{FEFF}"), "softhyphen");
        assert_eq!(clean("no\u{A0}break"), "no\u{A0}break");
        assert_eq!(clean("\n\t"), "");
    }

    #[test]
    fn words_fill_lines_up_to_the_width() {
        let text = "the quick brown fox jumps over the lazy dog";
        let runs = [Run { style: BODY, text }];
        assert_eq!(lines(&runs, 1000.0), vec![text]);
        let w = width_of("the quick brown fox");
        assert_eq!(
            lines(&runs, w),
            vec!["the quick brown fox", "jumps over the lazy", "dog"]
        );
        assert_eq!(
            lines(&runs, w - 0.1),
            vec!["the quick brown", "fox jumps over the", "lazy dog"]
        );
        for line in wrap(&runs, w) {
            let end = line
                .last()
                .map(|p| p.x + measure(p.style, &p.glyphs))
                .unwrap();
            assert!(end <= w + 1e-6, "{end} > {w}");
        }
    }

    #[test]
    fn whitespace_of_any_kind_separates_words_once() {
        let runs = [Run {
            style: BODY,
            text: "  one\n\ntwo\t three\u{0}four  ",
        }];
        assert_eq!(lines(&runs, 1000.0), vec!["one two three four"]);
        assert!(
            wrap(
                &[Run {
                    style: BODY,
                    text: " \n\u{200B} "
                }],
                100.0
            )
            .is_empty()
        );
    }

    #[test]
    fn a_word_longer_than_a_line_is_broken_between_characters() {
        let long = "x".repeat(500);
        let text = format!("before {long} after");
        let width = 200.0;
        let got = lines(
            &[Run {
                style: BODY,
                text: &text,
            }],
            width,
        );
        assert_eq!(got.first().map(String::as_str), Some("before"));
        assert!(got.len() > 3, "{got:?}");
        assert_eq!(got.concat().replace(' ', ""), format!("before{long}after"));
        for l in &got {
            assert!(width_of(l) <= width + 1e-6, "{l} is {} wide", width_of(l));
        }
        // Even a line too narrow for one glyph gets one glyph per line, not none.
        assert_eq!(
            lines(
                &[Run {
                    style: BODY,
                    text: "ab"
                }],
                1.0
            ),
            vec!["a", "b"]
        );
    }

    #[test]
    fn a_combining_mark_stays_with_its_letter() {
        let text = "e\u{301}e\u{301}e\u{301}";
        let w = width_of("e");
        for line in lines(&[Run { style: BODY, text }], w) {
            assert_eq!(line, "e\u{301}");
        }
    }

    #[test]
    fn runs_in_different_styles_share_lines_at_measured_offsets() {
        let runs = [
            Run {
                style: BOLD,
                text: "Alice",
            },
            Run {
                style: BODY,
                text: " said hello",
            },
        ];
        let wrapped = wrap(&runs, 1000.0);
        assert_eq!(wrapped.len(), 1);
        let pieces = &wrapped[0];
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].style, BOLD);
        let bold_alice = measure(BOLD, &glyphs(Face::Bold, "Alice"));
        assert!((pieces[1].x - bold_alice).abs() < 1e-9);
        assert_eq!(text_of(pieces), "Alice said hello");
        // Runs without whitespace between them make one word, never broken apart.
        let runs = [
            Run {
                style: BOLD,
                text: "[x",
            },
            Run {
                style: BODY,
                text: "y]",
            },
        ];
        let word = measure(BOLD, &glyphs(Face::Bold, "[x")) + width_of("y]");
        assert_eq!(lines(&runs, word + 0.01), vec!["[xy]"]);
        assert_eq!(lines(&runs, word - 0.01), vec!["[xy", "]"]);
    }

    #[test]
    fn missing_characters_become_the_replacement_character() {
        let g = glyphs(Face::Regular, "a中b");
        assert_eq!(g.iter().map(|g| g.ch).collect::<String>(), "a\u{FFFD}b");
        assert!(g.iter().all(|g| g.id != 0));
    }

    #[test]
    fn truncation_ends_in_an_ellipsis_within_the_width() {
        let t = truncate(BODY, "Quarterly planning with the whole team", 80.0);
        let s: String = t.iter().map(|g| g.ch).collect();
        assert!(s.ends_with('…') && s.starts_with("Quarterly"), "{s}");
        assert!(measure(BODY, &t) <= 80.0);
        assert_eq!(truncate(BODY, "short", 80.0).len(), 5);
    }
}
