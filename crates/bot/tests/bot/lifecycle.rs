//! The browser dies with the bot: dropped, or with the bot's process SIGKILLed, no Chromium
//! process remains, and the profile goes (at once, or at the next launch).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use meetvault_bot::{Browser, LaunchOptions};

use crate::support::{Process, process_tree, wait_gone};

/// Set in the child process the orphan test starts: where to write the browser's pid and dir.
const OWNER_ENV: &str = "MEETVAULT_BOT_TEST_OWNER";

/// Options for a browser alone in a fresh network namespace, its profile under `root`.
fn options(root: &Path) -> LaunchOptions {
    LaunchOptions {
        command_prefix: vec!["unshare".into(), "--net".into(), "--".into()],
        temp_root: Some(root.to_path_buf()),
        ..LaunchOptions::default()
    }
}

/// Launches a browser with a rendered page and returns it with its whole process tree.
async fn browser_with_a_page(root: &Path) -> (Browser, Vec<Process>) {
    let browser = Browser::launch(options(root)).await.unwrap();
    let page = browser.new_page().await.unwrap();
    assert_eq!(page.evaluate("6 * 7").await.unwrap(), 42);
    let tree = process_tree(browser.pid());
    assert!(
        tree.len() >= 3 && tree[0].cmdline.contains("chromium"),
        "expected Chromium with its helper processes, found {tree:#?}"
    );
    (browser, tree)
}

#[tokio::test]
async fn a_dropped_browser_leaves_no_process_and_no_profile() {
    // Its Chromium must not share the cores with a test measuring real-time capture.
    let _shared = crate::session::CORES.read().await;
    if let Ok(report) = std::env::var(OWNER_ENV) {
        // The orphan test's child: hold a browser until killed.
        let root = PathBuf::from(&report).with_extension("root");
        let (browser, _) = browser_with_a_page(&root).await;
        let dir = browser.dir().unwrap().display().to_string();
        std::fs::write(
            format!("{report}.tmp"),
            format!("{}\n{dir}\n", browser.pid()),
        )
        .unwrap();
        std::fs::rename(format!("{report}.tmp"), &report).unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        panic!("the orphan test never killed this process");
    }
    let root = tempfile::tempdir().unwrap();
    let (browser, tree) = browser_with_a_page(root.path()).await;
    let dir = browser.dir().unwrap().to_path_buf();
    assert!(dir.join("profile").is_dir());
    drop(browser);
    let left = wait_gone(&tree, Duration::from_secs(5)).await;
    assert!(left.is_empty(), "still running after drop: {left:#?}");
    assert!(!dir.exists(), "the profile outlived the browser");
}

#[tokio::test]
async fn sigkill_of_the_bot_leaves_no_chromium_and_the_next_launch_sweeps_its_profile() {
    // Its Chromium must not share the cores with a test measuring real-time capture.
    let _shared = crate::session::CORES.read().await;
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("owner");
    let root = report.with_extension("root");
    std::fs::create_dir(&root).unwrap();
    let mut owner = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lifecycle::a_dropped_browser_leaves_no_process_and_no_profile",
            "--nocapture",
        ])
        .env(OWNER_ENV, &report)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !report.exists() {
        assert!(
            owner.try_wait().unwrap().is_none(),
            "the browser's owner exited early"
        );
        assert!(
            Instant::now() < deadline,
            "the owner never launched its browser"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let written = std::fs::read_to_string(&report).unwrap();
    let mut lines = written.lines();
    let pid: u32 = lines.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(lines.next().unwrap());
    let tree = process_tree(pid);
    assert!(tree.len() >= 3, "expected Chromium's processes: {tree:#?}");

    owner.kill().unwrap(); // SIGKILL: no destructor runs.
    owner.wait().unwrap();
    let left = wait_gone(&tree, Duration::from_secs(5)).await;
    assert!(
        left.is_empty(),
        "orphaned by SIGKILL of their bot: {left:#?}"
    );

    // Nothing could remove the killed bot's profile; the next launch there does.
    assert!(dir.exists());
    let next = Browser::launch(options(&root)).await.unwrap();
    assert!(!dir.exists(), "the dead bot's profile was not swept");
    drop(next);
}
