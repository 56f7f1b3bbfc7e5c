//! Finding Node and the pinned npm packages, and running the test scripts with them.
//! Never skips: a missing tool is a failure that says how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The crate's directory.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `node_modules` with `jose` and `oidc-provider`: `OIDC_NODE_DIR`, or
/// what `scripts/oidc-tools.sh` prints after installing them (once per test run).
pub fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        check_node();
        if let Some(dir) = std::env::var_os("OIDC_NODE_DIR") {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("node_modules/oidc-provider").is_dir()
                    && dir.join("node_modules/jose").is_dir(),
                "OIDC_NODE_DIR={} has no node_modules/oidc-provider and node_modules/jose; \
                 run scripts/oidc-tools.sh and point OIDC_NODE_DIR at the directory it prints",
                dir.display()
            );
            return dir;
        }
        let script = crate_dir().join("../../scripts/oidc-tools.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed ({}); it installs oidc-provider and jose with npm:\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let dir = stdout.lines().last().map(str::trim).unwrap_or_default();
        assert!(!dir.is_empty(), "{} printed no directory", script.display());
        PathBuf::from(dir)
    })
}

fn check_node() {
    let version = Command::new("node").arg("--version").output().unwrap_or_else(|e| {
        panic!("node is not installed or not on PATH ({e}); the OIDC peer tests need Node.js >= 20.19")
    });
    assert!(version.status.success(), "node --version failed");
}

/// A `node` command for a script under `tests/`, with the packages' directory in its
/// environment (the scripts resolve their imports from there).
pub fn node_script(relative: &str) -> Command {
    let script = crate_dir().join("tests").join(relative);
    assert!(script.is_file(), "missing test script {}", script.display());
    let mut command = Command::new("node");
    command.arg(script).env("OIDC_NODE_DIR", node_dir());
    command
}

/// Runs a script's `command` to the end and returns what it printed; fails with its stderr if
/// it fails.
pub fn stdout_of(mut command: Command, what: &str) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run node for {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
