//! The key hierarchy's rows. Wrapped keys only; which key wraps which is recorded beside each.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use uuid::Uuid;

use crate::identity::with_pool;
use crate::reader::{self, FromReader};
use crate::{Database, StoreError};

/// An org key version, wrapped by a master key (the instance's or the org's own KMS key).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgKeyRow {
    pub org_id: Uuid,
    pub version: i32,
    pub kek_provider: String,
    pub kek_key_id: String,
    pub kek_version: i32,
    pub wrapped: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A user's key: wrapped by an org key (`mode = "org"`) or, in zero-access mode, by a key
/// derived from the password (Argon2id parameters beside it) and by a recovery key. The user's
/// X25519 secret key is wrapped under the user key; the public key is stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserKeyRow {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub mode: String,
    pub org_key_version: Option<i32>,
    pub org_wrapped: Option<Vec<u8>>,
    pub password_wrapped: Option<Vec<u8>>,
    pub kdf_memory_kib: Option<i32>,
    pub kdf_iterations: Option<i32>,
    pub kdf_parallelism: Option<i32>,
    pub kdf_salt: Option<Vec<u8>>,
    pub recovery_wrapped: Option<Vec<u8>>,
    pub public_key: Vec<u8>,
    pub secret_key_wrapped: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a meeting's data key: wrapped by the owner's user key (`wrap = "user"`) or
/// HPKE-sealed to the owner's public key (`"sealed"`, written while a zero-access owner is away).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeetingKeyRow {
    pub meeting_id: Uuid,
    pub version: i32,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub wrap: String,
    pub wrapped: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A user key row beside one version of a meeting's key (`owner_key_with_meeting_keys`).
#[derive(sqlx::FromRow)]
struct OwnerKeyAndMeetingKey {
    #[sqlx(flatten)]
    owner: UserKeyRow,
    m_version: Option<i32>,
    m_owner_id: Option<Uuid>,
    m_wrap: Option<String>,
    m_wrapped: Option<Vec<u8>>,
    m_created_at: Option<DateTime<Utc>>,
}

impl FromReader for UserKeyRow {
    const WIDTH: usize = 14;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            user_id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            mode: r.get(i + 2)?,
            org_key_version: r.get(i + 3)?,
            org_wrapped: r.get(i + 4)?,
            password_wrapped: r.get(i + 5)?,
            kdf_memory_kib: r.get(i + 6)?,
            kdf_iterations: r.get(i + 7)?,
            kdf_parallelism: r.get(i + 8)?,
            kdf_salt: r.get(i + 9)?,
            recovery_wrapped: r.get(i + 10)?,
            public_key: r.get(i + 11)?,
            secret_key_wrapped: r.get(i + 12)?,
            updated_at: reader::time(r, i + 13)?,
        })
    }
}

impl FromReader for MeetingKeyRow {
    const WIDTH: usize = 7;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            meeting_id: reader::uuid(r, i)?,
            version: r.get(i + 1)?,
            org_id: reader::uuid(r, i + 2)?,
            owner_id: reader::uuid(r, i + 3)?,
            wrap: r.get(i + 4)?,
            wrapped: r.get(i + 5)?,
            created_at: reader::time(r, i + 6)?,
        })
    }
}

impl FromReader for OwnerKeyAndMeetingKey {
    const WIDTH: usize = UserKeyRow::WIDTH + 5;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        let m = i + UserKeyRow::WIDTH;
        Ok(Self {
            owner: UserKeyRow::at(r, i)?,
            m_version: r.get(m)?,
            m_owner_id: reader::opt_uuid(r, m + 1)?,
            m_wrap: r.get(m + 2)?,
            m_wrapped: r.get(m + 3)?,
            m_created_at: reader::opt_time(r, m + 4)?,
        })
    }
}

const ORG_KEY_COLUMNS: &str =
    "org_id, version, kek_provider, kek_key_id, kek_version, wrapped, created_at";
const USER_KEY_COLUMNS: &str = "user_id, org_id, mode, org_key_version, org_wrapped, password_wrapped, \
     kdf_memory_kib, kdf_iterations, kdf_parallelism, kdf_salt, recovery_wrapped, public_key, \
     secret_key_wrapped, updated_at";
const MEETING_KEY_COLUMNS: &str =
    "meeting_id, version, org_id, owner_id, wrap, wrapped, created_at";

impl Database {
    /// The org's key versions, newest first.
    pub async fn org_keys(&self, org_id: Uuid) -> Result<Vec<OrgKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {ORG_KEY_COLUMNS} FROM org_keys WHERE org_id = $1 ORDER BY version DESC"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgKeyRow>(&sql).bind(org_id).fetch_all(pool).await?))
    }

    /// Every org key version of the instance (for master-key rotation).
    pub async fn all_org_keys(&self) -> Result<Vec<OrgKeyRow>, StoreError> {
        let sql = format!("SELECT {ORG_KEY_COLUMNS} FROM org_keys ORDER BY org_id, version");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgKeyRow>(&sql).fetch_all(pool).await?))
    }

    /// Inserts an org key version; false when that version exists (another instance won a race).
    pub async fn insert_org_key(&self, row: &OrgKeyRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO org_keys (org_id, version, kek_provider, kek_key_id, kek_version, wrapped, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, version) DO NOTHING",
            )
            .bind(row.org_id).bind(row.version).bind(&row.kek_provider).bind(&row.kek_key_id)
            .bind(row.kek_version).bind(&row.wrapped).bind(row.created_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Replaces how an org key version is wrapped (a master-key rotation; the key is unchanged).
    pub async fn rewrap_org_key(&self, row: &OrgKeyRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE org_keys SET kek_provider = $1, kek_key_id = $2, kek_version = $3, wrapped = $4 \
                 WHERE org_id = $5 AND version = $6",
            )
            .bind(&row.kek_provider).bind(&row.kek_key_id).bind(row.kek_version).bind(&row.wrapped)
            .bind(row.org_id).bind(row.version)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// Deletes org key versions older than `keep_from` once nothing refers to them; returns how
    /// many were deleted (0 while a user key still uses one).
    pub async fn retire_org_keys(&self, org_id: Uuid, keep_from: i32) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "DELETE FROM org_keys WHERE org_id = $1 AND version < $2 AND NOT EXISTS \
                 (SELECT 1 FROM user_keys WHERE user_keys.org_id = $1 AND org_key_version < $2)",
            )
            .bind(org_id).bind(keep_from)
            .execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// The org's own KMS key, if it brought one.
    pub async fn org_kms_key(&self, org_id: Uuid) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Option<String>>("SELECT kms_key_id FROM orgs WHERE id = $1")
            .bind(org_id).fetch_optional(pool).await?.flatten()))
    }

    pub async fn set_org_kms_key(
        &self,
        org_id: Uuid,
        key_id: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE orgs SET kms_key_id = $1 WHERE id = $2").bind(key_id).bind(org_id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn user_key(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<UserKeyRow>, StoreError> {
        let sql =
            format!("SELECT {USER_KEY_COLUMNS} FROM user_keys WHERE org_id = $1 AND user_id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserKeyRow>(&sql).bind(org_id).bind(user_id).fetch_optional(pool).await?))
    }

    /// A meeting's owner's key row and, in the same statement, every key version of the
    /// meeting (ordered by version): what reading one meeting needs. `None` when the owner has
    /// no key row yet.
    pub async fn owner_key_with_meeting_keys(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<(UserKeyRow, Vec<MeetingKeyRow>)>, StoreError> {
        let columns = USER_KEY_COLUMNS
            .split(',')
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, m.version AS m_version, m.owner_id AS m_owner_id, m.wrap AS m_wrap, \
             m.wrapped AS m_wrapped, m.created_at AS m_created_at FROM user_keys u \
             LEFT JOIN meeting_keys m ON m.org_id = u.org_id AND m.meeting_id = $3 \
             WHERE u.org_id = $1 AND u.user_id = $2 ORDER BY m.version"
        );
        let rows = match self.reader() {
            Some(reader) => reader.rows::<OwnerKeyAndMeetingKey>(
                &sql,
                vec![
                    reader::id(org_id),
                    reader::id(owner_id),
                    reader::id(meeting_id),
                ],
            )?,
            None => with_pool!(self, pool => sqlx::query_as::<_, OwnerKeyAndMeetingKey>(&sql)
                .bind(org_id).bind(owner_id).bind(meeting_id).fetch_all(pool).await?),
        };
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let mut keys = Vec::new();
        let owner = first.owner.clone();
        for r in std::iter::once(first).chain(rows) {
            if let (Some(version), Some(owner_id), Some(wrap), Some(wrapped), Some(created_at)) = (
                r.m_version,
                r.m_owner_id,
                r.m_wrap,
                r.m_wrapped,
                r.m_created_at,
            ) {
                keys.push(MeetingKeyRow {
                    meeting_id,
                    version,
                    org_id,
                    owner_id,
                    wrap,
                    wrapped,
                    created_at,
                });
            }
        }
        Ok(Some((owner, keys)))
    }

    /// The key rows of each of `user_ids` that has one (one statement, for a page of meetings'
    /// owners).
    pub async fn user_keys_of(
        &self,
        org_id: Uuid,
        user_ids: &[Uuid],
    ) -> Result<Vec<UserKeyRow>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..user_ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT {USER_KEY_COLUMNS} FROM user_keys WHERE org_id = $1 AND user_id IN ({})",
            list.join(", ")
        );
        if let Some(reader) = self.reader() {
            let params = std::iter::once(org_id).chain(user_ids.iter().copied());
            return reader.rows(&sql, params.map(reader::id).collect());
        }
        with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, UserKeyRow>(&sql).bind(org_id);
            for id in user_ids {
                query = query.bind(*id);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }

    /// The org's user keys wrapped by an org key older than `version` (for org-key rotation).
    pub async fn user_keys_before(
        &self,
        org_id: Uuid,
        version: i32,
    ) -> Result<Vec<UserKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {USER_KEY_COLUMNS} FROM user_keys WHERE org_id = $1 AND mode = 'org' AND org_key_version < $2 ORDER BY user_id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserKeyRow>(&sql).bind(org_id).bind(version).fetch_all(pool).await?))
    }

    /// Inserts a user key; false when one exists (created concurrently).
    pub async fn insert_user_key(&self, row: &UserKeyRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO user_keys (user_id, org_id, mode, org_key_version, org_wrapped, password_wrapped, \
                 kdf_memory_kib, kdf_iterations, kdf_parallelism, kdf_salt, recovery_wrapped, public_key, \
                 secret_key_wrapped, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(row.user_id).bind(row.org_id).bind(&row.mode).bind(row.org_key_version).bind(&row.org_wrapped)
            .bind(&row.password_wrapped).bind(row.kdf_memory_kib).bind(row.kdf_iterations).bind(row.kdf_parallelism)
            .bind(&row.kdf_salt).bind(&row.recovery_wrapped).bind(&row.public_key).bind(&row.secret_key_wrapped)
            .bind(row.updated_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Replaces how a user key is wrapped (mode change, password change, org-key rotation);
    /// `expected_updated_at` makes it a compare-and-swap, so two racing changes cannot both win.
    pub async fn rewrap_user_key(
        &self,
        row: &UserKeyRow,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE user_keys SET mode = $1, org_key_version = $2, org_wrapped = $3, password_wrapped = $4, \
                 kdf_memory_kib = $5, kdf_iterations = $6, kdf_parallelism = $7, kdf_salt = $8, \
                 recovery_wrapped = $9, updated_at = $10 \
                 WHERE org_id = $11 AND user_id = $12 AND updated_at = $13",
            )
            .bind(&row.mode).bind(row.org_key_version).bind(&row.org_wrapped).bind(&row.password_wrapped)
            .bind(row.kdf_memory_kib).bind(row.kdf_iterations).bind(row.kdf_parallelism).bind(&row.kdf_salt)
            .bind(&row.recovery_wrapped).bind(row.updated_at).bind(row.org_id).bind(row.user_id)
            .bind(expected_updated_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A meeting's key versions, oldest first.
    pub async fn meeting_keys(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<MeetingKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {MEETING_KEY_COLUMNS} FROM meeting_keys WHERE org_id = $1 AND meeting_id = $2 ORDER BY version"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, MeetingKeyRow>(&sql).bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    /// Every key version of each of `meeting_ids` (one statement, for a page of meetings),
    /// ordered by meeting and version.
    pub async fn meeting_keys_of(
        &self,
        org_id: Uuid,
        meeting_ids: &[Uuid],
    ) -> Result<Vec<MeetingKeyRow>, StoreError> {
        if meeting_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..meeting_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT {MEETING_KEY_COLUMNS} FROM meeting_keys WHERE org_id = $1 AND meeting_id IN ({}) \
             ORDER BY meeting_id, version",
            list.join(", ")
        );
        if let Some(reader) = self.reader() {
            let params = std::iter::once(org_id).chain(meeting_ids.iter().copied());
            return reader.rows(&sql, params.map(reader::id).collect());
        }
        with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, MeetingKeyRow>(&sql).bind(org_id);
            for id in meeting_ids {
                query = query.bind(*id);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }

    /// Adds a key version to a meeting: the next version number, chosen inside the insert so two
    /// writers cannot take the same one. Returns the version.
    pub async fn add_meeting_key(&self, row: &MeetingKeyRow) -> Result<i32, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i32>(
            "INSERT INTO meeting_keys (meeting_id, version, org_id, owner_id, wrap, wrapped, created_at) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6 FROM meeting_keys WHERE meeting_id = $1 \
             RETURNING version",
        )
        .bind(row.meeting_id).bind(row.org_id).bind(row.owner_id).bind(&row.wrap).bind(&row.wrapped).bind(row.created_at)
        .fetch_one(pool).await?))
    }

    /// Re-wraps one meeting key version (a sealed key moved under the unlocked user key).
    pub async fn rewrap_meeting_key(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        version: i32,
        wrap: &str,
        wrapped: &[u8],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE meeting_keys SET wrap = $1, wrapped = $2 WHERE org_id = $3 AND meeting_id = $4 AND version = $5")
                .bind(wrap).bind(wrapped).bind(org_id).bind(meeting_id).bind(version).execute(pool).await?;
            Ok(())
        })
    }

    /// Crypto-shredding: deletes every key version of a meeting (idempotent; returns how many
    /// rows went). On SQLite, `secure_delete` zeroes the freed pages and the WAL is truncated so
    /// the wrapped keys leave the file too.
    pub async fn destroy_meeting_keys(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<u64, StoreError> {
        crate::stats::note_query();
        match self {
            Database::Sqlite(pool, ..) => {
                let done =
                    sqlx::query("DELETE FROM meeting_keys WHERE org_id = $1 AND meeting_id = $2")
                        .bind(org_id)
                        .bind(meeting_id)
                        .execute(pool)
                        .await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected())
            }
            Database::Postgres(pool) => {
                let done =
                    sqlx::query("DELETE FROM meeting_keys WHERE org_id = $1 AND meeting_id = $2")
                        .bind(org_id)
                        .bind(meeting_id)
                        .execute(pool)
                        .await?;
                Ok(done.rows_affected())
            }
        }
    }
}
