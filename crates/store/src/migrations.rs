//! Migrations embedded in the binary, one list per backend. A change adds one file to each list.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// (version, description, SQL) for one backend.
type Embedded = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Embedded = &[
    (
        1,
        "instance",
        include_str!("../migrations/sqlite/0001_instance.sql"),
    ),
    (
        2,
        "identity",
        include_str!("../migrations/sqlite/0002_identity.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/sqlite/0003_audit.sql"),
    ),
    (
        4,
        "keys",
        include_str!("../migrations/sqlite/0004_keys.sql"),
    ),
    (
        5,
        "transcription",
        include_str!("../migrations/sqlite/0005_transcription.sql"),
    ),
    (
        6,
        "recording_types",
        include_str!("../migrations/sqlite/0006_recording_types.sql"),
    ),
    (
        7,
        "outbox",
        include_str!("../migrations/sqlite/0007_outbox.sql"),
    ),
    (
        8,
        "segment_language",
        include_str!("../migrations/sqlite/0008_segment_language.sql"),
    ),
    (
        9,
        "segment_words",
        include_str!("../migrations/sqlite/0009_segment_words.sql"),
    ),
    (
        10,
        "glossary",
        include_str!("../migrations/sqlite/0010_glossary.sql"),
    ),
    (
        11,
        "bots",
        include_str!("../migrations/sqlite/0011_bots.sql"),
    ),
    (
        12,
        "bot_reports",
        include_str!("../migrations/sqlite/0012_bot_reports.sql"),
    ),
    (
        13,
        "bot_consent",
        include_str!("../migrations/sqlite/0013_bot_consent.sql"),
    ),
    (
        14,
        "webhooks",
        include_str!("../migrations/sqlite/0014_webhooks.sql"),
    ),
    (
        15,
        "destinations",
        include_str!("../migrations/sqlite/0015_destinations.sql"),
    ),
    (
        16,
        "bucket_uploads",
        include_str!("../migrations/sqlite/0016_bucket_uploads.sql"),
    ),
    (
        17,
        "recording_copies",
        include_str!("../migrations/sqlite/0017_recording_copies.sql"),
    ),
    (
        18,
        "certificates",
        include_str!("../migrations/sqlite/0018_certificates.sql"),
    ),
    (
        19,
        "retention",
        include_str!("../migrations/sqlite/0019_retention.sql"),
    ),
    (
        20,
        "deletion_requests",
        include_str!("../migrations/sqlite/0020_deletion_requests.sql"),
    ),
    (
        21,
        "bucket_objects",
        include_str!("../migrations/sqlite/0021_bucket_objects.sql"),
    ),
    (
        22,
        "meeting_intel",
        include_str!("../migrations/sqlite/0022_meeting_intel.sql"),
    ),
    (
        23,
        "meeting_documents",
        include_str!("../migrations/sqlite/0023_meeting_documents.sql"),
    ),
    (
        24,
        "intelligence_scopes",
        include_str!("../migrations/sqlite/0024_intelligence_scopes.sql"),
    ),
    (25, "sso", include_str!("../migrations/sqlite/0025_sso.sql")),
    (
        26,
        "saml",
        include_str!("../migrations/sqlite/0026_saml.sql"),
    ),
    (
        27,
        "calendar",
        include_str!("../migrations/sqlite/0027_calendar.sql"),
    ),
    (
        28,
        "org_oidc",
        include_str!("../migrations/sqlite/0028_org_oidc.sql"),
    ),
];

pub(crate) const POSTGRES: Embedded = &[
    (
        1,
        "instance",
        include_str!("../migrations/postgres/0001_instance.sql"),
    ),
    (
        2,
        "identity",
        include_str!("../migrations/postgres/0002_identity.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/postgres/0003_audit.sql"),
    ),
    (
        4,
        "keys",
        include_str!("../migrations/postgres/0004_keys.sql"),
    ),
    (
        5,
        "transcription",
        include_str!("../migrations/postgres/0005_transcription.sql"),
    ),
    (
        6,
        "recording_types",
        include_str!("../migrations/postgres/0006_recording_types.sql"),
    ),
    (
        7,
        "outbox",
        include_str!("../migrations/postgres/0007_outbox.sql"),
    ),
    (
        8,
        "segment_language",
        include_str!("../migrations/postgres/0008_segment_language.sql"),
    ),
    (
        9,
        "segment_words",
        include_str!("../migrations/postgres/0009_segment_words.sql"),
    ),
    (
        10,
        "glossary",
        include_str!("../migrations/postgres/0010_glossary.sql"),
    ),
    (
        11,
        "bots",
        include_str!("../migrations/postgres/0011_bots.sql"),
    ),
    (
        12,
        "bot_reports",
        include_str!("../migrations/postgres/0012_bot_reports.sql"),
    ),
    (
        13,
        "bot_consent",
        include_str!("../migrations/postgres/0013_bot_consent.sql"),
    ),
    (
        14,
        "webhooks",
        include_str!("../migrations/postgres/0014_webhooks.sql"),
    ),
    (
        15,
        "destinations",
        include_str!("../migrations/postgres/0015_destinations.sql"),
    ),
    (
        16,
        "bucket_uploads",
        include_str!("../migrations/postgres/0016_bucket_uploads.sql"),
    ),
    (
        17,
        "recording_copies",
        include_str!("../migrations/postgres/0017_recording_copies.sql"),
    ),
    (
        18,
        "certificates",
        include_str!("../migrations/postgres/0018_certificates.sql"),
    ),
    (
        19,
        "retention",
        include_str!("../migrations/postgres/0019_retention.sql"),
    ),
    (
        20,
        "deletion_requests",
        include_str!("../migrations/postgres/0020_deletion_requests.sql"),
    ),
    (
        21,
        "bucket_objects",
        include_str!("../migrations/postgres/0021_bucket_objects.sql"),
    ),
    (
        22,
        "meeting_intel",
        include_str!("../migrations/postgres/0022_meeting_intel.sql"),
    ),
    (
        23,
        "meeting_documents",
        include_str!("../migrations/postgres/0023_meeting_documents.sql"),
    ),
    (
        24,
        "intelligence_scopes",
        include_str!("../migrations/postgres/0024_intelligence_scopes.sql"),
    ),
    (
        25,
        "sso",
        include_str!("../migrations/postgres/0025_sso.sql"),
    ),
    (
        26,
        "saml",
        include_str!("../migrations/postgres/0026_saml.sql"),
    ),
    (
        27,
        "calendar",
        include_str!("../migrations/postgres/0027_calendar.sql"),
    ),
    (
        28,
        "org_oidc",
        include_str!("../migrations/postgres/0028_org_oidc.sql"),
    ),
];

#[derive(Debug)]
struct Source(Embedded);

impl MigrationSource<'static> for Source {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn migrator(list: Embedded) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Source(list)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migration_versions_in_order() {
        let versions = |l: Embedded| l.iter().map(|(v, d, _)| (*v, *d)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        for pair in SQLITE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "versions must increase");
        }
    }
}
