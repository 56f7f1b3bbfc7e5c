//! Data classification: every table and every blob prefix that can hold meeting or personal
//! data, in one place, with its class and what deletes it today. A test fails when a migration
//! adds a table, or code writes a blob under a prefix, that is not listed here — so the next
//! feature cannot forget its data. `docs/lifecycle.md` renders the same table (tested).
//!
//! Classes: **ephemeral** (needed only while a meeting is processed), **retained** by the
//! retention policy (one of its parts), and **kept** for a stated reason.

/// The part of a meeting a retention window covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The meeting record itself (title, schedule, participants).
    Meeting,
    /// Bot metadata, participant events, chat.
    BotData,
    /// Audio blobs and their rows.
    Recordings,
    /// Transcript segments (and, when they exist, summaries and action items).
    Transcripts,
    /// The domain-event outbox.
    Events,
}

/// The parts retention deletes, in the order the sweeper deletes them.
pub const PARTS: [Part; 3] = [Part::Recordings, Part::Transcripts, Part::BotData];

/// A window per part; a missing one inherits from the level above.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recordings: Option<meetvault_config::Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcripts: Option<meetvault_config::Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_data: Option<meetvault_config::Window>,
}

impl Windows {
    pub fn get(&self, part: Part) -> Option<meetvault_config::Window> {
        match part {
            Part::Recordings => self.recordings,
            Part::Transcripts => self.transcripts,
            Part::BotData => self.bot_data,
            Part::Meeting | Part::Events => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        PARTS.iter().all(|p| self.get(*p).is_none())
    }
}

/// How long something is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Ephemeral,
    Retained(Part),
    Kept(&'static str),
}

impl Class {
    /// The class as docs/lifecycle.md names it.
    pub fn label(self) -> String {
        match self {
            Self::Ephemeral => "ephemeral".into(),
            Self::Retained(p) => format!("retained: {}", p.label()),
            Self::Kept(_) => "kept".into(),
        }
    }
}

impl Part {
    pub fn label(self) -> &'static str {
        match self {
            Self::Meeting => "meeting",
            Self::BotData => "bot data",
            Self::Recordings => "recordings",
            Self::Transcripts => "transcripts",
            Self::Events => "events",
        }
    }
}

/// One classified place: a table, or a blob key pattern (`*` for one path segment).
#[derive(Debug, Clone, Copy)]
pub struct Classified {
    pub name: &'static str,
    pub class: Class,
    /// What deletes it today.
    pub deleted_by: &'static str,
}

const fn c(name: &'static str, class: Class, deleted_by: &'static str) -> Classified {
    Classified {
        name,
        class,
        deleted_by,
    }
}

const ACCOUNT: Class = Class::Kept("account data: lives while the account or org does");
const CONFIG: Class = Class::Kept("configuration an admin made; no meeting content");
const WITH_MEETING: &str = "meeting deletion (crypto-shred, then rows)";
const WITH_RETENTION: &str =
    "meeting deletion (crypto-shred, then rows); retention, once every part it holds is due";
const WITH_BOT: &str = "meeting deletion; retention (bot data)";

/// Every table of both backends' schemas.
pub const TABLES: &[Classified] = &[
    c(
        "instance",
        Class::Kept("the installation's identity; no personal data"),
        "never",
    ),
    c(
        "orgs",
        ACCOUNT,
        "org closure, after its grace period; its last member's account erasure",
    ),
    c("users", ACCOUNT, "account erasure; member removal"),
    c("workspaces", ACCOUNT, "an admin; with the org"),
    c(
        "workspace_members",
        ACCOUNT,
        "an admin; with the user or org",
    ),
    c("sessions", ACCOUNT, "logout, expiry, revocation"),
    c("org_sso", ACCOUNT, "an admin's change; with the org"),
    c("org_saml", ACCOUNT, "an admin's removal; with the org"),
    c("org_oidc", ACCOUNT, "an admin's removal; with the org"),
    c(
        "saml_assertions",
        Class::Kept("a replay guard: assertion ids and expiry times, no personal data"),
        "the next sign-in after the assertion expires; with the org",
    ),
    c(
        "sso_identities",
        ACCOUNT,
        "with the account (account erasure, member removal) or the org",
    ),
    c(
        "calendar_connections",
        ACCOUNT,
        "disconnect; with the account or org (its tokens are sealed under the person's key)",
    ),
    c(
        "calendar_events",
        Class::Kept("a calendar's window: the listed event fields, sealed under the person's key"),
        "the full sync that no longer sees it (a day or so after it ends); disconnect; a revoked grant; with the account",
    ),
    c(
        "calendar_choices",
        ACCOUNT,
        "the full sync after its event left the window; disconnect; with the account",
    ),
    c(
        "calendar_bots",
        Class::Kept("which bot serves which meeting: an HMAC of its identity, ids and a time"),
        "two days after the meeting starts; with the org",
    ),
    c(
        "calendar_user_rules",
        CONFIG,
        "the person's change; with the account",
    ),
    c(
        "calendar_workspace_rules",
        CONFIG,
        "an admin's change; with the workspace or org",
    ),
    c("api_keys", ACCOUNT, "revocation; with the org"),
    c("support_keys", ACCOUNT, "revocation, expiry; with the org"),
    c(
        "invitations",
        ACCOUNT,
        "acceptance, revocation; with the org",
    ),
    c(
        "recovery_codes",
        ACCOUNT,
        "use, regeneration; with the user",
    ),
    c(
        "audit_subjects",
        Class::Kept("the key of each subject's audit personal data: erasing a subject destroys it"),
        "subject erasure",
    ),
    c(
        "audit_log",
        Class::Kept(
            "append-only, tamper-evident: ids and actions; personal data sealed under subject keys",
        ),
        "never (triggers refuse it)",
    ),
    c(
        "audit_checkpoints",
        Class::Kept("signed checkpoints of the audit log"),
        "never (triggers refuse it)",
    ),
    c(
        "org_keys",
        Class::Kept("the org's key (crypto-shredding root of its data)"),
        "with the org",
    ),
    c(
        "user_keys",
        Class::Kept("a user's key (crypto-shredding root of their data)"),
        "with the user",
    ),
    c(
        "meeting_keys",
        Class::Kept("a meeting's keys: destroyed first when it is deleted"),
        WITH_MEETING,
    ),
    c("meetings", Class::Retained(Part::Meeting), WITH_RETENTION),
    c(
        "meeting_participants",
        Class::Retained(Part::Meeting),
        WITH_RETENTION,
    ),
    c(
        "transcript_segments",
        Class::Retained(Part::Transcripts),
        "meeting deletion; retention (transcripts)",
    ),
    c(
        "meeting_intel",
        Class::Retained(Part::Transcripts),
        "meeting deletion; retention (transcripts): the summary and search index go with the transcript",
    ),
    c(
        "meeting_documents",
        Class::Ephemeral,
        "the meeting's end (its bot done) or intelligence.document_hours after attaching; one attached with keep: retention (transcripts); meeting deletion",
    ),
    c(
        "recordings",
        Class::Retained(Part::Recordings),
        "meeting deletion; retention (recordings: the blob, the row stays until the meeting goes); the local copy after delivery",
    ),
    c(
        "user_secrets",
        Class::Kept("a user's integration secrets, sealed under their key"),
        "the user; with the user",
    ),
    c(
        "jobs",
        Class::Kept("processing state: ids, states, errors; no content"),
        "not yet (no pruning)",
    ),
    c(
        "outbox_events",
        Class::Retained(Part::Events),
        "meeting deletion; the org's events window, else events.retention_secs",
    ),
    c(
        "outbox_seq",
        Class::Kept("one counter per org"),
        "with the org",
    ),
    c(
        "blob_deletions",
        Class::Ephemeral,
        "the sweeper, once the blob is gone",
    ),
    c("bots", Class::Retained(Part::BotData), WITH_BOT),
    c("bot_transitions", Class::Retained(Part::BotData), WITH_BOT),
    c("bot_participants", Class::Retained(Part::BotData), WITH_BOT),
    c(
        "bot_audio_chunks",
        Class::Ephemeral,
        "meeting deletion; after the bot's recordings are made and delivered",
    ),
    c("bot_commands", Class::Retained(Part::BotData), WITH_BOT),
    c(
        "bot_chat_messages",
        Class::Retained(Part::BotData),
        WITH_BOT,
    ),
    c(
        "bot_speaker_changes",
        Class::Retained(Part::BotData),
        WITH_BOT,
    ),
    c("bot_tracks", Class::Retained(Part::BotData), WITH_BOT),
    c(
        "webhook_endpoints",
        CONFIG,
        "an admin; a bot's own when the bot is done",
    ),
    c(
        "integrations",
        CONFIG,
        "disconnect (the credential with it); with the org",
    ),
    c(
        "widgets",
        CONFIG,
        "an admin (its sessions with it); with the org",
    ),
    c(
        "widget_sessions",
        Class::Ephemeral,
        "submission (its sealed chunks with it); unsubmitted, at expiry by the sweeper",
    ),
    c(
        "widget_submissions",
        Class::Retained(Part::Meeting),
        "meeting deletion (cascade; the visitor's claims are sealed under the meeting's key); \
         retention, with its meeting",
    ),
    c(
        "integration_oauth_states",
        Class::Ephemeral,
        "the callback (once); expired ones by the next start",
    ),
    c(
        "integration_cursor",
        Class::Kept("one cursor per org"),
        "with the org",
    ),
    c(
        "integration_items",
        Class::Retained(Part::Transcripts),
        "meeting deletion (cascade; the payload is sealed under the meeting's key); retention \
         (transcripts) and a participant's erasure: what was made of the transcript goes with it; \
         disconnect",
    ),
    c(
        "integration_attempts",
        Class::Kept("the delivery log: outcomes, latency, bounded provider errors"),
        "with their item",
    ),
    c(
        "webhook_cursor",
        Class::Kept("one cursor per org"),
        "with the org",
    ),
    c(
        "webhook_deliveries",
        Class::Kept("the delivery log: ids, states, links"),
        "webhooks.log_retention_secs",
    ),
    c(
        "webhook_attempts",
        Class::Kept("the delivery log: status codes, latency, capped excerpts"),
        "with their delivery",
    ),
    c("destinations", CONFIG, "an admin"),
    c(
        "bucket_uploads",
        Class::Ephemeral,
        "completion or abort; the sweeper",
    ),
    c(
        "bucket_objects",
        Class::Kept(
            "which objects meetvault wrote to a customer's bucket (keys and sizes), so a deletion can reach them there",
        ),
        "with the meeting; each row when its object is deleted",
    ),
    c(
        "certificates",
        Class::Kept("proof of each deletion: ids, counts, hashes; outlives the data"),
        "never (triggers refuse it)",
    ),
    c("retention_policies", CONFIG, "an admin; with the org"),
    c(
        "leases",
        Class::Kept("which instance runs the retention sweep; no personal data"),
        "its holder; taken over when it expires",
    ),
    c(
        "deletion_requests",
        Class::Kept(
            "a participant's request and its outcome, so they can fetch it; contact details sealed under the org's key",
        ),
        "the sweeper a day after it went unconfirmed; with the org",
    ),
];

/// Every blob key pattern code writes under.
pub const BLOB_PREFIXES: &[Classified] = &[
    c(
        "orgs/*/meetings/*/recordings/*",
        Class::Retained(Part::Recordings),
        "meeting deletion; the local copy after delivery",
    ),
    c(
        "orgs/*/meetings/*/bots/*/audio/*/*",
        Class::Ephemeral,
        "meeting deletion; after the bot's recordings are made and delivered",
    ),
    c(
        "orgs/*/meetings/*/bots/*/diagnosis",
        Class::Ephemeral,
        "meeting deletion; retention (bot data)",
    ),
    c(
        "orgs/*/widget_sessions/*/*",
        Class::Ephemeral,
        "submission (joined into the recording); unsubmitted, at the session's expiry",
    ),
    c(
        "tmp/transcriptions/*",
        Class::Ephemeral,
        "the endpoint, when its transcription ends; its sweep at start",
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn manifest() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// The tables a backend's migrations leave: created, minus dropped.
    fn tables(backend: &str) -> BTreeSet<String> {
        let dir = manifest().join("../store/migrations").join(backend);
        let mut names = BTreeSet::new();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let sql = std::fs::read_to_string(&f).unwrap();
            for line in sql.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["CREATE", "TABLE", name, ..] => {
                        names.insert(name.trim_end_matches('(').to_owned());
                    }
                    ["DROP", "TABLE", name, ..] => {
                        names.remove(name.trim_end_matches(';'));
                    }
                    _ => {}
                }
            }
        }
        names
    }

    #[test]
    fn every_table_is_classified() {
        let listed: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
        assert_eq!(listed.len(), TABLES.len(), "a table is listed twice");
        for backend in ["sqlite", "postgres"] {
            let found = tables(backend);
            let missing: Vec<_> = found.difference(&listed).collect();
            assert!(
                missing.is_empty(),
                "{backend}: classify these tables in core::lifecycle::TABLES (ephemeral, retained by \
                 policy, or kept with a reason): {missing:?}"
            );
            let stale: Vec<_> = listed.difference(&found).collect();
            assert!(stale.is_empty(), "{backend}: no such tables: {stale:?}");
        }
    }

    /// Every `BlobKey::parse(&format!("…"))` in core writes under a classified pattern.
    #[test]
    fn every_blob_prefix_is_classified() {
        let mut found = BTreeSet::new();
        let mut stack = vec![manifest().join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.ends_with("lifecycle.rs") {
                    continue; // this file's own words
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                for (i, _) in flat.match_indices("BlobKey::parse(&format!(") {
                    let rest = &flat[i + "BlobKey::parse(&format!(".len()..];
                    let literal = rest
                        .trim_start()
                        .strip_prefix('"')
                        .and_then(|r| r.split('"').next())
                        .unwrap_or_default()
                        .replace("{STAGING_PREFIX}", "tmp/transcriptions");
                    found.insert(pattern(&literal));
                }
            }
        }
        assert!(found.len() >= 4, "the scan found too little: {found:?}");
        let listed: BTreeSet<String> = BLOB_PREFIXES.iter().map(|b| b.name.to_owned()).collect();
        let missing: Vec<_> = found.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "classify these blob key patterns in core::lifecycle::BLOB_PREFIXES: {missing:?}"
        );
    }

    /// `orgs/{org}/meetings/{}/bots/{}/audio/{}/{seq}-{}` → `orgs/*/meetings/*/bots/*/audio/*/*`.
    fn pattern(literal: &str) -> String {
        literal
            .split('/')
            .map(|seg| if seg.contains('{') { "*" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn row(t: &Classified) -> String {
        let why = match t.class {
            Class::Ephemeral => "needed only while the meeting is processed",
            Class::Retained(Part::Meeting) => {
                "lives while any part of the meeting does (deleted whole with the last)"
            }
            Class::Retained(_) => "its window of the retention policy",
            Class::Kept(reason) => reason,
        };
        format!(
            "| `{}` | {} | {why} | {} |",
            t.name,
            t.class.label(),
            t.deleted_by
        )
    }

    #[test]
    fn docs_list_every_classified_place() {
        let doc = std::fs::read_to_string(manifest().join("../../docs/lifecycle.md")).unwrap();
        let tables: Vec<String> = TABLES.iter().map(row).collect();
        let blobs: Vec<String> = BLOB_PREFIXES.iter().map(row).collect();
        let expected = format!(
            "| Table | Class | Why | Deleted by |\n|---|---|---|---|\n{}\n\n\
             | Blob keys | Class | Why | Deleted by |\n|---|---|---|---|\n{}\n",
            tables.join("\n"),
            blobs.join("\n")
        );
        assert!(
            doc.contains(&expected),
            "docs/lifecycle.md's classification tables differ from core::lifecycle; they should read:\n{expected}"
        );
    }
}
