//! Credentials: browser sessions (stored as token hashes), API keys, support-access keys and
//! invitations (stored as peppered MACs found by a short lookup prefix).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use rusqlite::Row;

use super::{PrincipalRow, UserRow};
use crate::reader::{self, FromReader};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An API key row. `mac` is HMAC-SHA256(pepper[pepper_version], key); the key itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub workspace_id: Option<Uuid>,
    pub name: String,
    pub lookup: String,
    pub mac: Vec<u8>,
    pub pepper_version: i32,
    /// Space-separated permission names.
    pub permissions: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl FromReader for ApiKeyRow {
    const WIDTH: usize = 13;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            created_by: reader::uuid(r, i + 2)?,
            workspace_id: reader::opt_uuid(r, i + 3)?,
            name: r.get(i + 4)?,
            lookup: r.get(i + 5)?,
            mac: r.get(i + 6)?,
            pepper_version: r.get(i + 7)?,
            permissions: r.get(i + 8)?,
            created_at: reader::time(r, i + 9)?,
            last_used_at: reader::opt_time(r, i + 10)?,
            expires_at: reader::opt_time(r, i + 11)?,
            revoked_at: reader::opt_time(r, i + 12)?,
        })
    }
}

impl FromReader for KeyWithCaller {
    const WIDTH: usize = ApiKeyRow::WIDTH + 6;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        let c = i + ApiKeyRow::WIDTH;
        Ok(Self {
            key: ApiKeyRow::at(r, i)?,
            caller_id: reader::opt_uuid(r, c)?,
            caller_role: r.get(c + 1)?,
            caller_totp_enabled: r.get(c + 2)?,
            caller_require_mfa: r.get(c + 3)?,
            caller_erase_at: r.get(c + 4)?,
            caller_workspace_roles: r.get(c + 5)?,
        })
    }
}

/// An API key row with its creator's standing (`Database::api_key_with_caller`).
#[derive(sqlx::FromRow)]
struct KeyWithCaller {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    caller_id: Option<Uuid>,
    caller_role: Option<String>,
    caller_totp_enabled: Option<bool>,
    caller_require_mfa: Option<bool>,
    caller_erase_at: Option<i64>,
    caller_workspace_roles: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SupportKeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub note: String,
    pub lookup: String,
    pub mac: Vec<u8>,
    pub pepper_version: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub invited_by: Option<Uuid>,
    pub email: String,
    pub role: String,
    pub workspace_id: Option<Uuid>,
    pub lookup: String,
    pub mac: Vec<u8>,
    pub pepper_version: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const SESSION_COLUMNS: &str =
    "id, org_id, user_id, created_at, last_seen_at, expires_at, ip, user_agent";

impl FromReader for SessionRow {
    const WIDTH: usize = 8;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            user_id: reader::uuid(r, i + 2)?,
            created_at: reader::time(r, i + 3)?,
            last_seen_at: reader::time(r, i + 4)?,
            expires_at: reader::time(r, i + 5)?,
            ip: r.get(i + 6)?,
            user_agent: r.get(i + 7)?,
        })
    }
}
const API_KEY_COLUMNS: &str = "id, org_id, created_by, workspace_id, name, lookup, mac, pepper_version, \
                               permissions, created_at, last_used_at, expires_at, revoked_at";
const SUPPORT_KEY_COLUMNS: &str = "id, org_id, user_id, note, lookup, mac, pepper_version, created_at, \
                                   expires_at, last_used_at, revoked_at";
const INVITATION_COLUMNS: &str = "id, org_id, invited_by, email, role, workspace_id, lookup, mac, \
                                  pepper_version, created_at, expires_at, accepted_at, revoked_at";

impl Database {
    pub async fn insert_session(
        &self,
        row: &SessionRow,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO sessions (id, org_id, user_id, token_hash, created_at, last_seen_at, \
                         expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(row.id).bind(row.org_id).bind(row.user_id).bind(token_hash)
                .bind(row.created_at).bind(row.last_seen_at).bind(row.expires_at)
                .bind(&row.ip).bind(&row.user_agent)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The session a cookie's token hash names, if any (expiry is the caller's to judge).
    pub async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        if let Some(reader) = self.reader() {
            return reader.row(&sql, vec![token_hash.to_owned().into()]);
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SessionRow>(&sql).bind(token_hash).fetch_optional(pool).await?))
    }

    /// A session by id, within its org (for re-checking a long-lived request's credential).
    pub async fn session_by_id(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SessionRow>(&sql).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    pub async fn touch_session(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn sessions_of(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE org_id = $1 AND user_id = $2 \
                           ORDER BY created_at DESC, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SessionRow>(&sql).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    pub async fn delete_session(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND id = $3")
            .bind(org_id).bind(user_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    /// Deletes every session of a user except `keep`; returns how many went.
    pub async fn delete_sessions_except(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM sessions WHERE org_id = $1 AND user_id = $2 AND ($3 IS NULL OR id <> $3)",
        ).bind(org_id).bind(user_id).bind(keep).execute(pool).await?.rows_affected()))
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now).execute(pool).await?.rows_affected()))
    }

    pub async fn insert_api_key(&self, row: &ApiKeyRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO api_keys (id, org_id, created_by, workspace_id, name, lookup, mac, \
                         pepper_version, permissions, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(row.id).bind(row.org_id).bind(row.created_by).bind(row.workspace_id).bind(&row.name)
                .bind(&row.lookup).bind(&row.mac).bind(row.pepper_version).bind(&row.permissions)
                .bind(row.created_at).bind(row.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The key a bearer token's lookup prefix names and, in the same statement, its creator's
    /// standing (the `PrincipalRow` of `principal_row`; none once they left the org): the hot
    /// path's one read per authenticated request.
    pub async fn api_key_with_caller(
        &self,
        lookup: &str,
    ) -> Result<Option<(ApiKeyRow, Option<PrincipalRow>)>, StoreError> {
        let roles = match self {
            Database::Sqlite(..) => "group_concat(hex(w.workspace_id) || ':' || w.role, ',')",
            Database::Postgres(_) => "string_agg(w.workspace_id::text || ':' || w.role, ',')",
        };
        let columns = API_KEY_COLUMNS
            .split(',')
            .map(|c| format!("k.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, u.id AS caller_id, u.role AS caller_role, \
             u.totp_enabled AS caller_totp_enabled, o.require_mfa AS caller_require_mfa, \
             o.erase_at AS caller_erase_at, \
             (SELECT {roles} FROM workspace_members w WHERE w.org_id = u.org_id AND w.user_id = u.id) \
             AS caller_workspace_roles \
             FROM api_keys k LEFT JOIN users u ON u.org_id = k.org_id AND u.id = k.created_by \
             LEFT JOIN orgs o ON o.id = u.org_id WHERE k.lookup = $1"
        );
        let row = match self.reader() {
            Some(reader) => reader.row::<KeyWithCaller>(&sql, vec![lookup.to_owned().into()])?,
            None => {
                with_pool!(self, pool => sqlx::query_as::<_, KeyWithCaller>(&sql).bind(lookup).fetch_optional(pool).await?)
            }
        };
        Ok(row.map(|r| {
            let caller = match (
                r.caller_id,
                r.caller_role,
                r.caller_totp_enabled,
                r.caller_require_mfa,
            ) {
                (Some(user_id), Some(role), Some(totp_enabled), Some(require_mfa)) => {
                    Some(PrincipalRow {
                        user_id,
                        org_id: r.key.org_id,
                        role,
                        totp_enabled,
                        require_mfa,
                        erase_at: r.caller_erase_at,
                        workspace_roles: r.caller_workspace_roles,
                    })
                }
                _ => None,
            };
            (r.key, caller)
        }))
    }

    /// An API key by id, within its org (revocation and expiry are the caller's to judge).
    pub async fn api_key_by_id(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ApiKeyRow>(&sql).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    pub async fn api_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ApiKeyRow>(&sql).bind(org_id).fetch_all(pool).await?))
    }

    pub async fn api_key(&self, org_id: Uuid, id: Uuid) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ApiKeyRow>(&sql).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    pub async fn revoke_api_key(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
        ).bind(now).bind(org_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    pub async fn touch_api_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn insert_support_key(&self, row: &SupportKeyRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO support_keys (id, org_id, user_id, note, lookup, mac, pepper_version, \
                         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(row.id).bind(row.org_id).bind(row.user_id).bind(&row.note).bind(&row.lookup)
                .bind(&row.mac).bind(row.pepper_version).bind(row.created_at).bind(row.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn support_key_by_lookup(
        &self,
        lookup: &str,
    ) -> Result<Option<SupportKeyRow>, StoreError> {
        let sql = format!("SELECT {SUPPORT_KEY_COLUMNS} FROM support_keys WHERE lookup = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SupportKeyRow>(&sql).bind(lookup).fetch_optional(pool).await?))
    }

    /// A support key by id, within its org (revocation and expiry are the caller's to judge).
    pub async fn support_key_by_id(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<SupportKeyRow>, StoreError> {
        let sql =
            format!("SELECT {SUPPORT_KEY_COLUMNS} FROM support_keys WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SupportKeyRow>(&sql).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    pub async fn support_keys_of(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<SupportKeyRow>, StoreError> {
        let sql = format!(
            "SELECT {SUPPORT_KEY_COLUMNS} FROM support_keys WHERE org_id = $1 AND user_id = $2 \
                           ORDER BY created_at DESC, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SupportKeyRow>(&sql).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    pub async fn revoke_support_key(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE support_keys SET revoked_at = $1 WHERE org_id = $2 AND user_id = $3 AND id = $4 AND revoked_at IS NULL",
        ).bind(now).bind(org_id).bind(user_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    pub async fn touch_support_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE support_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn insert_invitation(&self, row: &InvitationRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO invitations (id, org_id, invited_by, email, role, workspace_id, lookup, mac, \
                         pepper_version, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(row.id).bind(row.org_id).bind(row.invited_by).bind(&row.email).bind(&row.role)
                .bind(row.workspace_id).bind(&row.lookup).bind(&row.mac).bind(row.pepper_version)
                .bind(row.created_at).bind(row.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn invitation_by_lookup(
        &self,
        lookup: &str,
    ) -> Result<Option<InvitationRow>, StoreError> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE lookup = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, InvitationRow>(&sql).bind(lookup).fetch_optional(pool).await?))
    }

    pub async fn invitations(&self, org_id: Uuid) -> Result<Vec<InvitationRow>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 ORDER BY created_at DESC, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, InvitationRow>(&sql).bind(org_id).fetch_all(pool).await?))
    }

    pub async fn revoke_invitation(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND id = $3 \
             AND revoked_at IS NULL AND accepted_at IS NULL",
        ).bind(now).bind(org_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    /// Marks the invitation accepted and creates its user (and workspace role) in one
    /// transaction; false when it was accepted or revoked meanwhile, or the email got taken.
    pub async fn accept_invitation(
        &self,
        invitation_id: Uuid,
        user: &UserRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND org_id = $3 \
                 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
            ).bind(now).bind(invitation_id).bind(user.org_id).execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                return Ok(false);
            }
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
                .bind(&user.email).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Ok(false);
            }
            insert_user!(tx, user);
            sqlx::query("INSERT INTO workspace_members (org_id, workspace_id, user_id, role) \
                         SELECT org_id, workspace_id, $1, role FROM invitations \
                         WHERE id = $2 AND workspace_id IS NOT NULL")
                .bind(user.id).bind(invitation_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
