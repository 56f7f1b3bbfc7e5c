//! Rendered meetings, held to what poppler reads back from them: the text in reading order,
//! every script DejaVu Sans covers, hostile text, pagination, the empty meeting, the size of a
//! subsetted file, and ink on the page. Needs poppler-utils (scripts/pdf-tools.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod poppler;

use meetvault_pdf::{ActionItem, Line, MeetingDoc, Section};
use poppler::{Pdf, assert_in_order};

/// The words of some text as they should come back: control characters are spaces.
fn words_of(text: &str) -> Vec<String> {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn line<'a>(start_seconds: f64, speaker: &'a str, text: &'a str) -> Line<'a> {
    Line {
        start_seconds,
        speaker,
        text,
    }
}

/// A meeting with a title and a transcript, and nothing else.
fn transcript<'a>(title: &'a str, segments: &'a [Line<'a>]) -> MeetingDoc<'a> {
    MeetingDoc {
        title,
        segments,
        ..MeetingDoc::default()
    }
}

#[test]
fn text_comes_back_in_reading_order() {
    let decisions = ["Ship the export in December.", "Keep one typeface."];
    let risks = ["Legal review may slip."];
    let sections = [
        Section {
            heading: "Decisions",
            items: &decisions,
        },
        Section {
            heading: "Risks",
            items: &risks,
        },
    ];
    let actions = [
        ActionItem {
            text: "Send the draft contract to legal",
            owner: Some("Zoë"),
            due: Some("2026-12-12"),
        },
        ActionItem {
            text: "Book the retro room",
            owner: None,
            due: None,
        },
    ];
    let segments = [
        line(
            0.0,
            "Alice Martin",
            "Good morning, let us start with the export.",
        ),
        line(75.4, "Bob", "The contract draft is nearly done."),
        line(3725.0, "Alice Martin", "Then we are finished for today."),
    ];
    let doc = MeetingDoc {
        title: "Quarterly planning",
        started_at: Some("2026-12-05 09:30 UTC"),
        language: Some("en"),
        overview: Some("The team agreed on the export and the contract."),
        sections: &sections,
        action_items: &actions,
        segments: &segments,
    };
    let pdf = Pdf::render(&doc);
    assert_in_order(
        &pdf.words(),
        &[
            "Quarterly planning",
            "2026-12-05 09:30 UTC · Language: en",
            "Summary",
            "The team agreed on the export and the contract.",
            "Decisions",
            "• Ship the export in December.",
            "• Keep one typeface.",
            "Risks",
            "• Legal review may slip.",
            "Action items",
            "☐ Send the draft contract to legal — Owner: Zoë · Due: 2026-12-12",
            "☐ Book the retro room",
            "Transcript",
            "[0:00:00] Alice Martin: Good morning, let us start with the export.",
            "[0:01:15] Bob: The contract draft is nearly done.",
            "[1:02:05] Alice Martin: Then we are finished for today.",
            "Quarterly planning Page 1 of 1",
        ],
    );
    assert_eq!(pdf.info("Title"), "Quarterly planning");
    assert_eq!(pdf.pages(), 1);
    let raw = String::from_utf8_lossy(&pdf.bytes);
    assert!(raw.contains("/Lang (en)"), "no /Lang in the catalog");
}

#[test]
fn accented_latin_greek_and_cyrillic_come_back_exactly() {
    // All of Latin-1's letters and all of Latin Extended-A, in words of eight.
    let latin: Vec<char> = ('\u{C0}'..='\u{17F}')
        .filter(|c| c.is_alphabetic())
        .collect();
    let latin: Vec<String> = latin.chunks(8).map(|w| w.iter().collect()).collect();
    let latin = latin.join(" ");
    let greek = "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΑΒΓΔΕΖΗΘ αβγδεζηθ ϊΰώ";
    let cyrillic = "Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖЩЪ ґєії";
    let other = "€ £ ¥ © ® ™ ° ± ½ → ✓ „quoted“ «guillemets» — en–dash …";
    let segments = [
        line(1.0, "Zoë Ørsted-Łukasiewicz", &latin),
        line(2.0, "Νίκος", greek),
        line(3.0, "Дмитрий", cyrillic),
        line(4.0, "Ægir", other),
    ];
    let doc = transcript("Réunion — Überprüfung ĳ Œuvre", &segments);
    let pdf = Pdf::render(&doc);
    let text = pdf.words();
    for segment in &segments {
        assert_in_order(&text, &[&format!("{}: {}", segment.speaker, segment.text)]);
    }
    assert_eq!(pdf.info("Title"), "Réunion — Überprüfung ĳ Œuvre");
}

#[test]
fn hostile_text_neither_breaks_the_file_nor_loses_words() {
    let long_word = "x".repeat(250) + &"y".repeat(250);
    let long_speaker = format!("Dr. {} the Third", "Bartholomew-".repeat(30));
    let texts = [
        "a ) Tj ( b",
        "back\\slash \\\\ \\) \\( (unbalanced",
        "%%EOF\nstartxref\n0\ntrailer << /Root 1 0 R >>",
        "endstream endobj BT ET <0041> <FEFF>",
        "ctrl\u{0}nul\u{7}bell\u{1b}[31mred\u{7f}del\r\nnext\ttab\u{85}nel\u{2028}ls",
        &long_word,
        "",
        "   ",
        "soft\u{AD}hyphen zero\u{200B}width rtl\u{202E}override \u{FEFF}bom",
    ];
    let mut segments: Vec<Line<'_>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| line(i as f64, "Eve (attacker) \\", t))
        .collect();
    segments.push(line(100.0, &long_speaker, "after the long speaker"));
    segments.push(line(101.0, "", "no speaker at all"));
    segments.push(line(102.0, "", ""));
    let items = ["(item) \\ ) Tj", ""];
    let sections = [Section {
        heading: ") Tj (",
        items: &items,
    }];
    let actions = [ActionItem {
        text: "\\",
        owner: Some(")"),
        due: Some("\n"),
    }];
    let doc = MeetingDoc {
        title: "(Title) \\ ) Tj (\n%%EOF",
        started_at: Some("\u{0}"),
        language: Some("en) /Foo (bar"),
        overview: Some(""),
        sections: &sections,
        action_items: &actions,
        segments: &segments,
    };
    let pdf = Pdf::render(&doc);
    let text = pdf.words();
    let squeezed: String = text.split_whitespace().collect();
    for segment in &segments {
        for word in words_of(segment.speaker)
            .iter()
            .chain(&words_of(segment.text))
        {
            let word = word.replace(['\u{AD}', '\u{200B}', '\u{202E}', '\u{FEFF}'], "");
            if word.len() > 60 {
                // Broken across lines: whole once the line breaks are gone.
                assert!(squeezed.contains(&word), "lost the long word {word:.40}…");
            } else {
                assert!(text.contains(&word), "lost {word:?}");
            }
        }
    }
    assert_in_order(
        &text,
        &[
            "(Title) \\ ) Tj ( %%EOF",
            ") Tj (",
            "• (item) \\ ) Tj",
            "☐ \\ — Owner: )",
            "a ) Tj ( b",
            "softhyphen zerowidth rtloverride bom",
            "the Third: after the long speaker",
            "no speaker at all",
        ],
    );
    assert_eq!(pdf.info("Title"), "(Title) \\ ) Tj ( %%EOF");
    assert!(!String::from_utf8_lossy(&pdf.bytes).contains("/Lang"));
    // The file's structure is intact: exactly one end-of-file marker, at the end.
    let raw = String::from_utf8_lossy(&pdf.bytes);
    assert_eq!(raw.matches("%%EOF").count(), 1);
    assert!(raw.ends_with("%%EOF\n"));
}

#[test]
fn a_long_transcript_paginates_with_a_footer_on_every_page() {
    let texts: Vec<String> = (0..2000)
        .map(|i| format!("Segment {i:04} says something worth keeping, item{i}."))
        .collect();
    let segments: Vec<Line<'_>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| line(i as f64 * 4.2, ["Alice", "Bob", "Carol"][i % 3], t))
        .collect();
    let doc = transcript("All-hands", &segments);
    let pdf = Pdf::render(&doc);
    let pages = pdf.pages();
    assert!(pages > 20, "{pages} pages for 2,000 segments");
    let text = pdf.words();
    let footers: Vec<String> = (1..=pages)
        .map(|n| format!("All-hands Page {n} of {pages}"))
        .collect();
    assert_in_order(
        &text,
        &footers.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(text.matches(" of ").count(), pages, "one footer per page");
    // Past the first hour, every timestamp has the hours field.
    let lines: Vec<String> = segments
        .iter()
        .map(|s| {
            let t = s.start_seconds as u64;
            let (h, m, sec) = (t / 3600, t / 60 % 60, t % 60);
            format!("[{h}:{m:02}:{sec:02}] {}: {}", s.speaker, s.text)
        })
        .collect();
    assert_in_order(&text, &lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert_in_order(
        &text,
        &["[0:59:59] Carol:", "[1:00:03] Alice:", "[2:19:55] Bob:"],
    );
}

#[test]
fn a_meeting_with_nothing_yet_is_a_valid_pdf_that_says_so() {
    let doc = MeetingDoc {
        title: "Kickoff",
        ..MeetingDoc::default()
    };
    let pdf = Pdf::render(&doc);
    assert_eq!(pdf.pages(), 1);
    let text = pdf.words();
    assert_eq!(
        text,
        "Kickoff Transcript No transcript yet. Kickoff Page 1 of 1"
    );

    let untitled = Pdf::render(&MeetingDoc::default());
    assert_eq!(untitled.info("Title"), "Untitled meeting");
    assert!(
        untitled
            .words()
            .starts_with("Untitled meeting Transcript No transcript yet.")
    );
}

#[test]
fn a_few_words_make_a_small_file_with_subsetted_fonts() {
    let segments = [line(3.0, "Ann", "Hello everyone.")];
    let doc = transcript("Standup", &segments);
    let pdf = Pdf::render(&doc);
    // About 18 KB: the two subsetted fonts, most of it their outlines and notices.
    assert!(pdf.bytes.len() < 22_000, "{} bytes", pdf.bytes.len());
    assert_eq!(
        pdf.words(),
        "Standup Transcript [00:03] Ann: Hello everyone. Standup Page 1 of 1"
    );
    let fonts = pdf.fonts();
    assert_eq!(fonts.len(), 2, "{fonts:?}");
    for font in fonts {
        let (tag, name) = font[0].split_once('+').unwrap();
        assert!(
            tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()),
            "{font:?}"
        );
        assert!(name.starts_with("DejaVuSans"), "{font:?}");
        assert_eq!(
            font[1..],
            ["CID TrueType", "Identity-H", "yes", "yes", "yes"]
        );
    }
    // The same meeting gives the same bytes.
    assert_eq!(meetvault_pdf::render(&doc), pdf.bytes);
}

#[test]
fn the_first_page_has_ink_in_the_text_area_and_white_margins() {
    let segments: Vec<Line<'_>> = (0..60)
        .map(|i| {
            line(
                f64::from(i) * 9.0,
                "Speaker",
                "Words on a line that wraps onto the next line at some point, surely.",
            )
        })
        .collect();
    let doc = transcript("Design review", &segments);
    let pdf = Pdf::render(&doc);
    let page = pdf.raster(1, 60);
    // A4 at 60 dpi is 497 × 702 (poppler rounds up); the margins are 2 cm, 47 pixels.
    assert_eq!((page.width, page.height), (497, 702));
    let margin = 44;
    let mut dark = 0;
    for y in 0..page.height {
        for x in 0..page.width {
            let v = page.at(x, y);
            let in_margin = x < margin || x >= page.width - margin || y < margin;
            if in_margin {
                assert!(v >= 250, "ink at ({x}, {y}) in the margin: {v}");
            } else if v < 128 {
                dark += 1;
            }
        }
    }
    assert!(dark > 5_000, "only {dark} dark pixels on a full page");
}
