//! The detectors: a candidate pattern per kind, then the checks that make a candidate a value
//! (Luhn and issuer range for cards, mod 97 and the country's length for IBANs, the SSA's
//! never-issued ranges for SSNs, octet ranges for IPv4, `std`'s parser for IPv6, grouping
//! rules for phone numbers). Overlaps are settled in [`Kind::BUILTIN`] order, custom patterns
//! between the checksummed kinds and the phone numbers.

use std::net::Ipv6Addr;

use regex::Regex;

use super::{CustomPattern, Found, Kind, PiiError};

/// Compiled detectors: the built-in ones and the operator's patterns.
#[derive(Debug, Clone)]
pub struct Detector {
    email: Regex,
    card: Regex,
    iban: Regex,
    ssn: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone_run: Regex,
    nanp: Regex,
    custom: Vec<(String, Regex)>,
}

fn compile(pattern: &str) -> Regex {
    // The built-in patterns are constants, tested below; a failure is a bug in this file.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("built-in PII pattern compiles")
}

// ASCII only: `[0-9]`, not `\d` (which takes Arabic-Indic and full-width digits), explicit
// letter ranges, not `(?i)` (whose Unicode folding takes `ſ` and the Kelvin sign), and ASCII
// word boundaries; so a match's bytes are ASCII and slicing around it stays on char boundaries.
impl Default for Detector {
    fn default() -> Self {
        Self {
            email: compile(
                r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)",
            ),
            card: compile(
                r"(?-u:\b)(?:[0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}(?:[ \-][0-9]{3})?|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5}|[0-9]{13,19})(?-u:\b)",
            ),
            iban: compile(
                r"(?-u:\b)[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?-u:\b)",
            ),
            ssn: compile(r"(?-u:\b)[0-9]{3}([ \-])[0-9]{2}[ \-][0-9]{4}(?-u:\b)"),
            ipv4: compile(r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)"),
            ipv6: compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*"),
            phone_run: compile(r"(?:\+|\(|(?-u:\b))[0-9][0-9 \-.()]{4,24}[0-9]\)?"),
            nanp: compile(
                r"^(?:1[ .\-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}$",
            ),
            custom: Vec::new(),
        }
    }
}

impl Detector {
    /// The built-in detectors and `custom` patterns, each checked: a name of capitals, digits
    /// and underscores that is not a built-in label, a pattern that compiles and cannot match
    /// the empty string.
    pub fn new(custom: &[CustomPattern]) -> Result<Self, PiiError> {
        let mut detector = Self::default();
        for c in custom {
            let name = c.name.trim();
            let valid = !name.is_empty()
                && name.len() <= 32
                && name.starts_with(|ch: char| ch.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_');
            if !valid {
                return Err(PiiError::BadName(c.name.clone()));
            }
            if Kind::BUILTIN.iter().any(|k| k.label() == name) {
                return Err(PiiError::BuiltinName(c.name.clone()));
            }
            let re = regex::RegexBuilder::new(&c.pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| PiiError::BadPattern {
                    name: name.to_owned(),
                    reason: e.to_string(),
                })?;
            if re.is_match("") {
                return Err(PiiError::EmptyMatch(name.to_owned()));
            }
            detector.custom.push((name.to_owned(), re));
        }
        Ok(detector)
    }

    /// Every value in `text`, in order, none overlapping.
    pub fn find(&self, text: &str) -> Vec<Found> {
        // (rank, found): lower ranks win overlaps.
        let mut all: Vec<(usize, Found)> = Vec::new();
        let mut push = |rank: usize, kind: Kind, start: usize, end: usize| {
            all.push((rank, Found { kind, start, end }));
        };
        for m in self.email.find_iter(text) {
            push(0, Kind::Email, m.start(), m.end());
        }
        for (s, e) in self.ibans(text) {
            push(1, Kind::Iban, s, e);
        }
        for m in self.card.find_iter(text) {
            if is_card(m.as_str())
                && !glued(text, m.start(), m.end())
                && !in_longer_grouping(text, m.start(), m.end())
            {
                push(2, Kind::Card, m.start(), m.end());
            }
        }
        for c in self.ssn.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if is_ssn(m.as_str()) && !glued(text, m.start(), m.end()) {
                push(3, Kind::Ssn, m.start(), m.end());
            }
        }
        for (s, e) in self.ips(text) {
            push(4, Kind::Ip, s, e);
        }
        for (name, re) in &self.custom {
            for m in re.find_iter(text) {
                if m.start() < m.end() {
                    push(5, Kind::Custom(name.clone()), m.start(), m.end());
                }
            }
        }
        for (s, e) in self.phones(text) {
            push(6, Kind::Phone, s, e);
        }
        all.sort_by_key(|(rank, f)| (*rank, f.start));
        let mut kept: Vec<Found> = Vec::new();
        for (_, f) in all {
            if kept.iter().all(|k| f.end <= k.start || f.start >= k.end) {
                kept.push(f);
            }
        }
        kept.sort_by_key(|f| f.start);
        kept
    }

    fn ibans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for m in self.iban.find_iter(text) {
            let s = m.as_str();
            let upper = s.to_ascii_uppercase();
            let Some(len) = upper.get(..2).and_then(iban_length) else {
                continue;
            };
            // The candidate may run into a following group; cut it at the country's length.
            let mut count = 0;
            let mut cut = None;
            for (i, ch) in s.char_indices() {
                if ch.is_ascii_alphanumeric() {
                    count += 1;
                    if count == len {
                        cut = Some(i + ch.len_utf8());
                        break;
                    }
                }
            }
            let Some(cut) = cut else { continue };
            let end = m.start() + cut;
            if text[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let compact: String = upper[..cut].chars().filter(|c| *c != ' ').collect();
            // Letters in an IBAN are upper case; a lower-case one is a word, not an account.
            if s[..cut].chars().any(|c| c.is_ascii_lowercase()) {
                continue;
            }
            if iban_checksum_ok(&compact) {
                out.push((m.start(), end));
            }
        }
        out
    }

    fn ips(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for m in self.ipv4.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let octets_ok = m.as_str().split('.').all(|o| {
                o.parse::<u16>().is_ok_and(|v| v <= 255) && (o == "0" || !o.starts_with('0'))
            });
            let before = &text[..s];
            let after = &text[e..];
            let dotted_neighbour = before.ends_with(|c: char| c == '.' || c.is_ascii_digit())
                || after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit());
            let version = {
                // The word right before: "v1.2.3.4", "v 1.2.3.4" or "version 1.2.3.4" is a
                // version; "dev 10.0.0.5" is an address.
                let word = before
                    .trim_end()
                    .rsplit(|c: char| !c.is_alphanumeric())
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                matches!(word.as_str(), "v" | "version" | "release" | "build")
            };
            if octets_ok && !dotted_neighbour && !version {
                out.push((s, e));
            }
        }
        for m in self.ipv6.find_iter(text) {
            let mut s = m.start();
            let mut e = m.end();
            let mut cand = m.as_str();
            // A sentence's full stop or a trailing colon is not part of the address.
            while cand.ends_with('.') || (cand.ends_with(':') && !cand.ends_with("::")) {
                cand = &cand[..cand.len() - 1];
                e -= 1;
            }
            while cand.starts_with(':') && !cand.starts_with("::") {
                cand = &cand[1..];
                s += 1;
            }
            let hex_digits = cand.chars().filter(|c| c.is_ascii_hexdigit()).count();
            let glued_word = text[..s].ends_with(|c: char| c.is_alphanumeric())
                || text[e..].starts_with(|c: char| c.is_alphanumeric());
            if hex_digits >= 1 && !glued_word && cand.parse::<Ipv6Addr>().is_ok() {
                out.push((s, e));
            }
        }
        out
    }

    fn phones(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for m in self.phone_run.find_iter(text) {
            let run = &text[m.start()..m.end()];
            // Digit groups of the run, by byte range within it.
            let mut groups: Vec<(usize, usize)> = Vec::new();
            let mut start = None;
            for (i, ch) in run.char_indices() {
                match (ch.is_ascii_digit(), start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) => {
                        groups.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                groups.push((s, run.len()));
            }
            // The longest run of whole groups that is a phone number.
            let mut best: Option<(usize, usize)> = None;
            'outer: for len in (1..=groups.len()).rev() {
                for first in 0..=groups.len() - len {
                    let (mut s, first_end) = groups[first];
                    let (_, mut e) = groups[first + len - 1];
                    let b = run.as_bytes();
                    // "(415) 555-…": an opening parenthesis belongs to the number only when it
                    // closes right after the first group; "+" always does.
                    if s > 0 && b[s - 1] == b'(' && b.get(first_end) == Some(&b')') {
                        s -= 1;
                    }
                    if s > 0 && b[s - 1] == b'+' {
                        s -= 1;
                    }
                    let opens = run[s..e].matches('(').count();
                    let closes = run[s..e].matches(')').count();
                    if opens == closes + 1 && run[e..].starts_with(')') {
                        e += 1;
                    }
                    let (abs_s, abs_e) = (m.start() + s, m.start() + e);
                    if self.is_phone(&text[abs_s..abs_e], text, abs_s, abs_e) {
                        best = Some((abs_s, abs_e));
                        break 'outer;
                    }
                }
            }
            out.extend(best);
        }
        out
    }

    fn is_phone(&self, cand: &str, text: &str, s: usize, e: usize) -> bool {
        if cand.matches('(').count() != cand.matches(')').count() {
            return false;
        }
        let before = text[..s].chars().next_back();
        let after = text[e..].chars().next();
        if before.is_some_and(|c| c.is_alphanumeric() || "$€£¥#/.:,_-".contains(c)) {
            return false;
        }
        if after.is_some_and(|c| c.is_alphanumeric() || "%/:_".contains(c)) {
            return false;
        }
        if after == Some('.') || after == Some(',') || after == Some('-') {
            // "1.5" or "1,000": a number continuing, not a sentence's end.
            if text[e + 1..].starts_with(|c: char| c.is_ascii_digit()) {
                return false;
            }
        }
        let digits = cand.chars().filter(char::is_ascii_digit).count();
        let groups = cand
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .count();
        let seps: Vec<char> = cand
            .chars()
            .filter(|c| matches!(c, ' ' | '-' | '.'))
            .collect();
        if let Some(rest) = cand.strip_prefix('+') {
            // +CC …: E.164 allows 15 digits; 8 is the shortest real international number.
            let cc_ok =
                rest.starts_with(|c: char| c.is_ascii_digit() && c != '0') || rest.starts_with('(');
            return cc_ok && (8..=15).contains(&digits);
        }
        if cand.starts_with("00") && cand[2..].starts_with(|c: char| c != '0') {
            // 00 CC …: the international prefix dialled in Europe.
            return groups >= 2 && (10..=17).contains(&digits) && !seps.contains(&'.');
        }
        if self.nanp.is_match(cand) {
            return true;
        }
        if cand.len() == 11 && cand.as_bytes()[3] == b'-' && cand.as_bytes()[6] == b'-' {
            // 3-2-4 with dashes is the shape of an SSN, not of any phone numbering plan.
            return false;
        }
        let trunk = cand.trim_start_matches('(');
        if trunk.starts_with('0')
            && !trunk[1..].starts_with(|c: char| !c.is_ascii_digit() || c == '0')
        {
            // A national number with its trunk 0: 020 7946 0958, 030-1234567, 06 12 34 56 78.
            let dots_ok =
                !seps.contains(&'.') || (groups >= 4 && cand.split('.').all(|g| g.len() == 2));
            let first = cand
                .split(|c: char| !c.is_ascii_digit())
                .find(|g| !g.is_empty())
                .map_or(0, str::len);
            return groups >= 2
                && (9..=11).contains(&digits)
                && (2..=5).contains(&first)
                && dots_ok;
        }
        if digits == 7 && groups == 2 && cand.len() == 8 && cand.as_bytes()[3] == b'-' {
            // 555-0123: a local number, only when the words before say so.
            let mut cut = s.saturating_sub(24);
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            let lead = text[cut..s].to_ascii_lowercase();
            let phoney = [
                "call",
                "phone",
                "dial",
                "extension",
                "mobile",
                "cell",
                "tel",
                "fax",
            ]
            .iter()
            .any(|w| lead.contains(w));
            let other = ["order", "invoice", "ticket", "case", "ref", "room", "po "]
                .iter()
                .any(|w| lead.contains(w));
            return phoney && !other;
        }
        false
    }
}

/// Whether the match continues a longer number (`-`, `.` or a space followed by more digits),
/// so it is a part of something else.
fn glued(text: &str, s: usize, e: usize) -> bool {
    let b = text.as_bytes();
    let before = s >= 2 && matches!(b[s - 1], b'-' | b'.' | b'/') && b[s - 2].is_ascii_digit();
    let after = e + 1 < b.len() && matches!(b[e], b'-' | b'.' | b'/') && b[e + 1].is_ascii_digit();
    before || after
}

/// Whether a space-grouped match sits inside a longer run of groups ("SE35 2362 9085 0648 2787
/// 2196": an account number, not a card inside it).
fn in_longer_grouping(text: &str, s: usize, e: usize) -> bool {
    let group =
        |g: &str| (1..=4).contains(&g.len()) && g.chars().all(|c| c.is_ascii_alphanumeric());
    let before = text[..s]
        .strip_suffix(' ')
        .and_then(|t| t.rsplit(' ').next())
        .is_some_and(group);
    let after = text[e..]
        .strip_prefix(' ')
        .and_then(|t| t.split([' ', '.', ',', ';', ')']).next())
        .is_some_and(|g| group(g) && g.chars().any(|c| c.is_ascii_digit()));
    text[s..e].contains(' ')
        && (before && text[..s].trim_end().ends_with(|c: char| c.is_ascii_digit()) || after)
}

/// Luhn's check digit and a known issuer range and length: Visa, Mastercard, American
/// Express, Discover, JCB, Diners Club, UnionPay, Maestro.
pub(crate) fn is_card(s: &str) -> bool {
    let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
    if seps.windows(2).any(|w| w[0] != w[1]) {
        return false;
    }
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let n = digits.len();
    if !(13..=19).contains(&n) || !luhn(&digits) {
        return false;
    }
    let prefix = |k: usize| -> u32 { digits[..k].iter().fold(0, |a, d| a * 10 + u32::from(*d)) };
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    match p1 {
        4 => matches!(n, 13 | 16 | 19),
        5 => ((51..=55).contains(&p2) && n == 16) || ((50..=59).contains(&p2) && n >= 12),
        2 => (2221..=2720).contains(&p4) && n == 16,
        3 => {
            ((p2 == 34 || p2 == 37) && n == 15)
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
                || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && (14..=19).contains(&n))
        }
        6 => {
            (p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622126..=622925).contains(&p6))
                && (16..=19).contains(&n)
                || (p2 == 62 && (16..=19).contains(&n))
                || ((p2 == 67 || p2 == 63) && (12..=19).contains(&n))
        }
        _ => false,
    }
}

pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The SSA never issues area 000, 666 or 900–999, group 00 or serial 0000.
fn is_ssn(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps.len() != 2 || seps[0] != seps[1] {
        return false;
    }
    let area = &digits[..3];
    let area_ok = area != "000" && area != "666" && !area.starts_with('9');
    area_ok && &digits[3..5] != "00" && &digits[5..] != "0000"
}

/// ISO 13616: move the first four characters to the end, letters as 10–35, the number mod 97
/// must be 1.
pub(crate) fn iban_checksum_ok(compact: &str) -> bool {
    if compact.len() < 15 || !compact.is_ascii() {
        return false;
    }
    let rearranged = compact[4..].bytes().chain(compact[..4].bytes());
    let mut rem: u32 = 0;
    for b in rearranged {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// An IBAN's length in its country (SWIFT's IBAN registry).
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NL", 18),
        ("NO", 15),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("SA", 24),
        ("SC", 31),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
    ];
    LENGTHS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_patterns_compile() {
        let _ = Detector::default();
    }

    #[test]
    fn luhn_and_mod97_known_values() {
        assert!(is_card("4111 1111 1111 1111"));
        assert!(!is_card("4111 1111 1111 1112"));
        assert!(!is_card("4111-1111 1111-1111"), "mixed separators");
        assert!(is_card("378282246310005"));
        assert!(iban_checksum_ok("GB82WEST12345698765432"));
        assert!(!iban_checksum_ok("GB82WEST12345698765433"));
        assert!(iban_checksum_ok("DE89370400440532013000"));
    }

    #[test]
    fn multibyte_text_next_to_candidates_does_not_panic() {
        let d = Detector::default();
        for text in [
            "Merci José, so please call me on 555-0123",
            "A\u{17f}12 3456 7890",
            "\u{212a}A12 3456 7890 1234",
            "é٣٤٥-٦٧-٨٩٠١ ＋４４ ２０ and ¹²³.⁴⁵.⁶⁷.⁸⁹",
            "日本語 +81 3-1234-5678 日本語",
        ] {
            let _ = d.find(text);
        }
        let f = d.find("Merci José, so please call me on 555-0123");
        assert_eq!(
            f.len(),
            1,
            "the local number after an accented word is found"
        );
        // Non-ASCII digits are not values.
        assert!(d.find("٤١١١ ١١١١ ١١١١ ١١١١").is_empty());
        // "dev" is not "v": the address is found.
        assert_eq!(d.find("the IP for dev 10.0.0.5").len(), 1);
        assert!(
            d.find("upgrade to v10.0.0.5 and version 1.2.3.4")
                .is_empty()
        );
    }

    #[test]
    fn custom_patterns_are_checked() {
        let p = |name: &str, pattern: &str| CustomPattern {
            name: name.into(),
            pattern: pattern.into(),
        };
        assert!(matches!(
            Detector::new(&[p("EMAIL", "x")]),
            Err(PiiError::BuiltinName(_))
        ));
        assert!(matches!(
            Detector::new(&[p("emp", "x")]),
            Err(PiiError::BadName(_))
        ));
        assert!(matches!(
            Detector::new(&[p("EMP", "(")]),
            Err(PiiError::BadPattern { .. })
        ));
        assert!(matches!(
            Detector::new(&[p("EMP", "x*")]),
            Err(PiiError::EmptyMatch(_))
        ));
        let d = Detector::new(&[p("EMPLOYEE_ID", r"\bEMP-\d{6}\b")]).unwrap();
        let f = d.find("ask EMP-123456 about it");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::Custom("EMPLOYEE_ID".into()));
    }
}
