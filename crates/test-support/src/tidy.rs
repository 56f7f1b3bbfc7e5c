//! The `tidy` checks: invariants reviews forget. Every Rust file starts with a `//!` doc line;
//! crate dependencies point one way; no file grows past 800 lines unless listed here with a
//! reason; no test carries the ignore attribute; only the modules listed here opt out of the
//! workspace's ban on `unsafe`; a caller's meeting row comes only through the
//! reach check; `Core` itself offers only its services, its parts and its lifecycle.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// Which workspace crates each crate may depend on (normal dependencies).
    const ALLOWED: &[(&str, &[&str])] = &[
        ("meetvault-config", &[]),
        ("meetvault-telemetry", &[]),
        ("meetvault-crypto", &[]),
        ("meetvault-auth", &[]),
        ("meetvault-ratelimit", &[]),
        ("meetvault-kms", &[]),
        ("meetvault-whisper", &[]),
        ("meetvault-intel", &[]),
        ("meetvault-audio", &[]),
        ("meetvault-bot", &["meetvault-audio", "meetvault-recipe"]),
        ("meetvault-stt", &["meetvault-outbound"]),
        ("meetvault-outbound", &[]),
        // Meetings as PDF: plain borrowed strings in, bytes out.
        ("meetvault-pdf", &[]),
        // Sign-in and calendar protocols, without I/O of their own (core wires them).
        ("meetvault-oidc", &[]),
        ("meetvault-saml", &[]),
        ("meetvault-calendar", &[]),
        // Integrations' requests; the calendar crate's `Http` door and secret string.
        ("meetvault-integrations", &["meetvault-calendar"]),
        ("meetvault-testmeet", &[]),
        ("meetvault-recipe", &[]),
        ("meetvault-jobs", &["meetvault-store"]),
        // The Kubernetes launcher implements core's `Launcher`; the binary installs it.
        ("meetvault-k8s", &["meetvault-config", "meetvault-core"]),
        ("meetvault-store", &["meetvault-config"]),
        (
            "meetvault-core",
            &[
                "meetvault-auth",
                "meetvault-calendar",
                "meetvault-config",
                "meetvault-audio",
                "meetvault-crypto",
                "meetvault-integrations",
                "meetvault-intel",
                "meetvault-jobs",
                "meetvault-kms",
                "meetvault-oidc",
                "meetvault-outbound",
                "meetvault-pdf",
                "meetvault-ratelimit",
                "meetvault-recipe",
                "meetvault-saml",
                "meetvault-store",
                "meetvault-stt",
                "meetvault-whisper",
            ],
        ),
        (
            "meetvault-http",
            &["meetvault-config", "meetvault-core", "meetvault-stt"],
        ),
        (
            "meetvault",
            &[
                "meetvault-audio",
                "meetvault-bot",
                "meetvault-config",
                "meetvault-core",
                "meetvault-http",
                "meetvault-k8s",
                "meetvault-recipe",
                "meetvault-store",
                "meetvault-stt",
                "meetvault-telemetry",
                "meetvault-testmeet",
                "meetvault-whisper",
            ],
        ),
        (
            "meetvault-test-support",
            &[
                "meetvault-config",
                "meetvault-core",
                "meetvault-http",
                "meetvault-store",
                "meetvault-telemetry",
            ],
        ),
    ];

    /// Files allowed past 800 lines, each with its reason.
    const LONG_FILES: &[(&str, &str)] = &[
        (
            "crates/meetvault/benches/webhooks.rs",
            "a benchmark binary: its rounds, the drain, the peer and the report read top to bottom",
        ),
        (
            "crates/meetvault/tests/api/probe_routes.rs",
            "one table with a row per route: splitting it would hide a missing route",
        ),
    ];

    const MAX_LINES: usize = 800;

    /// Where code outside `store` may read meetings from the store itself, each with how many
    /// times and why. Every other path to a meeting row on a caller's behalf goes through
    /// core's `meeting_row(&Scope<P>, MeetingId)`, which applies the reach of the proved `P`.
    const MEETING_LOOKUPS: &[(&str, &str, usize, &str)] = &[
        (
            "crates/core/src/integrations/mod.rs",
            "db().meeting(",
            2,
            "an integration item's meeting, for its key (no caller: the item names the meeting, \
             and sealing and opening it needs the owner's key; a zero-access owner's content is \
             refused)",
        ),
        (
            "crates/core/src/integrations/propose.rs",
            "db().meeting(",
            2,
            "the integrations fan-out and proposal job (no caller: `system`): which connections \
             hear of a summarized meeting (its workspace and owner), and its summary's key",
        ),
        (
            "crates/core/src/widgets/visitor.rs",
            "db().meeting(",
            2,
            "the widget submission job (no caller: a visitor): whether the meeting its id was \
             fixed for at submission exists yet (a retry after a crash, or a second run, makes it \
             once and never shreds the other's keys)",
        ),
        (
            "crates/core/src/vault/content.rs",
            "db().meeting(",
            1,
            "`meeting_row`: the reach check itself",
        ),
        (
            "crates/core/src/meetings/delete.rs",
            "db().meeting(",
            2,
            "`Meetings::delete`: whether the meeting exists at all (to finish an interrupted \
             deletion; the row it deletes comes from `meeting_row`); and the `test-access` door \
             that begins a deletion with no caller",
        ),
        (
            "crates/core/src/requests/erase.rs",
            "db().meeting(",
            1,
            "a deletion request's completion: each meeting the owner or admin names must be the \
             org's (their `org:manage` scope is org-wide; a zero-access meeting still needs its owner)",
        ),
        (
            "crates/core/src/erasure.rs",
            "db().meeting(",
            1,
            "an account's erasure: each meeting the account owns (the caller is the account \
             itself, checked by its password), deleted through the certified meeting deletion",
        ),
        (
            "crates/core/src/retention/sweep.rs",
            "db().meeting(",
            2,
            "the retention sweeper (no caller: `system`): the row of a meeting it deletes whole, \
             and an imported transcript's last change",
        ),
        (
            "crates/core/src/meetings/mod.rs",
            "db().meetings_page(",
            1,
            "`Meetings::list`: the page is confined to the scope's reach (`within`)",
        ),
        (
            "crates/core/src/transcription/job.rs",
            "db().meeting(",
            2,
            "the transcription job runner: the system, acting for no caller",
        ),
        (
            "crates/core/src/bots/live.rs",
            "db().meeting(",
            2,
            "live transcription of a bot's audio: the system, acting for no caller (the bot's \
             own meeting: its language and glossary, and whether its transcript is stored \
             redacted)",
        ),
        (
            "crates/core/src/webhooks/dispatch.rs",
            "db().meeting(",
            2,
            "webhook fan-out and delivery: the system, acting for no caller (an event's \
             meeting: its workspace for an endpoint's filter, its keys for sealed content)",
        ),
        (
            "crates/core/src/intel/job.rs",
            "db().meeting(",
            1,
            "the summary job: the system, acting for no caller (the caller who queued it went \
             through `meeting_row`, or a transcript was stored)",
        ),
        (
            "crates/core/src/intel/search.rs",
            "db().indexed_meetings(",
            1,
            "search and questions: the meetings listed are confined to the scope's reach \
             (`within`), like the meeting list, and each is opened through `meeting_keys_for`",
        ),
        (
            "crates/core/src/destinations/deliver.rs",
            "db().meeting(",
            1,
            "the delivery job: the system, acting for no caller (the caller who queued it went \
             through `meeting_row`)",
        ),
    ];

    /// Everything `Core` offers outside core, each with why it is on `Core` itself. An area's
    /// operations are methods of its service (`core.meetings().delete(..)`), never of `Core`:
    /// a new public method in an `impl Core` block fails the build until it moves to its
    /// service or is listed here with a reason.
    const CORE_SURFACE: &[(&str, &str)] = &[
        // Lifecycle.
        ("open", "lifecycle: opens the stores and keys"),
        ("start_workers", "lifecycle: the job workers and sweepers"),
        (
            "start_audit_writer",
            "lifecycle: the audit checkpoint signer",
        ),
        ("readiness", "lifecycle: the readiness probe"),
        ("close", "lifecycle: closes the pools"),
        (
            "retry_blob_deletions",
            "a sweep `start_workers` runs; tests run it at once",
        ),
        (
            "prune_events",
            "a sweep `start_workers` runs; tests run it at once",
        ),
        // Parts, read-only.
        ("config", "the configuration it was opened with"),
        ("instance_key", "a part: the instance secret"),
        ("keys", "a part: the keys derived from the instance secret"),
        (
            "hasher",
            "a part: the password hasher (its counters are measured)",
        ),
        (
            "limiter",
            "a part: the rate limiter (its backend is reported)",
        ),
        ("queue", "a part: the job queue"),
        ("outbound", "a part: the rules for URLs users enter"),
        ("engine", "a part: the local transcription engine"),
        (
            "vault",
            "a part: the key cache (its unlocked count is measured)",
        ),
        ("db_for_tests", "the `test-access` feature only"),
        ("blobs_for_tests", "the `test-access` feature only"),
        (
            "drop_live_track_for_tests",
            "the `test-access` feature only (the opt-out path calls the crate-private one)",
        ),
        (
            "sweep_widget_sessions_for_tests",
            "the `test-access` feature only (the sweeper calls the crate-private one)",
        ),
        (
            "retire_bot_webhooks_for_tests",
            "the `test-access` feature only (the sweeper calls the crate-private one)",
        ),
        (
            "begin_meeting_deletion_for_tests",
            "the `test-access` feature only: a deletion cut off after its first step",
        ),
        (
            "prepare_meeting_certificate_for_tests",
            "the `test-access` feature only: a deletion cut off just before signing",
        ),
        (
            "finish_pending_deletions_for_tests",
            "the `test-access` feature only (the sweeper calls the crate-private one)",
        ),
        (
            "begin_account_erasure_for_tests",
            "the `test-access` feature only: an account erasure cut off after its first step",
        ),
        (
            "sweep_retention_at_for_tests",
            "the `test-access` feature only: one retention sweep at a chosen time",
        ),
        (
            "begin_retention_purge_for_tests",
            "the `test-access` feature only: a retention purge cut off after its first step",
        ),
        (
            "purge_expired_documents_for_tests",
            "the `test-access` feature only (the sweeper calls the crate-private one)",
        ),
        (
            "begin_deletion_request_completion_for_tests",
            "the `test-access` feature only: a participant erasure cut off after its first step",
        ),
        // The services.
        ("identity", "service"),
        ("retention", "service"),
        ("api_keys", "service"),
        ("meetings", "service"),
        ("bots", "service"),
        ("calendars", "service"),
        ("bot_runtime", "service"),
        ("recordings", "service"),
        ("transcripts", "service"),
        ("events", "service"),
        ("transcription", "service"),
        ("intelligence", "service"),
        ("endpoint", "service"),
        ("instance", "service"),
        ("org", "service"),
        ("audit_log", "service"),
        ("encryption", "service"),
        ("secrets", "service"),
        ("webhooks", "service"),
        ("integrations", "service"),
        ("widgets", "service"),
        ("destinations", "service"),
        ("certificates", "service"),
        ("deletion_requests", "service"),
    ];

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap()
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn all_rust_files() -> Vec<PathBuf> {
        let mut files = Vec::new();
        rust_files(&workspace_root().join("crates"), &mut files);
        assert!(files.len() > 10, "tidy found too few files: {files:?}");
        files
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let bad: Vec<_> = all_rust_files()
            .into_iter()
            .filter(|p| !std::fs::read_to_string(p).unwrap().starts_with("//!"))
            .collect();
        assert!(
            bad.is_empty(),
            "these files must start with a `//!` line: {bad:#?}"
        );
    }

    #[test]
    fn no_file_grows_past_the_limit_without_a_reason() {
        let root = workspace_root();
        let bad: Vec<_> = all_rust_files()
            .into_iter()
            .filter(|p| {
                let rel = p.strip_prefix(&root).unwrap().to_string_lossy().to_string();
                std::fs::read_to_string(p).unwrap().lines().count() > MAX_LINES
                    && !LONG_FILES.iter().any(|(f, _)| *f == rel)
            })
            .collect();
        assert!(
            bad.is_empty(),
            "split these files or add them to LONG_FILES with a reason: {bad:#?}"
        );
    }

    /// The modules allowed `unsafe` code, with the reason.
    const UNSAFE_MODULES: &[(&str, &str)] = &[(
        "crates/whisper/src/int8/vnni.rs",
        "AVX-512 VNNI int8 products: one call into code compiled for the instructions, after \
         the run-time check (pulp, which the other kernels use, has no VNNI intrinsic)",
    )];

    /// Whether a line, outside comments, opts out of the ban (`allow`, `expect` or `warn` of
    /// `unsafe_code`, or any attribute naming it besides the workspace's) or uses `unsafe`.
    fn unsafe_use(line: &str) -> bool {
        let code = line.split("//").next().unwrap_or("");
        let lint = ["unsafe", "_code"].concat();
        let keyword = ["unsafe", " "].concat();
        (code.contains('#') && code.contains(&lint))
            || ["{", "fn", "impl", "extern", "trait"]
                .iter()
                .any(|next| code.contains(&format!("{keyword}{next}")))
    }

    #[test]
    fn only_listed_modules_opt_out_of_the_unsafe_ban() {
        let root = workspace_root();
        let mut found: Vec<String> = all_rust_files()
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).unwrap().lines().any(unsafe_use))
            .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().to_string())
            .collect();
        found.sort();
        let mut listed: Vec<String> = UNSAFE_MODULES.iter().map(|(f, _)| f.to_string()).collect();
        listed.sort();
        assert_eq!(
            found, listed,
            "a module that allows or uses `unsafe` is listed in UNSAFE_MODULES with its reason, \
             and a listed one still needs it"
        );
        // The ban reaches a crate only through `[lints] workspace = true`.
        let mut unlinted = Vec::new();
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let lints = text.split("[lints]").nth(1).unwrap_or("");
            let lints = lints.split("\n[").next().unwrap_or("");
            if !lints
                .lines()
                .any(|l| l.replace(' ', "") == "workspace=true")
            {
                unlinted.push(manifest);
            }
        }
        assert!(
            unlinted.is_empty(),
            "every workspace crate takes the workspace lints: {unlinted:#?}"
        );
    }

    #[test]
    fn the_unsafe_check_sees_attributes_and_the_keyword_not_prose() {
        let lint = ["unsafe", "_code"].concat();
        let kw = "unsafe";
        for hit in [
            format!("#![allow({lint})]"),
            format!("#[expect({lint}, reason = \"x\")]"),
            format!("#![warn({lint})]"),
            format!("    let x = {kw} {{ f() }};"),
            format!("pub {kw} fn f() {{}}"),
            format!("{kw} impl Send for X {{}}"),
            format!("{kw} extern \"C\" {{}}"),
        ] {
            assert!(unsafe_use(&hit), "{hit}");
        }
        for miss in [
            format!("//! the workspace's ban on `{kw}`"),
            format!("    // {kw} {{ f() }}"),
            "let safe = unsafely_named();".to_owned(),
        ] {
            assert!(!unsafe_use(&miss), "{miss}");
        }
    }

    #[test]
    fn no_test_is_ignored() {
        let needle = ["#[", "ignore"].concat();
        let bad: Vec<_> = all_rust_files()
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).unwrap().contains(&needle))
            .collect();
        assert!(
            bad.is_empty(),
            "every test runs in CI or is deleted: {bad:#?}"
        );
    }

    #[test]
    fn a_callers_meeting_row_comes_only_through_the_reach_check() {
        let root = workspace_root();
        let mut found: BTreeMap<(String, &str), usize> = BTreeMap::new();
        for path in all_rust_files() {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if rel.starts_with("crates/store/")
                || rel == "crates/test-support/src/tidy.rs"
                || !rel.contains("/src/")
            {
                continue;
            }
            let text: String = std::fs::read_to_string(&path)
                .unwrap()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            for needle in [
                "db().meeting(",
                "db().meetings_page(",
                "db().indexed_meetings(",
            ] {
                let n = text.matches(needle).count();
                if n > 0 {
                    found.insert((rel.clone(), needle), n);
                }
            }
        }
        let allowed: BTreeMap<(String, &str), usize> = MEETING_LOOKUPS
            .iter()
            .map(|(file, needle, n, _)| (((*file).to_owned(), *needle), *n))
            .collect();
        assert_eq!(
            found, allowed,
            "meetings are read from the store only where MEETING_LOOKUPS says why; a caller's \
             meeting comes from core's `meeting_row(&Scope<P>, MeetingId)`"
        );
    }

    #[test]
    fn crate_dependencies_point_one_way() {
        let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
        let crates_dir = workspace_root().join("crates");
        let mut seen = 0;
        for entry in std::fs::read_dir(&crates_dir).unwrap() {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let doc: toml::Table = text.parse().unwrap();
            let name = doc["package"]["name"].as_str().unwrap().to_owned();
            let permitted = allowed
                .get(name.as_str())
                .unwrap_or_else(|| panic!("crate {name} is not in tidy's ALLOWED table: add it with its allowed dependencies"));
            let deps = doc
                .get("dependencies")
                .and_then(|d| d.as_table())
                .cloned()
                .unwrap_or_default();
            for dep in deps.keys().filter(|d| d.starts_with("meetvault")) {
                assert!(
                    permitted.contains(&dep.as_str()),
                    "{name} must not depend on {dep}: dependencies point http → core → store/config"
                );
            }
            seen += 1;
        }
        assert_eq!(seen, ALLOWED.len(), "every crate is checked");
    }

    /// The modules a crate's top-level module names through `crate::…` (comments and unit-test
    /// modules left out).
    fn module_edges(src: &Path) -> BTreeMap<String, std::collections::BTreeSet<String>> {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let mut edges: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let rel = file.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let mut rest = line;
                while let Some(at) = rest.find("crate::") {
                    rest = &rest[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        edges.entry(top.clone()).or_default().insert(name);
                    }
                }
            }
        }
        edges
    }

    /// A cycle among the edges, if there is one (depth-first search).
    fn find_cycle(
        edges: &BTreeMap<String, std::collections::BTreeSet<String>>,
    ) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            edges: &BTreeMap<String, std::collections::BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut std::collections::BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == node) {
                let mut cycle = path[at..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            if done.contains(node) {
                return None;
            }
            path.push(node.to_owned());
            for next in edges.get(node).into_iter().flatten() {
                if let Some(c) = visit(next, edges, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(node.to_owned());
            None
        }
        let mut done = std::collections::BTreeSet::new();
        edges
            .keys()
            .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
    }

    #[test]
    fn modules_inside_core_and_http_import_one_way() {
        for krate in ["core", "http"] {
            let edges = module_edges(&workspace_root().join("crates").join(krate).join("src"));
            assert!(
                !edges.is_empty(),
                "{krate} has modules that import each other"
            );
            if let Some(cycle) = find_cycle(&edges) {
                panic!("{krate}: modules import in a circle: {}", cycle.join(" → "));
            }
        }
    }

    #[test]
    fn the_cycle_finder_finds_a_circle() {
        let mut edges: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        edges.entry("a".into()).or_default().insert("b".into());
        edges.entry("b".into()).or_default().insert("c".into());
        assert_eq!(find_cycle(&edges), None);
        edges.entry("c".into()).or_default().insert("a".into());
        assert_eq!(find_cycle(&edges).unwrap().len(), 4);
    }

    #[test]
    fn storage_beneath_the_services_is_reached_only_by_tests() {
        let root = workspace_root();
        let mut offenders = Vec::new();
        for file in all_rust_files() {
            let rel = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let test_code = rel.starts_with("crates/test-support/")
                || rel.contains("/tests/")
                || rel.contains("/benches/")
                || rel == "crates/core/src/lib.rs";
            let text = std::fs::read_to_string(&file).unwrap();
            if !test_code && (text.contains("db_for_tests") || text.contains("blobs_for_tests")) {
                offenders.push(rel);
            }
        }
        assert!(
            offenders.is_empty(),
            "production code reaches the store beneath core's services: {offenders:?}"
        );
    }

    /// The public methods of every top-level `impl Core` block in core.
    fn core_public_methods() -> std::collections::BTreeSet<String> {
        let mut files = Vec::new();
        rust_files(&workspace_root().join("crates/core/src"), &mut files);
        let mut found = std::collections::BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut inside = false;
            for line in text.lines() {
                if line.starts_with("impl Core {") {
                    inside = true;
                } else if line == "}" {
                    inside = false;
                } else if inside {
                    let rest = line
                        .strip_prefix("    pub async fn ")
                        .or_else(|| line.strip_prefix("    pub fn "));
                    if let Some(rest) = rest {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn core_offers_services_not_methods() {
        let found = core_public_methods();
        let listed: std::collections::BTreeSet<String> =
            CORE_SURFACE.iter().map(|(n, _)| (*n).to_owned()).collect();
        let unlisted: Vec<_> = found.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "public methods on `Core` itself: move each to its area's service \
             (`core.meetings()`, `core.org()`, …) or list it in CORE_SURFACE with why: {unlisted:?}"
        );
        let stale: Vec<_> = listed.difference(&found).collect();
        assert!(
            stale.is_empty(),
            "CORE_SURFACE lists methods `Core` no longer has: {stale:?}"
        );
    }
}
