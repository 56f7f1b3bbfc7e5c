//! HTML to plain text, by hand and in one linear pass (no DOM, no tag stack): the text of the
//! body, block elements as line and paragraph breaks, character references decoded. Script,
//! style, template and similar raw content, the head and comments are dropped. Unclosed tags,
//! huge attributes and deep nesting cost no more than their bytes.

/// Elements whose start and end make a paragraph break.
const PARAGRAPH: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "details",
    "dl",
    "div",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "html",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
];
/// Elements whose start and end make a line break.
const LINE: &[&str] = &["br", "dd", "dt", "li", "option", "tr"];
/// Table cells, kept apart by a space.
const CELL: &[&str] = &["td", "th"];
/// Elements whose content is not text to read: skipped up to their end tag.
const SKIPPED: &[&str] = &[
    "iframe", "noembed", "noframes", "noscript", "script", "style", "template", "xmp",
];
/// Elements that may stand in the head; any other start tag ends it.
const HEAD_CONTENT: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style", "template",
    "title",
];
/// Elements whose whitespace (line breaks included) is kept.
const PREFORMATTED: &[&str] = &["listing", "pre", "textarea"];

/// The text of an HTML document (not yet normalised: see `docs::normalize`).
pub(super) fn to_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut preformatted = 0usize;
    let mut in_head = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => match tag(html, i) {
                Markup::Tag { name, closing, end } => {
                    i = end;
                    let is = |set: &[&str]| set.iter().any(|s| s.eq_ignore_ascii_case(name));
                    if name.eq_ignore_ascii_case("head") {
                        in_head = !closing;
                    } else if in_head && !closing && !is(HEAD_CONTENT) {
                        in_head = false;
                    }
                    if !closing && is(SKIPPED) {
                        i = skip_element(html, i, name);
                    } else {
                        push_break(&mut out, block_break(name));
                    }
                    if is(PREFORMATTED) {
                        preformatted = if closing {
                            preformatted.saturating_sub(1)
                        } else {
                            preformatted + 1
                        };
                    }
                }
                Markup::Skip { end } => i = end,
                Markup::Text => {
                    if !in_head {
                        out.push('<');
                    }
                    i += 1;
                }
            },
            b'&' => {
                let (decoded, len) = entity(&html[i..]).unwrap_or(("&".into(), 1));
                if !in_head {
                    out.push_str(&decoded);
                }
                i += len;
            }
            _ => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'<' || b == b'&')
                    .map_or(bytes.len(), |n| i + n);
                if !in_head {
                    let run = &html[i..end];
                    if preformatted > 0 {
                        out.push_str(run);
                    } else {
                        for c in run.chars() {
                            if !c.is_whitespace() {
                                out.push(c);
                            } else if !out.ends_with([' ', '\n']) {
                                out.push(' ');
                            }
                        }
                    }
                }
                i = end;
            }
        }
    }
    out
}

/// What an element's start or end tag stands for in text: a paragraph break, a line break,
/// a space between table cells, or nothing (inline elements).
pub(super) fn block_break(name: &str) -> &'static str {
    let is = |set: &[&str]| set.iter().any(|s| s.eq_ignore_ascii_case(name));
    if is(PARAGRAPH) {
        "\n\n"
    } else if is(LINE) {
        "\n"
    } else if is(CELL) {
        " "
    } else {
        ""
    }
}

/// Appends a break from [`block_break`], unless the text already ends with one as wide:
/// `</li><li>` is one line break, `</p><p>` one paragraph break.
pub(super) fn push_break(out: &mut String, brk: &str) {
    // Spaces after the last break do not count, but only a few are looked past, so that
    // breaks between long runs of spaces (`<pre>`) stay linear.
    let bytes = out.as_bytes();
    let floor = bytes.len().saturating_sub(64);
    let mut end = bytes.len();
    while end > floor && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    let tail = &bytes[..end];
    let have = if tail.is_empty() || tail.ends_with(b"\n\n") {
        2
    } else {
        usize::from(tail.ends_with(b"\n"))
    };
    match brk {
        "\n\n" | "\n" => {
            for _ in have..brk.len() {
                out.push('\n');
            }
        }
        _ => out.push_str(brk),
    }
}

/// What a `<` starts.
enum Markup<'a> {
    /// A start or end tag, and the byte after its `>` (or the end of the input).
    Tag {
        name: &'a str,
        closing: bool,
        end: usize,
    },
    /// A comment, doctype or processing instruction, skipped up to `end`.
    Skip { end: usize },
    /// Not markup: a literal `<`.
    Text,
}

/// Reads the markup that starts at `at` (a `<`).
fn tag(html: &str, at: usize) -> Markup<'_> {
    let bytes = html.as_bytes();
    let rest = &html[at..];
    if rest.starts_with("<!--") {
        let end = find(html, at + 4, "-->").map_or(html.len(), |n| n + 3);
        return Markup::Skip { end };
    }
    let closing = rest.starts_with("</");
    let name_start = at + 1 + usize::from(closing);
    match bytes.get(name_start) {
        Some(b) if b.is_ascii_alphabetic() => {}
        Some(b'!' | b'?') if !closing => {
            return Markup::Skip {
                end: after_gt(html, at),
            };
        }
        Some(_) if closing => {
            return Markup::Skip {
                end: after_gt(html, at),
            };
        }
        _ => return Markup::Text,
    }
    let name_end = bytes[name_start..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b':'))
        .map_or(bytes.len(), |n| name_start + n);
    Markup::Tag {
        name: &html[name_start..name_end],
        closing,
        end: tag_end(bytes, name_end),
    }
}

/// The byte after the `>` that ends a tag whose attributes start at `from`, skipping quoted
/// attribute values; the end of the input for a tag never closed.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut after_equals = false;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return i + 1,
            b'=' => after_equals = true,
            q @ (b'"' | b'\'') if after_equals => {
                match bytes[i + 1..].iter().position(|&b| b == q) {
                    Some(n) => i += n + 1,
                    None => return bytes.len(),
                }
                after_equals = false;
            }
            b if b.is_ascii_whitespace() => {}
            _ => after_equals = false,
        }
        i += 1;
    }
    bytes.len()
}

/// The byte after the next `>` from `from`, or the end of the input.
fn after_gt(html: &str, from: usize) -> usize {
    html.as_bytes()[from..]
        .iter()
        .position(|&b| b == b'>')
        .map_or(html.len(), |n| from + n + 1)
}

/// Skips the content of a raw element (`<script>` …) from `from` to after its end tag.
fn skip_element(html: &str, from: usize, name: &str) -> usize {
    let bytes = html.as_bytes();
    let mut i = from;
    while let Some(at) = find(html, i, "</") {
        let name_end = at + 2 + name.len();
        if bytes
            .get(at + 2..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && !bytes
                .get(name_end)
                .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            return after_gt(html, name_end);
        }
        i = at + 2;
    }
    html.len()
}

/// The byte offset of `needle` in `html` at or after `from`.
fn find(html: &str, from: usize, needle: &str) -> Option<usize> {
    html.get(from..)?.find(needle).map(|n| from + n)
}

/// Decodes the character reference at the start of `s` (which starts with `&`): the text it
/// stands for and its length in bytes. `None` for anything else, such as an unknown name,
/// which then stays as written.
pub(super) fn entity(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix('&')?;
    if let Some(number) = body.strip_prefix('#') {
        let (digits, radix, prefix) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (number, 10, 1),
        };
        let len = digits
            .bytes()
            .take_while(|b| (*b as char).is_digit(radix))
            .count();
        if len == 0 {
            return None;
        }
        // Over eight digits is past the last code point whatever they are.
        let code = match len {
            ..=8 => u32::from_str_radix(&digits[..len], radix).unwrap_or(u32::MAX),
            _ => u32::MAX,
        };
        let semicolon = usize::from(digits[len..].starts_with(';'));
        return Some((numeric(code).to_string(), 1 + prefix + len + semicolon));
    }
    let len = body
        .bytes()
        .take(9)
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    if !body[len..].starts_with(';') {
        return None;
    }
    let text = match &body[..len] {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "euro" => "€",
        "times" => "×",
        "deg" => "°",
        "shy" => "\u{ad}",
        _ => return None,
    };
    Some((text.to_owned(), len + 2))
}

/// The character a numeric reference stands for, as HTML reads it: the C1 range as
/// Windows-1252 (where pages put their quotes and dashes), invalid code points as U+FFFD.
fn numeric(code: u32) -> char {
    let windows_1252 = match code {
        0x80 => Some('€'),
        0x85 => Some('…'),
        0x91 => Some('‘'),
        0x92 => Some('’'),
        0x93 => Some('“'),
        0x94 => Some('”'),
        0x95 => Some('•'),
        0x96 => Some('–'),
        0x97 => Some('—'),
        0x99 => Some('™'),
        _ => None,
    };
    match windows_1252 {
        Some(c) => c,
        None if code == 0 => '\u{fffd}',
        None => char::from_u32(code).unwrap_or('\u{fffd}'),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_linear;
    use super::super::{DocError, Format, Limits, extract, normalize};
    use super::*;

    fn text(html: &str) -> String {
        normalize(&to_text(html))
    }

    #[test]
    fn script_style_head_comments_and_templates_are_dropped() {
        let html = r#"<!DOCTYPE html><html><head><title>Tab title</title>
            <meta charset="utf-8"><style>p { color: red }</style>
            <script>var s = "</div><p>not text</p>";</script></head>
            <body><!-- a comment <p>hidden</p> --><p>Visible</p>
            <SCRIPT type="text/javascript">alert("</scriptx>")</SCRIPT >
            <noscript>Enable JavaScript</noscript><template><p>Row</p></template>
            <p>After</p></body></html>"#;
        assert_eq!(text(html), "Visible\n\nAfter");
    }

    #[test]
    fn a_head_without_an_end_tag_ends_at_the_first_body_element() {
        assert_eq!(text("<head><title>T</title><p>Body text"), "Body text");
    }

    #[test]
    fn entities_are_decoded_and_unknown_ones_kept() {
        let html = "<p>Fish &amp; chips &lt;b&gt; &quot;q&quot; &apos;a&apos; x&nbsp;y \
                    &#233;t&#xE9; &#X41;&#66 &#150; &#0; &unknown; &amp &#; &#xZZ; &copy;</p>";
        assert_eq!(
            text(html),
            "Fish & chips <b> \"q\" 'a' x y été AB – &unknown; &amp &#; &#xZZ; ©"
        );
        assert_eq!(entity("&#x1F600;"), Some(("😀".into(), 9)));
        assert_eq!(entity("&#xD800;"), Some(("\u{fffd}".into(), 8)));
        assert_eq!(entity("&#99999999999;x"), Some(("\u{fffd}".into(), 14)));
    }

    #[test]
    fn blocks_make_breaks_and_inline_elements_do_not() {
        let html = "<div><div><section><h1>Title</h1><p>One <b>bold</b> and <a href='x'>link\
                    </a>.</p><ul><li>first</li><li>second<ul><li>nested</li></ul></li></ul>\
                    <table><tr><td>a</td><td>b</td></tr><tr><th>c</th><td>d</td></tr></table>\
                    line<br>break<br/>again</section></div></div>";
        assert_eq!(
            text(html),
            "Title\n\nOne bold and link.\n\nfirst\nsecond\n\nnested\n\na b\nc d\n\nline\nbreak\nagain"
        );
    }

    #[test]
    fn source_line_breaks_are_spaces_except_in_pre() {
        let html = "<p>A sentence\nwrapped   in\tthe source.</p><pre>line 1\n  line 2</pre>";
        assert_eq!(
            text(html),
            "A sentence wrapped in the source.\n\nline 1\nline 2"
        );
    }

    #[test]
    fn stray_angle_brackets_and_attributes_with_gt_are_handled() {
        assert_eq!(text("a < b and 3<4 </ > ok"), "a < b and 3<4 ok");
        assert_eq!(
            text(r#"<p title="a > b" data-x='<p>'>kept</p><img alt="x" src=y>"#),
            "kept"
        );
        assert_eq!(text("before<p unclosed attribute=\"never closed"), "before");
    }

    #[test]
    fn unicode_text_passes_through() {
        assert_eq!(
            text("<p>Café – naïve façade</p><p>会议 😀</p>"),
            "Café – naïve façade\n\n会议 😀"
        );
    }

    #[test]
    fn hostile_inputs_finish_in_linear_time() {
        let cases = [
            "<div".repeat(250_000),
            "<div>".repeat(200_000),
            format!("<p title=\"{}\">x</p>", "a".repeat(1_000_000)),
            "<script>".repeat(120_000),
            "<!--".repeat(250_000),
            "&#x".repeat(300_000),
            "&amp".repeat(250_000),
            "<a href='".repeat(100_000),
            "<br> ".repeat(200_000),
            format!("<pre>{}", "<br>  ".repeat(150_000)),
            "</li>\n   <li>".repeat(70_000),
        ];
        assert_linear(Format::Html, &cases);
    }

    #[test]
    fn a_megabyte_of_unclosed_div_tags_is_read_fast_and_has_no_text() {
        let html = "<div".repeat(262_144);
        assert_eq!(html.len(), 1 << 20);
        let started = std::time::Instant::now();
        let result = extract(Format::Html, html.as_bytes(), &Limits::default());
        assert!(matches!(result, Err(DocError::NoText)), "{result:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
