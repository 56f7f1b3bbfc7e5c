//! Markdown to plain text: the text kept, the markup dropped (heading marks, emphasis and code
//! markers, link and image syntax down to their text, reference definitions, inline HTML,
//! list markers, table pipes and rules). Code blocks keep their content. Line by line, each
//! line in one pass over tables of matching brackets built beforehand, so hostile input
//! (unclosed brackets, long runs of markers) stays linear.

use std::collections::{HashMap, HashSet};

use super::html;

/// The text of a Markdown document (not yet normalised: see `docs::normalize`).
pub(super) fn to_text(md: &str) -> String {
    let labels = reference_labels(md);
    let mut out = String::with_capacity(md.len());
    let mut fence: Option<Fence> = None;
    let mut in_comment = false;
    let mut after_text = false;
    for line in md.lines() {
        if let Some(open) = &fence {
            if open.closed_by(line) {
                fence = None;
                out.push_str("\n\n");
            } else {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let mut body = line.trim();
        if in_comment {
            match body.find("-->") {
                Some(end) => {
                    in_comment = false;
                    body = body[end + 3..].trim_start();
                }
                None => continue,
            }
        }
        if let Some(open) = Fence::opened_by(line) {
            fence = Some(open);
            out.push_str("\n\n");
            after_text = false;
            continue;
        }
        while let Some(rest) = body.strip_prefix('>') {
            body = rest.trim_start();
        }
        let setext = after_text && !body.is_empty() && body.bytes().all(|b| b == b'=');
        if body.is_empty() || setext || thematic_break(body) {
            out.push_str("\n\n");
            after_text = false;
            continue;
        }
        if table_delimiter(body) || definition(body).is_some_and(|d| !d.footnote) {
            continue;
        }
        if let Some(d) = definition(body) {
            body = d.rest;
        }
        let heading = heading(body);
        if let Some(text) = heading {
            out.push_str("\n\n");
            body = text;
        } else {
            body = list_item(body);
        }
        in_comment = inline(body, &labels, &mut out);
        out.push_str(if heading.is_some() { "\n\n" } else { "\n" });
        after_text = heading.is_none();
    }
    out
}

/// An open code fence: its character and length.
struct Fence {
    marker: u8,
    len: usize,
}

impl Fence {
    /// The fence a line opens: three or more backticks or tildes after at most three spaces.
    fn opened_by(line: &str) -> Option<Fence> {
        let body = up_to_three_spaces(line)?;
        let marker = *body
            .as_bytes()
            .first()
            .filter(|b| matches!(b, b'`' | b'~'))?;
        let len = body.bytes().take_while(|&b| b == marker).count();
        // A backtick fence's info string may not hold backticks (that is inline code).
        let info_ok = marker == b'~' || !body[len..].contains('`');
        (len >= 3 && info_ok).then_some(Fence { marker, len })
    }

    /// Whether `line` closes this fence: as many markers or more, and nothing else.
    fn closed_by(&self, line: &str) -> bool {
        up_to_three_spaces(line).is_some_and(|body| {
            let body = body.trim_end();
            body.len() >= self.len && body.bytes().all(|b| b == self.marker)
        })
    }
}

/// The line without up to three leading spaces; `None` if indented further (a code block).
fn up_to_three_spaces(line: &str) -> Option<&str> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    (indent <= 3).then(|| &line[indent..])
}

/// `---`, `***`, `___` (three or more, spaces allowed between).
fn thematic_break(body: &str) -> bool {
    let marks: Vec<u8> = body.bytes().filter(|&b| b != b' ' && b != b'\t').collect();
    marks.len() >= 3
        && matches!(marks[0], b'-' | b'*' | b'_')
        && marks.iter().all(|&b| b == marks[0])
}

/// A table's delimiter row, such as `| --- | :-: |` or `---|---`.
fn table_delimiter(body: &str) -> bool {
    body.contains('|')
        && body.contains('-')
        && body
            .bytes()
            .all(|b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t'))
}

/// A link reference or footnote definition: `[label]: destination` or `[^note]: text`.
struct Definition<'a> {
    label: &'a str,
    footnote: bool,
    /// What follows the colon.
    rest: &'a str,
}

fn definition(body: &str) -> Option<Definition<'_>> {
    let inner = body.strip_prefix('[')?;
    let close = inner.find("]:")?;
    let label = &inner[..close];
    if label.trim().is_empty() || label.contains(['[', ']']) {
        return None;
    }
    let rest = inner[close + 2..].trim_start();
    let footnote = label.starts_with('^');
    (footnote || !rest.is_empty()).then_some(Definition {
        label,
        footnote,
        rest,
    })
}

/// The labels of the document's link reference definitions (outside code blocks),
/// normalised as [`label_key`] does.
fn reference_labels(md: &str) -> HashSet<String> {
    let mut labels = HashSet::new();
    let mut fence: Option<Fence> = None;
    for line in md.lines() {
        match &fence {
            Some(open) if open.closed_by(line) => fence = None,
            Some(_) => {}
            None => {
                fence = Fence::opened_by(line);
                if let Some(d) = definition(line.trim()).filter(|d| !d.footnote) {
                    labels.insert(label_key(d.label));
                }
            }
        }
    }
    labels
}

/// A label compared as Markdown does: case-insensitively, whitespace runs as one space.
fn label_key(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// An ATX heading's text (`## Title ##` → `Title`).
fn heading(body: &str) -> Option<&str> {
    let level = body.bytes().take_while(|&b| b == b'#').count();
    let rest = &body[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim();
    let closing = rest.trim_end_matches('#');
    Some(if closing.is_empty() || closing.ends_with([' ', '\t']) {
        closing.trim_end()
    } else {
        rest
    })
}

/// The line without its list marker (`-`, `*`, `+`, `1.`, `1)`) and task box (`[ ]`, `[x]`).
fn list_item(body: &str) -> &str {
    let bytes = body.as_bytes();
    let marker = match bytes.first() {
        Some(b'-' | b'*' | b'+') => 1,
        Some(b) if b.is_ascii_digit() => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            match bytes.get(digits) {
                Some(b'.' | b')') if digits <= 9 => digits + 1,
                _ => return body,
            }
        }
        _ => return body,
    };
    match bytes.get(marker) {
        None => "",
        Some(b' ' | b'\t') => {
            let item = body[marker..].trim_start();
            ["[ ] ", "[x] ", "[X] "]
                .iter()
                .find_map(|task| item.strip_prefix(task))
                .unwrap_or(item)
        }
        Some(_) => body,
    }
}

/// Appends the text of one line's inline content to `out`. Returns whether an HTML comment
/// was left open at its end.
fn inline(line: &str, labels: &HashSet<String>, out: &mut String) -> bool {
    let bytes = line.as_bytes();
    let brackets = matching(bytes, b'[', b']');
    let parens = matching(bytes, b'(', b')');
    let code = code_spans(bytes);
    // Where a link's text ends (its `]`) → where its destination or label ends.
    let mut jumps: HashMap<usize, usize> = HashMap::new();
    let mut next_gt: Option<Option<usize>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(&to) = jumps.get(&i) {
            i = to;
            continue;
        }
        match bytes[i] {
            b'\\' if bytes.get(i + 1).is_some_and(u8::is_ascii_punctuation) => {
                out.push(char::from(bytes[i + 1]));
                i += 2;
            }
            b'`' => {
                let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
                match code.get(&i) {
                    Some(&close) => {
                        let content = &line[i + run..close];
                        out.push_str(content.strip_prefix(' ').unwrap_or(content));
                        i = close + run;
                    }
                    None => i += run,
                }
            }
            b'!' if bytes.get(i + 1) == Some(&b'[')
                && link_end(bytes, i + 1, &brackets, &parens, labels).is_some() =>
            {
                i += 1;
            }
            b'[' => {
                if let Some((close, end)) = link_end(bytes, i, &brackets, &parens, labels) {
                    jumps.insert(close, end);
                } else {
                    out.push('[');
                }
                i += 1;
            }
            b'<' if line[i..].starts_with("<!--") => match line[i + 4..].find("-->") {
                Some(n) => i += 4 + n + 3,
                None => return true,
            },
            b'<' => {
                let gt = match next_gt {
                    Some(Some(g)) if g > i => Some(g),
                    Some(None) => None,
                    _ => {
                        let found = line[i..].find('>').map(|n| i + n);
                        next_gt = Some(found);
                        found
                    }
                };
                match gt.map(|g| (g, &line[i + 1..g])) {
                    Some((g, inner)) if autolink(inner) => {
                        out.push_str(inner);
                        i = g + 1;
                    }
                    Some((g, inner)) if html_tag(inner) => {
                        html::push_break(out, html::block_break(tag_name(inner)));
                        i = g + 1;
                    }
                    _ => {
                        out.push('<');
                        i += 1;
                    }
                }
            }
            b'&' => {
                let (text, len) = html::entity(&line[i..]).unwrap_or(("&".into(), 1));
                out.push_str(&text);
                i += len;
            }
            b'|' => {
                out.push(' ');
                i += 1;
            }
            marker @ (b'*' | b'_' | b'~') => {
                let run = bytes[i..].iter().take_while(|&&b| b == marker).count();
                let before = line[..i].chars().next_back();
                let after = line[i + run..].chars().next();
                let flanking = |c: Option<char>| c.is_some_and(|c| !c.is_whitespace());
                let intraword = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                let drop = (flanking(before) || flanking(after))
                    && match marker {
                        b'_' => !(intraword(before) && intraword(after)),
                        b'~' => run >= 2,
                        _ => true,
                    };
                if !drop {
                    out.push_str(&line[i..i + run]);
                }
                i += run;
            }
            _ => {
                let len = line[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&line[i..i + len]);
                i += len;
            }
        }
    }
    false
}

/// For a link or image whose text starts at `open` (a `[`): where its text ends (`]`) and
/// where the whole link ends: after `(destination)`, after `[label]`, or after the text for a
/// shortcut reference to a defined label. `None` when it is not a link.
fn link_end(
    bytes: &[u8],
    open: usize,
    brackets: &HashMap<usize, usize>,
    parens: &HashMap<usize, usize>,
    labels: &HashSet<String>,
) -> Option<(usize, usize)> {
    let close = *brackets.get(&open)?;
    match bytes.get(close + 1) {
        Some(b'(') => parens.get(&(close + 1)).map(|&end| (close, end + 1)),
        Some(b'[') => brackets.get(&(close + 1)).map(|&end| (close, end + 1)),
        _ => {
            let label = std::str::from_utf8(&bytes[open + 1..close]).ok()?;
            labels
                .contains(&label_key(label))
                .then_some((close, close + 1))
        }
    }
}

/// The matching closer of each opener (by position), nesting respected; escaped ones are
/// skipped.
fn matching(bytes: &[u8], open: u8, close: u8) -> HashMap<usize, usize> {
    let mut pairs = HashMap::new();
    let mut stack = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b if b == open => stack.push(i),
            b if b == close => {
                if let Some(o) = stack.pop() {
                    pairs.insert(o, i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    pairs
}

/// Code spans: each backtick run that opens one → where its closing run (of the same length)
/// starts.
fn code_spans(bytes: &[u8]) -> HashMap<usize, usize> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let len = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            runs.push((i, len));
            i += len;
        } else {
            i += 1;
        }
    }
    // The next run of each length, found from the right; then pair runs left to right.
    let mut next_same: Vec<Option<usize>> = vec![None; runs.len()];
    let mut last_of_len: HashMap<usize, usize> = HashMap::new();
    for (k, &(_, len)) in runs.iter().enumerate().rev() {
        next_same[k] = last_of_len.insert(len, k);
    }
    let mut spans = HashMap::new();
    let mut k = 0;
    while k < runs.len() {
        match next_same[k] {
            Some(close) => {
                spans.insert(runs[k].0, runs[close].0);
                k = close + 1;
            }
            None => k += 1,
        }
    }
    spans
}

/// `<https://…>` or `<name@example.org>`: an autolink, shown as its address.
fn autolink(inner: &str) -> bool {
    !inner.is_empty()
        && !inner.contains(|c: char| c.is_whitespace() || c == '<')
        && (inner.contains("://") || inner.starts_with("mailto:") || inner.contains('@'))
}

/// The element name in a tag's inside (`/div` → `div`).
fn tag_name(inner: &str) -> &str {
    let name = inner.strip_prefix('/').unwrap_or(inner);
    let end = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    &name[..end]
}

/// An HTML tag's inside: `p`, `/div`, `a href="…"`, `br/`, `!doctype`.
fn html_tag(inner: &str) -> bool {
    let name = inner.strip_prefix('/').unwrap_or(inner);
    name.starts_with(|c: char| c.is_ascii_alphabetic()) || inner.starts_with('!')
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_linear;
    use super::super::{Format, normalize};
    use super::*;

    fn text(md: &str) -> String {
        normalize(&to_text(md))
    }

    #[test]
    fn headings_emphasis_and_code_markers_are_dropped() {
        let md = "# Quarterly *planning*\n\nSome **bold**, _italic_, ~~struck~~ and `code()` \
                  text with snake_case_name and 2 * 3 = 6.\n\n### Closing ###\nSetext\n======\n";
        assert_eq!(
            text(md),
            "Quarterly planning\n\nSome bold, italic, struck and code() text with \
             snake_case_name and 2 * 3 = 6.\n\nClosing\n\nSetext"
        );
        assert_eq!(
            text("#hashtag is not a heading"),
            "#hashtag is not a heading"
        );
    }

    #[test]
    fn links_and_images_become_their_text_and_definitions_go() {
        let md = "See [the report](https://example.org/r?a=(1)) and ![a chart](c.png \"t\").\n\
                  Also [the wiki][wiki], [Wiki] and [not a link].\n\
                  Mail <ops@example.org> or <https://example.org/x>.\n\n\
                  [wiki]: https://wiki.example.org \"Wiki\"\n";
        assert_eq!(
            text(md),
            "See the report and a chart.\nAlso the wiki, Wiki and [not a link].\n\
             Mail ops@example.org or https://example.org/x."
        );
    }

    #[test]
    fn nested_links_and_code_inside_links_keep_their_text() {
        assert_eq!(
            text("[![badge](b.svg)](https://ci) and [`cmd` docs](d)"),
            "badge and cmd docs"
        );
    }

    #[test]
    fn lists_quotes_tables_and_rules_lose_their_markup() {
        let md = "- first item\n* second\n+ third\n1. one\n2) two\n- [x] done task\n\
                  > quoted *text*\n> > nested\n\n---\n\n| Name | Role |\n|:-----|-----:|\n\
                  | Ana  | Lead |\n\nfooter \\| escaped pipe \\*not emphasis\\*";
        assert_eq!(
            text(md),
            "first item\nsecond\nthird\none\ntwo\ndone task\nquoted text\nnested\n\n\
             Name Role\nAna Lead\n\nfooter | escaped pipe *not emphasis*"
        );
    }

    #[test]
    fn code_fences_keep_their_content_verbatim() {
        let md =
            "Before\n```rust\nlet x = *y; // [not](link)\n```\n~~~~\n# not a heading\n~~~~\nAfter";
        assert_eq!(
            text(md),
            "Before\n\nlet x = *y; // [not](link)\n\n# not a heading\n\nAfter"
        );
        // A definition inside a fence defines nothing.
        assert_eq!(text("```\n[x]: y\n```\n[x]"), "[x]: y\n\n[x]");
    }

    #[test]
    fn inline_html_and_comments_are_removed() {
        let md = "Text <span class=\"x\">inside</span> <!-- note --> and<br/>more\n\
                  <div align=\"center\">\n<p>Block</p>\n</div>\n<!--\nhidden\n-->visible\n\
                  a < b > c";
        assert_eq!(
            text(md),
            "Text inside and\nmore\n\nBlock\n\nvisible\na < b > c"
        );
    }

    #[test]
    fn footnotes_keep_their_text_and_entities_are_decoded() {
        assert_eq!(
            text("Claim[^1] &amp; more&nbsp;text.\n\n[^1]: The source &copy; 2024."),
            "Claim[^1] & more text.\n\nThe source © 2024."
        );
    }

    #[test]
    fn unicode_text_passes_through() {
        assert_eq!(
            text("## Café – naïve façade\n\n*Zürich* 会议 😀"),
            "Café – naïve façade\n\nZürich 会议 😀"
        );
    }

    #[test]
    fn hostile_inputs_finish_in_linear_time() {
        let cases = [
            "[".repeat(500_000),
            "[a](".repeat(200_000),
            "`".repeat(300_000) + "x",
            "` ``".repeat(200_000),
            "<a".repeat(400_000),
            "<!--".repeat(200_000),
            "*_~".repeat(300_000),
            "![".repeat(300_000) + &"](x)".repeat(300_000),
            "> ".repeat(400_000),
        ];
        assert_linear(Format::Markdown, &cases);
    }
}
