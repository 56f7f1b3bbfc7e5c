//! `meetvault recipe check` and `meetvault recipe list`, as someone fixing a recipe runs them:
//! the shipped recipes pass; a broken one exits 2 naming the line and field to fix.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::helpers::meetvault;

fn recipes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes")
}

fn run(args: &[&str]) -> Output {
    meetvault().args(args).output().unwrap()
}

#[test]
fn recipe_check_accepts_every_shipped_recipe() {
    for name in ["testmeet", "google-meet", "microsoft-teams", "zoom"] {
        let file = recipes_dir().join(format!("{name}.toml"));
        let o = run(&["recipe", "check", file.to_str().unwrap(), "--json"]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["valid"], true);
        assert_eq!(v["name"], name);
    }
}

#[test]
fn recipe_check_names_the_line_and_field_of_each_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(recipes_dir().join("testmeet.toml"))
        .unwrap()
        .replace("selector = \"button#join\"", "selector = \"\"")
        .replace("timeout_ms = 15000", "timeout_ms = 0");
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    let o = run(&["recipe", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "line {}: join[5].selector: must not be empty",
            line_of("selector = \"\"")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "line {}: join[1].timeout_ms: 0 is out of range",
            line_of("timeout_ms = 0")
        )),
        "{err}"
    );

    let o = run(&["recipe", "check", file.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let paths: Vec<_> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].clone())
        .collect();
    assert_eq!(paths, ["join[1].timeout_ms", "join[5].selector"]);

    std::fs::write(&file, "name = \"x\"\nversion = \"one\"\n").unwrap();
    let o = run(&["recipe", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn recipe_list_shows_the_shipped_platforms_and_fails_on_a_clash() {
    let o = run(&["recipe", "list", recipes_dir().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "google-meet",
        "meet.google.com",
        "microsoft-teams",
        "zoom",
        "*.zoom.us",
        "testmeet",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }

    let dir = tempfile::tempdir().unwrap();
    let meet = std::fs::read_to_string(recipes_dir().join("google-meet.toml")).unwrap();
    std::fs::write(dir.path().join("a.toml"), &meet).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        meet.replace("name = \"google-meet\"", "name = \"meet-copy\""),
    )
    .unwrap();
    let o = run(&["recipe", "list", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("both claim host meet.google.com"));
}
