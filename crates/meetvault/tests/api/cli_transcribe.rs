//! `meetvault transcribe` and `meetvault models list`, run as a user would: no server, the
//! binary on real speech files, its outputs and its errors.

use std::process::Output;

use meetvault_test_support::media::whisper_model_dir;

use crate::helpers::meetvault;
use crate::speech;

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    meetvault()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running meetvault")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn transcribe_prints_writes_and_reports_json_without_a_server() {
    let model = whisper_model_dir();
    let model = model.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tracks, turns) = speech::three_tracks();
    let bob = tracks[1].1.to_str().unwrap();

    // Plain text on stdout.
    let out = run(dir.path(), &["transcribe", bob, "--model", model]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let said: Vec<&str> = turns
        .iter()
        .filter(|t| t.speaker == "Bob")
        .map(|t| t.text)
        .collect();
    let heard: String = printed
        .lines()
        .map(|l| l.split_once(": ").map(|(_, t)| t).unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ");
    let wer = meetvault_stt::word_error_rate(&said.join(" "), &heard);
    assert!(wer <= 0.15, "word error rate {wer:.3}: {printed}");

    // Several files: one speaker each (named after the file), merged by time, written as SRT.
    let srt = dir.path().join("standup.srt");
    let files: Vec<&str> = tracks.iter().map(|(_, p)| p.to_str().unwrap()).collect();
    let mut args = vec!["transcribe"];
    args.extend(&files);
    args.extend([
        "--model",
        model,
        "--format",
        "srt",
        "-o",
        srt.to_str().unwrap(),
    ]);
    let out = run(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("real time"),
        "reports the real-time factor: {}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&srt).unwrap();
    for (label, _) in tracks {
        assert!(
            written.contains(&format!("track-{label}:")),
            "{label} speaks in the SRT: {written}"
        );
    }
    let ffmpeg = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i", srt.to_str().unwrap(), "-f", "srt", "-"])
        .output()
        .expect("ffmpeg is needed: apt-get install ffmpeg");
    assert!(
        ffmpeg.status.success(),
        "ffmpeg rejects the SRT: {}",
        text(&ffmpeg.stderr)
    );

    // JSON for scripts: files with timings, segments with speakers.
    let out = run(
        dir.path(),
        &["transcribe", bob, "--model", model, "--json", "--beam", "5"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["language"], "en");
    let file = &v["files"][0];
    assert!(file["audio_secs"].as_f64().unwrap() > 10.0);
    assert!(file["real_time_factor"].as_f64().unwrap() > 0.0);
    assert!(!v["segments"].as_array().unwrap().is_empty());
}

#[test]
fn transcribe_errors_say_what_is_wrong_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (tracks, _) = speech::three_tracks();
    let audio = tracks[0].1.to_str().unwrap();
    // No model where it is looked for.
    let out = run(
        dir.path(),
        &["transcribe", audio, "--model", "/nonexistent/model"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("/nonexistent/model") && err.contains("scripts/models.sh"),
        "{err}"
    );
    // Not audio.
    let junk = dir.path().join("notes.wav");
    std::fs::write(&junk, "these are meeting notes, not a recording").unwrap();
    let model = whisper_model_dir();
    let out = run(
        dir.path(),
        &[
            "transcribe",
            junk.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("notes.wav"),
        "{}",
        text(&out.stderr)
    );
    // A bad format and a missing file.
    let out = run(dir.path(), &["transcribe", audio, "--format", "docx"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("srt"), "{}", text(&out.stderr));
    let out = run(dir.path(), &["transcribe"]);
    assert_eq!(out.status.code(), Some(2), "usage error");
}

#[test]
fn models_list_shows_the_installed_model_with_its_size_and_checksum() {
    let model = whisper_model_dir();
    let dir = tempfile::tempdir().unwrap();
    let env_model = model.to_str().unwrap();
    let out = meetvault()
        .current_dir(dir.path())
        .env("MEETVAULT_TRANSCRIPTION__MODEL_DIR", env_model)
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The configured folder is the default, listed by its folder name beside the two models
    // scripts/models.sh installs (not installed in this data dir).
    let models = v["models"].as_array().unwrap();
    let m = models.iter().find(|m| m["default"] == true).unwrap();
    assert_eq!(m["name"], "whisper-tiny.en");
    assert_eq!(m["installed"], true);
    assert_eq!(m["format"], "ctranslate2");
    assert_eq!(m["multilingual"], false);
    assert_eq!(m["languages"], 1);
    assert!(m["bytes"].as_u64().unwrap() > 70_000_000);
    let sum = m["weights_sha256"].as_str().unwrap();
    assert_eq!(sum.len(), 64);
    let out = std::process::Command::new("sha256sum")
        .arg(model.join("model.bin"))
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with(sum),
        "the checksum is the weights' SHA-256"
    );
    for name in ["tiny.en", "base"] {
        let known = models.iter().find(|m| m["name"] == name).unwrap();
        assert_eq!(known["installed"], false, "{known}");
        assert!(
            known["install"]
                .as_str()
                .unwrap()
                .starts_with(&format!("scripts/models.sh --model {name} ")),
            "{known}"
        );
    }
    // Human output, and a clear message when nothing is installed.
    let out = meetvault()
        .current_dir(dir.path())
        .env("MEETVAULT_TRANSCRIPTION__MODEL_DIR", env_model)
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("whisper-tiny.en (default)"),
        "{}",
        text(&out.stdout)
    );
    let out = run(dir.path(), &["models", "list"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("not installed")
            && text(&out.stderr).contains("scripts/models.sh --model tiny.en"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
