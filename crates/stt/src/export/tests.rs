//! Each export format against its exact expected text, and hostile text against each structure.

use super::*;

fn segment(speaker: &str, start: f64, end: f64, text: &str) -> Segment {
    Segment {
        speaker: speaker.to_owned(),
        start,
        end,
        text: text.to_owned(),
        avg_logprob: None,
        no_speech_prob: None,
        words: Vec::new(),
    }
}

/// Two speakers, a zero-length cue past the first hour, and characters that need escaping.
fn fixture() -> Vec<Segment> {
    let mut first = segment("Alice", 0.0, 1.4, "Hi Bob.");
    first.avg_logprob = Some(-0.25);
    first.no_speech_prob = Some(0.01);
    vec![
        first,
        segment("Bob", 1.5, 3.0, "Hi Alice, ready?"),
        segment("Alice", 3661.25, 3661.25, "Yes & no <maybe>."),
    ]
}

const META: ExportMeta<'static> = ExportMeta {
    title: "Weekly sync",
    started_at: Some("2026-03-01T10:00:00Z"),
    language: Some("en"),
};

const HOSTILE: &str =
    "evil --> 00:00:09,000\n\n99\r\n<script>alert(1)</script>\u{2028}ünï 😀 ---> end";

fn hostile() -> Vec<Segment> {
    vec![
        segment("Mallory\n\n-->", 1.0, 2.0, HOSTILE),
        segment("<b>Eve</b> & co", 2.0, 1.0, "fine"),
        segment("Alice", 3.0, 4.0, " \n "),
    ]
}

#[test]
fn srt_has_numbered_cues_with_comma_milliseconds_and_speaker_prefix() {
    let expected = "\
1
00:00:00,000 --> 00:00:01,400
Alice: Hi Bob.

2
00:00:01,500 --> 00:00:03,000
Bob: Hi Alice, ready?

3
01:01:01,250 --> 01:01:01,251
Alice: Yes & no <maybe>.

";
    assert_eq!(export(ExportFormat::Srt, &META, &fixture()), expected);
}

#[test]
fn vtt_has_a_header_dot_milliseconds_and_escaped_voice_spans() {
    let expected = "\
WEBVTT

00:00:00.000 --> 00:00:01.400
<v Alice>Hi Bob.

00:00:01.500 --> 00:00:03.000
<v Bob>Hi Alice, ready?

01:01:01.250 --> 01:01:01.251
<v Alice>Yes &amp; no &lt;maybe&gt;.

";
    assert_eq!(export(ExportFormat::Vtt, &META, &fixture()), expected);
}

#[test]
fn markdown_has_a_title_details_and_one_paragraph_per_segment() {
    let expected = "\
# Weekly sync

- Started: 2026-03-01T10:00:00Z
- Language: en

**Alice** [00:00] Hi Bob.

**Bob** [00:01] Hi Alice, ready?

**Alice** [61:01] Yes \\& no \\<maybe\\>.

";
    assert_eq!(export(ExportFormat::Md, &META, &fixture()), expected);
}

#[test]
fn txt_has_one_stamped_line_per_segment() {
    let expected = "\
[00:00:00] Alice: Hi Bob.
[00:00:01] Bob: Hi Alice, ready?
[01:01:01] Alice: Yes & no <maybe>.
";
    assert_eq!(export(ExportFormat::Txt, &META, &fixture()), expected);
}

#[test]
fn json_has_the_meta_and_the_segments_and_reads_back() {
    let expected = r#"{
  "title": "Weekly sync",
  "started_at": "2026-03-01T10:00:00Z",
  "language": "en",
  "segments": [
    {
      "speaker": "Alice",
      "start": 0.0,
      "end": 1.4,
      "text": "Hi Bob.",
      "avg_logprob": -0.25,
      "no_speech_prob": 0.01
    },
    {
      "speaker": "Bob",
      "start": 1.5,
      "end": 3.0,
      "text": "Hi Alice, ready?",
      "avg_logprob": null,
      "no_speech_prob": null
    },
    {
      "speaker": "Alice",
      "start": 3661.25,
      "end": 3661.25,
      "text": "Yes & no <maybe>.",
      "avg_logprob": null,
      "no_speech_prob": null
    }
  ]
}
"#;
    let out = export(ExportFormat::Json, &META, &fixture());
    assert_eq!(out, expected);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let back: Vec<Segment> = serde_json::from_value(value["segments"].clone()).unwrap();
    assert_eq!(back, fixture());
}

#[test]
fn an_empty_transcript_is_still_a_valid_file() {
    let meta = ExportMeta {
        title: "",
        started_at: None,
        language: None,
    };
    assert_eq!(export(ExportFormat::Srt, &meta, &[]), "\n");
    assert_eq!(export(ExportFormat::Vtt, &meta, &[]), "WEBVTT\n\n");
    assert_eq!(export(ExportFormat::Md, &meta, &[]), "# Transcript\n\n");
    assert_eq!(export(ExportFormat::Txt, &meta, &[]), "\n");
    let json: serde_json::Value =
        serde_json::from_str(&export(ExportFormat::Json, &meta, &[])).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"title": "", "started_at": null, "language": null, "segments": []})
    );
}

#[test]
fn hostile_text_cannot_add_or_break_srt_cues() {
    let out = export(ExportFormat::Srt, &META, &hostile());
    let blocks: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    for (i, block) in blocks.iter().enumerate() {
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines.len(), 3, "{block}");
        assert_eq!(lines[0], (i + 1).to_string());
        assert!(!lines[2].contains("-->"), "{block}");
    }
    assert_eq!(out.matches("-->").count(), 2);
    assert!(out.contains("ünï 😀"));
    // The reversed cue is clamped to 1 ms.
    assert!(out.contains("00:00:02,000 --> 00:00:02,001\n"));
}

#[test]
fn hostile_text_cannot_add_cues_or_tags_to_vtt() {
    let out = export(ExportFormat::Vtt, &META, &hostile());
    assert!(out.starts_with("WEBVTT\n\n"));
    let blocks: Vec<&str> = out.trim_end().split("\n\n").skip(1).collect();
    assert_eq!(blocks.len(), 2, "{out}");
    assert_eq!(out.matches("-->").count(), 2);
    assert!(!out.contains("<script") && !out.contains("<b>"));
    assert!(out.contains("<v &lt;b&gt;Eve&lt;/b&gt; &amp; co>fine\n"));
    assert!(out.contains("<v Mallory →>evil → 00:00:09,000 99 &lt;script&gt;"));
    assert!(out.contains("ünï 😀 -→ end"));
}

#[test]
fn hostile_text_stays_on_its_own_line_in_md_and_txt() {
    let md = export(ExportFormat::Md, &META, &hostile());
    assert_eq!(
        md.lines().filter(|l| l.starts_with("**")).count(),
        2,
        "{md}"
    );
    // Every `<` is escaped, so no renderer sees a tag.
    assert_eq!(md.matches('<').count(), md.matches("\\<").count(), "{md}");
    assert!(md.contains("\\<script\\>"));
    let txt = export(ExportFormat::Txt, &META, &hostile());
    assert_eq!(txt.lines().count(), 2, "{txt}");
    assert!(txt.lines().all(|l| l.starts_with("[00:00:0")));
}

#[test]
fn formats_parse_case_insensitively_and_errors_name_the_valid_ones() {
    assert_eq!("SRT".parse::<ExportFormat>(), Ok(ExportFormat::Srt));
    assert_eq!("Vtt".parse::<ExportFormat>(), Ok(ExportFormat::Vtt));
    for format in ExportFormat::ALL {
        assert_eq!(format.as_str().parse::<ExportFormat>(), Ok(format));
        assert_eq!(format.extension(), format.to_string());
    }
    let err = "docx".parse::<ExportFormat>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown export format \"docx\": use one of json, srt, vtt, md, txt"
    );
    assert_eq!(ExportFormat::Vtt.content_type(), "text/vtt; charset=utf-8");
    assert_eq!(ExportFormat::Json.content_type(), "application/json");
}

#[test]
fn odd_times_are_clamped_not_rejected() {
    let segments = [
        segment("A", -5.0, f64::NAN, "negative start, NaN end"),
        segment("B", 0.0004, 0.0004, "rounds to zero"),
    ];
    let out = export(ExportFormat::Srt, &META, &segments);
    assert!(out.contains("00:00:00,000 --> 00:00:00,001\nA: negative"));
    assert!(out.contains("00:00:00,000 --> 00:00:00,001\nB: rounds"));
}

fn timed(speaker: &str, words: &[(&str, f64, f64)]) -> Segment {
    let text: String = words.iter().map(|w| w.0).collect();
    let mut s = segment(speaker, words[0].1, words[words.len() - 1].2, text.trim());
    s.words = words
        .iter()
        .map(|&(text, start, end)| crate::Word {
            text: text.to_owned(),
            start,
            end,
            probability: Some(0.9),
        })
        .collect();
    s
}

fn karaoke_fixture() -> Vec<Segment> {
    vec![
        timed(
            "Alice",
            &[
                (" Hi", 0.0, 0.4),
                (" Bob,", 0.4, 0.9),
                (" <ready>?", 1.0, 1.4),
            ],
        ),
        segment("Bob", 1.5, 3.0, "No words here."),
        // A word before its cue and one that goes back in time are clamped, never reordered.
        timed(
            "",
            &[
                (" Early", 3.0, 3.5),
                (" back", 2.9, 3.2),
                (" end\n-->", 3.6, 4.0),
            ],
        ),
    ]
}

#[test]
fn karaoke_vtt_puts_a_timestamp_inside_the_cue_before_each_word() {
    let karaoke = ExportOptions { karaoke: true };
    let out = export_with(ExportFormat::Vtt, &META, &karaoke_fixture(), karaoke);
    assert_eq!(
        out,
        "WEBVTT\n\n\
         00:00:00.000 --> 00:00:01.400\n\
         <v Alice>Hi <00:00:00.400>Bob, <00:00:01.000>&lt;ready&gt;?\n\n\
         00:00:01.500 --> 00:00:03.000\n\
         <v Bob>No words here.\n\n\
         00:00:03.000 --> 00:00:04.000\n\
         Early back <00:00:03.600>end →\n\n"
    );
    assert_eq!(
        export_with(
            ExportFormat::Vtt,
            &META,
            &karaoke_fixture(),
            ExportOptions::default()
        ),
        export(ExportFormat::Vtt, &META, &karaoke_fixture()),
    );
}

#[test]
fn karaoke_srt_has_one_cue_per_word_with_the_word_underlined() {
    let karaoke = ExportOptions { karaoke: true };
    let out = export_with(ExportFormat::Srt, &META, &karaoke_fixture()[..2], karaoke);
    assert_eq!(
        out,
        "1\n00:00:00,000 --> 00:00:00,400\nAlice: <u>Hi</u> Bob, <ready>?\n\n\
         2\n00:00:00,400 --> 00:00:01,000\nAlice: Hi <u>Bob,</u> <ready>?\n\n\
         3\n00:00:01,000 --> 00:00:01,400\nAlice: Hi Bob, <u><ready>?</u>\n\n\
         4\n00:00:01,500 --> 00:00:03,000\nBob: No words here.\n\n"
    );
    // Formats without cues ignore it.
    assert_eq!(
        export_with(ExportFormat::Txt, &META, &karaoke_fixture(), karaoke),
        export(ExportFormat::Txt, &META, &karaoke_fixture()),
    );
}
