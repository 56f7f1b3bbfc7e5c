//! SRT and WebVTT exports as ffmpeg reads them, including hostile segment text.

use std::path::Path;
use std::process::Command;

use meetvault_stt::{ExportFormat, ExportMeta, Segment, export};

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

fn segments() -> Vec<Segment> {
    vec![
        segment("Alice", 0.0, 1.4, "Hi Bob."),
        segment("Bob", 1.5, 3.0, "Hi Alice, ready?"),
        segment(
            "Mallory\n\n-->",
            3.0,
            4.0,
            "evil --> 00:00:09,000\n\n99\r\n<script>alert(1)</script>\u{2028}ünï 😀 ---> end",
        ),
        segment("<b>Eve</b> & co", 5.0, 5.0, "zero length & <i>tags</i>"),
        segment("Alice", 7.0, 6.0, "reversed"),
        segment("Bob", 3661.25, 3662.0, "past the hour"),
    ]
}

const META: ExportMeta<'static> = ExportMeta {
    title: "Weekly sync",
    started_at: None,
    language: Some("en"),
};

/// Runs `ffmpeg -v error -i <file> -f <format> -` and returns what it printed.
fn ffmpeg(input: &Path, format: &str) -> String {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(["-f", format, "-"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "these tests need ffmpeg to check SRT and WebVTT exports, and running it failed \
                 ({e}): install it (apt-get install ffmpeg)"
            )
        });
    assert!(
        output.status.success(),
        "ffmpeg rejected {}: {}",
        input.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "ffmpeg complained: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn timing_lines(text: &str) -> usize {
    text.lines().filter(|l| l.contains(" --> ")).count()
}

#[test]
fn ffmpeg_reads_every_srt_cue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.srt");
    let srt = export(ExportFormat::Srt, &META, &segments());
    std::fs::write(&path, &srt).unwrap();
    let parsed = ffmpeg(&path, "srt");
    assert_eq!(timing_lines(&srt), 6);
    assert_eq!(timing_lines(&parsed), 6, "ffmpeg read:\n{parsed}");
    assert!(parsed.contains("01:01:01,250 --> 01:01:02,000"), "{parsed}");
    assert!(parsed.contains("ünï 😀"), "{parsed}");
}

#[test]
fn ffmpeg_reads_every_vtt_cue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.vtt");
    let vtt = export(ExportFormat::Vtt, &META, &segments());
    std::fs::write(&path, &vtt).unwrap();
    let parsed = ffmpeg(&path, "webvtt");
    assert_eq!(timing_lines(&vtt), 6);
    assert_eq!(timing_lines(&parsed), 6, "ffmpeg read:\n{parsed}");
    assert!(parsed.contains("01:01:01.250 --> 01:01:02.000"), "{parsed}");
    // As SRT too, which is what most players convert it to.
    let as_srt = ffmpeg(&path, "srt");
    assert_eq!(timing_lines(&as_srt), 6, "ffmpeg read:\n{as_srt}");
    // The escaped text comes back as the literal text it was, inside its own cue.
    assert!(
        as_srt.contains("evil → 00:00:09,000 99 <script>alert(1)</script> ünï"),
        "{as_srt}"
    );
}
