//! Transcript exports: JSON, SubRip (SRT), WebVTT, Markdown and plain text.
//!
//! Every format is built from one-line, sanitized text, so a segment's content can never break
//! the file's structure: newlines and other control characters become spaces, `-->` becomes
//! `→` (in every format, so a cue timing line cannot be forged), WebVTT text is entity-escaped
//! and Markdown text is backslash-escaped (so it cannot smuggle HTML or links into a renderer).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::Segment;

/// A transcript export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// `{title, started_at, language, segments: [...]}`, pretty-printed.
    Json,
    /// SubRip: numbered cues, `HH:MM:SS,mmm`, `Speaker: text`.
    Srt,
    /// WebVTT: `HH:MM:SS.mmm`, the speaker as a voice span `<v Speaker>`.
    Vtt,
    /// Markdown: a title heading, then one `**Speaker** [mm:ss] text` paragraph per segment.
    Md,
    /// Plain text: one `[HH:MM:SS] Speaker: text` line per segment.
    Txt,
}

impl ExportFormat {
    /// Every format, in the order they are listed to users.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Json,
        ExportFormat::Srt,
        ExportFormat::Vtt,
        ExportFormat::Md,
        ExportFormat::Txt,
    ];

    /// The format's name, as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Srt => "srt",
            ExportFormat::Vtt => "vtt",
            ExportFormat::Md => "md",
            ExportFormat::Txt => "txt",
        }
    }

    /// The `Content-Type` to serve the export with.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Srt => "application/x-subrip; charset=utf-8",
            ExportFormat::Vtt => "text/vtt; charset=utf-8",
            ExportFormat::Md => "text/markdown; charset=utf-8",
            ExportFormat::Txt => "text/plain; charset=utf-8",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an export format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format {0:?}: use one of json, srt, vtt, md, txt")]
pub struct UnknownExportFormat(String);

impl FromStr for ExportFormat {
    type Err = UnknownExportFormat;

    /// Parses `json`, `srt`, `vtt`, `md` or `txt`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownExportFormat(s.chars().take(32).collect()))
    }
}

/// What an export says about the meeting besides its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportMeta<'a> {
    /// The meeting's title (a Markdown heading, a JSON field; not used by SRT, VTT and TXT).
    pub title: &'a str,
    /// When the meeting started, as the caller formats it (RFC 3339 recommended).
    pub started_at: Option<&'a str>,
    /// The transcript's language.
    pub language: Option<&'a str>,
}

/// How to render an export, beyond its format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Karaoke cues for segments with timed words: WebVTT puts a `<HH:MM:SS.mmm>` timestamp
    /// before each word after the first; SRT, which has no inline timing, gets one cue per word
    /// showing the segment's line with that word underlined (`<u>…</u>`, as OpenAI's
    /// `highlight_words`). Segments without words, and the other formats, are unchanged.
    pub karaoke: bool,
}

/// Renders `segments` in `format`. The result always ends with a newline.
///
/// All formats but JSON skip segments whose text is empty after sanitizing. Cue formats (SRT,
/// VTT) clamp each cue so it lasts at least 1 ms (zero-length and reversed segments would otherwise be dropped
/// or rejected by players). Negative or non-finite times count as 0.
pub fn export(format: ExportFormat, meta: &ExportMeta<'_>, segments: &[Segment]) -> String {
    export_with(format, meta, segments, ExportOptions::default())
}

/// [`export`] with [`ExportOptions`].
pub fn export_with(
    format: ExportFormat,
    meta: &ExportMeta<'_>,
    segments: &[Segment],
    options: ExportOptions,
) -> String {
    match format {
        ExportFormat::Json => json(meta, segments),
        ExportFormat::Srt if options.karaoke => karaoke::srt(segments),
        ExportFormat::Vtt if options.karaoke => karaoke::vtt(segments),
        ExportFormat::Srt => srt(segments),
        ExportFormat::Vtt => vtt(segments),
        ExportFormat::Md => markdown(meta, segments),
        ExportFormat::Txt => txt(segments),
    }
}

fn json(meta: &ExportMeta<'_>, segments: &[Segment]) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        title: &'a str,
        started_at: Option<&'a str>,
        language: Option<&'a str>,
        segments: &'a [Segment],
    }
    let document = Document {
        title: meta.title,
        started_at: meta.started_at,
        language: meta.language,
        segments,
    };
    // Cannot fail: string keys only, and serde_json writes non-finite floats as null.
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

fn srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (number, (start, end, speaker, text)) in cues(segments).enumerate() {
        let line = if speaker.is_empty() {
            text
        } else {
            format!("{speaker}: {text}")
        };
        out.push_str(&format!(
            "{}\n{} --> {}\n{line}\n\n",
            number + 1,
            clock(start, ','),
            clock(end, ',')
        ));
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

fn vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (start, end, speaker, text) in cues(segments) {
        push_vtt_cue(&mut out, start, end, &speaker, escape_vtt(&text));
    }
    out
}

/// One WebVTT cue: its times, and `text` (already escaped) in the speaker's voice tag when the
/// speaker is known.
fn push_vtt_cue(out: &mut String, start: u64, end: u64, speaker: &str, text: String) {
    let line = if speaker.is_empty() {
        text
    } else {
        format!("<v {}>{text}", escape_vtt(speaker))
    };
    out.push_str(&format!(
        "{} --> {}\n{line}\n\n",
        clock(start, '.'),
        clock(end, '.')
    ));
}

fn markdown(meta: &ExportMeta<'_>, segments: &[Segment]) -> String {
    let title = one_line(meta.title);
    let title = if title.is_empty() {
        "Transcript".to_owned()
    } else {
        escape_md(&title)
    };
    let mut out = format!("# {title}\n\n");
    let details: Vec<String> = [("Started", meta.started_at), ("Language", meta.language)]
        .into_iter()
        .filter_map(|(label, value)| {
            let value = one_line(value?);
            (!value.is_empty()).then(|| format!("- {label}: {}\n", escape_md(&value)))
        })
        .collect();
    if !details.is_empty() {
        out.push_str(&details.concat());
        out.push('\n');
    }
    for segment in segments {
        let seconds = millis(segment.start) / 1000;
        let stamp = format!("[{:02}:{:02}]", seconds / 60, seconds % 60);
        let speaker = one_line(&segment.speaker);
        let text = escape_md(&one_line(&segment.text));
        if text.is_empty() {
            continue;
        }
        if speaker.is_empty() {
            out.push_str(&format!("{stamp} {text}\n\n"));
        } else {
            out.push_str(&format!("**{}** {stamp} {text}\n\n", escape_md(&speaker)));
        }
    }
    out
}

fn txt(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        let seconds = millis(segment.start) / 1000;
        let stamp = format!(
            "[{:02}:{:02}:{:02}]",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        let speaker = one_line(&segment.speaker);
        let text = one_line(&segment.text);
        if text.is_empty() {
            continue;
        }
        if speaker.is_empty() {
            out.push_str(&format!("{stamp} {text}\n"));
        } else {
            out.push_str(&format!("{stamp} {speaker}: {text}\n"));
        }
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// The cues of a cue format: (start ms, end ms, one-line speaker, one-line text), skipping
/// segments without text and clamping each to at least 1 ms.
fn cues(segments: &[Segment]) -> impl Iterator<Item = (u64, u64, String, String)> + '_ {
    segments.iter().filter_map(|segment| {
        let text = one_line(&segment.text);
        if text.is_empty() {
            return None;
        }
        let start = millis(segment.start);
        let end = millis(segment.end).max(start + 1);
        Some((start, end, one_line(&segment.speaker), text))
    })
}

/// Seconds to whole milliseconds; negative, NaN and infinite times become 0.
fn millis(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        // Saturates for absurdly large values, which is what a timestamp should do.
        (seconds * 1000.0).round() as u64
    } else {
        0
    }
}

/// `HH:MM:SS<sep>mmm`; hours grow past two digits if they must.
fn clock(ms: u64, separator: char) -> String {
    let seconds = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        ms % 1000
    )
}

/// Text on one line: control characters and line breaks become spaces, runs of white space
/// collapse, and `-->` (the cue timing arrow) becomes `→`.
fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("-->", "→")
}

/// WebVTT cue text and annotation escaping: `&`, `<` and `>` as character references.
fn escape_vtt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Backslash-escapes the characters that would make Markdown text markup, HTML or an entity.
fn escape_md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

mod karaoke;
#[cfg(test)]
mod tests;
