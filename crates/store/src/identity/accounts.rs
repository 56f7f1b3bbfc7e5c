//! Organizations, users, workspaces and their memberships, MFA state and recovery codes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use rusqlite::Row;

use crate::reader::{self, FromReader};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub require_mfa: bool,
    pub created_at: DateTime<Utc>,
    /// Closed by an owner: when its grace period ends and it is erased (Unix ms).
    pub erase_at: Option<i64>,
}

/// A caller's standing (see `Database::principal_row`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PrincipalRow {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: String,
    pub totp_enabled: bool,
    pub require_mfa: bool,
    pub erase_at: Option<i64>,
    /// `workspace:role` pairs, comma-separated (the id as hex on SQLite, hyphenated on
    /// PostgreSQL); none without any.
    pub workspace_roles: Option<String>,
}

impl FromReader for PrincipalRow {
    const WIDTH: usize = 7;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            user_id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            role: r.get(i + 2)?,
            totp_enabled: r.get(i + 3)?,
            require_mfa: r.get(i + 4)?,
            erase_at: r.get(i + 5)?,
            workspace_roles: r.get(i + 6)?,
        })
    }
}

impl PrincipalRow {
    /// The workspace roles as (workspace, role) pairs.
    pub fn workspace_roles(&self) -> Result<Vec<(Uuid, &str)>, StoreError> {
        let Some(list) = self.workspace_roles.as_deref() else {
            return Ok(Vec::new());
        };
        list.split(',')
            .map(|pair| {
                let (id, role) = pair
                    .split_once(':')
                    .ok_or_else(|| StoreError::Corrupt(format!("workspace role entry {pair:?}")))?;
                let id = Uuid::parse_str(id)
                    .map_err(|_| StoreError::Corrupt(format!("workspace id {id:?}")))?;
                Ok((id, role))
            })
            .collect()
    }
}

/// A user. `password_hash` is a PHC string; `totp_secret` is sealed by the caller.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_enabled: bool,
    pub totp_last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("role", &self.role)
            .field("totp_enabled", &self.totp_enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkspaceMemberRow {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
}

/// What a change that must leave the org an owner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerGuarded {
    Done,
    /// No such member (any more).
    Missing,
    /// Refused: the org would have been left without an owner.
    LastOwner,
}

/// Runs `$statement` — a write that checks, in its own `WHERE`, that another owner remains — so
/// that no two such checks interleave, then says what it did.
///
/// SQLite: the statement alone is atomic. A write statement takes the database's write lock
/// before it reads a page (in WAL mode a stale read snapshot is refreshed, not used), so its
/// `EXISTS` sees every committed change. PostgreSQL: a lone statement would not do — two
/// owners demoting themselves would each see the other still an owner in their snapshots — so
/// the statement runs in a transaction that first locks the org's row. The lock is
/// `FOR NO KEY UPDATE`: it serializes these writers but still lets rows that reference the org
/// (sessions, meetings, audit entries) be inserted meanwhile. Under READ COMMITTED the statement
/// after the lock takes a new snapshot, so it sees what the previous holder committed.
macro_rules! owner_guarded {
    ($db:expr, $org:expr, $user:expr, $statement:expr) => {{
        $crate::stats::note_query();
        match $db {
            Database::Sqlite(pool, ..) => {
                let mut conn = pool.acquire().await?;
                owner_guarded!(@run &mut *conn, $org, $user, $statement)
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT id FROM orgs WHERE id = $1 FOR NO KEY UPDATE")
                    .bind($org)
                    .execute(&mut *tx)
                    .await?;
                let outcome = owner_guarded!(@run &mut *tx, $org, $user, $statement);
                tx.commit().await?;
                outcome
            }
        }
    }};
    (@run $conn:expr, $org:expr, $user:expr, $statement:expr) => {{
        if $statement.execute(&mut *$conn).await?.rows_affected() > 0 {
            Ok(OwnerGuarded::Done)
        } else {
            let exists: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1 AND id = $2")
                    .bind($org)
                    .bind($user)
                    .fetch_one(&mut *$conn)
                    .await?;
            Ok(if exists > 0 {
                OwnerGuarded::LastOwner
            } else {
                OwnerGuarded::Missing
            })
        }
    }};
}

const USER_COLUMNS: &str = "id, org_id, email, name, password_hash, role, totp_secret, \
                            totp_enabled, totp_last_step, created_at";

impl FromReader for UserRow {
    const WIDTH: usize = 10;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            email: r.get(i + 2)?,
            name: r.get(i + 3)?,
            password_hash: r.get(i + 4)?,
            role: r.get(i + 5)?,
            totp_secret: r.get(i + 6)?,
            totp_enabled: r.get(i + 7)?,
            totp_last_step: r.get(i + 8)?,
            created_at: reader::time(r, i + 9)?,
        })
    }
}

impl Database {
    /// Creates an organization, its first user (the owner) and its default workspace in one
    /// transaction. With `only_if_first`, does nothing and returns false when any user exists
    /// (so two racing first registrations cannot both become owners of new orgs).
    pub async fn create_org_with_owner(
        &self,
        org: &OrgRow,
        owner: &UserRow,
        workspace: &WorkspaceRow,
        only_if_first: bool,
    ) -> Result<bool, StoreError> {
        with_write_tx!(self, super::LOCK_REGISTRATION, tx => {
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&mut *tx)
                .await?;
            if only_if_first && users > 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO orgs (id, name, require_mfa, created_at) VALUES ($1, $2, $3, $4)")
                .bind(org.id).bind(&org.name).bind(org.require_mfa).bind(org.created_at)
                .execute(&mut *tx).await?;
            insert_user!(tx, owner);
            sqlx::query("INSERT INTO workspaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(workspace.id).bind(workspace.org_id).bind(&workspace.name).bind(workspace.created_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Whether any account exists at all (registration is open to the first user only, unless
    /// configured otherwise).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS one")
                .fetch_one(pool).await?;
            Ok(n > 0)
        })
    }

    /// Whether `org_id` has a member with this (normalized) email.
    pub async fn is_member_email(&self, org_id: Uuid, email: &str) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1 AND email = $2")
                .bind(org_id).bind(email).fetch_one(pool).await?;
            Ok(n > 0)
        })
    }

    /// Whether an account exists with this (normalized) email, in any org.
    pub async fn email_taken(&self, email: &str) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
                .bind(email).fetch_one(pool).await?;
            Ok(n > 0)
        })
    }

    /// Login lookup: the account for a normalized email, whichever org it is in.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserRow>(&sql).bind(email).fetch_optional(pool).await?))
    }

    pub async fn user(&self, org_id: Uuid, user_id: Uuid) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2");
        if let Some(reader) = self.reader() {
            return reader.row(&sql, vec![reader::id(org_id), reader::id(user_id)]);
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserRow>(&sql).bind(org_id).bind(user_id).fetch_optional(pool).await?))
    }

    pub async fn users(&self, org_id: Uuid) -> Result<Vec<UserRow>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY created_at, id");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserRow>(&sql).bind(org_id).fetch_all(pool).await?))
    }

    pub async fn set_password_hash(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        hash: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE org_id = $2 AND id = $3")
                .bind(hash).bind(org_id).bind(user_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Changes a member's org role, unless that would leave the org without an owner: the check
    /// and the change are one step (see `owner_guarded!`).
    pub async fn set_user_role(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<OwnerGuarded, StoreError> {
        owner_guarded!(
            self,
            org_id,
            user_id,
            sqlx::query(
                "UPDATE users SET role = $1 WHERE org_id = $2 AND id = $3 \
             AND ($1 = 'owner' OR role <> 'owner' OR EXISTS (SELECT 1 FROM users AS other \
             WHERE other.org_id = $2 AND other.role = 'owner' AND other.id <> $3))",
            )
            .bind(role)
            .bind(org_id)
            .bind(user_id)
        )
    }

    /// Removes a user and, by cascade, their sessions, keys, memberships and recovery codes,
    /// unless they are the org's last owner: the check and the removal are one step.
    pub async fn delete_user(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<OwnerGuarded, StoreError> {
        owner_guarded!(
            self,
            org_id,
            user_id,
            sqlx::query(
                "DELETE FROM users WHERE org_id = $1 AND id = $2 \
             AND (role <> 'owner' OR EXISTS (SELECT 1 FROM users AS other \
             WHERE other.org_id = $1 AND other.role = 'owner' AND other.id <> $2))",
            )
            .bind(org_id)
            .bind(user_id)
        )
    }

    /// Stores (or clears) the sealed TOTP secret and whether it is active.
    pub async fn set_totp(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        sealed_secret: Option<&[u8]>,
        enabled: bool,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE users SET totp_secret = $1, totp_enabled = $2, totp_last_step = NULL \
                         WHERE org_id = $3 AND id = $4")
                .bind(sealed_secret).bind(enabled).bind(org_id).bind(user_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Records the TOTP step just used; false when it was already used (a replayed code).
    pub async fn advance_totp_step(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        step: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE org_id = $2 AND id = $3 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        ).bind(step).bind(org_id).bind(user_id).execute(pool).await?.rows_affected() > 0))
    }

    pub async fn replace_recovery_codes(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM recovery_codes WHERE org_id = $1 AND user_id = $2")
                .bind(org_id).bind(user_id).execute(&mut *tx).await?;
            for hash in hashes {
                sqlx::query("INSERT INTO recovery_codes (org_id, user_id, code_hash) VALUES ($1, $2, $3)")
                    .bind(org_id).bind(user_id).bind(hash).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Spends a recovery code; false when it does not exist or was already used.
    pub async fn use_recovery_code(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE org_id = $2 AND user_id = $3 \
             AND code_hash = $4 AND used_at IS NULL",
        ).bind(now).bind(org_id).bind(user_id).bind(hash).execute(pool).await?.rows_affected() > 0))
    }

    pub async fn unused_recovery_codes(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<i64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL",
        ).bind(org_id).bind(user_id).fetch_one(pool).await?))
    }

    /// What a request's caller is, in one statement: the user's role and second factor, the
    /// org's MFA rule and closure, and the user's workspace roles.
    pub async fn principal_row(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<PrincipalRow>, StoreError> {
        let roles = match self {
            Database::Sqlite(..) => "group_concat(hex(w.workspace_id) || ':' || w.role, ',')",
            Database::Postgres(_) => "string_agg(w.workspace_id::text || ':' || w.role, ',')",
        };
        let sql = format!(
            "SELECT u.id AS user_id, u.org_id, u.role, u.totp_enabled, o.require_mfa, o.erase_at, \
             (SELECT {roles} FROM workspace_members w WHERE w.org_id = u.org_id AND w.user_id = u.id) \
             AS workspace_roles FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.org_id = $1 AND u.id = $2"
        );
        if let Some(reader) = self.reader() {
            return reader.row(&sql, vec![reader::id(org_id), reader::id(user_id)]);
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, PrincipalRow>(&sql).bind(org_id).bind(user_id).fetch_optional(pool).await?))
    }

    pub async fn org(&self, org_id: Uuid) -> Result<Option<OrgRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgRow>(
            "SELECT id, name, require_mfa, created_at, erase_at FROM orgs WHERE id = $1",
        ).bind(org_id).fetch_optional(pool).await?))
    }

    /// The org's glossary, sealed under the org key (none when unset).
    pub async fn org_glossary(&self, org_id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Option<Vec<u8>>>(
            "SELECT glossary FROM orgs WHERE id = $1",
        ).bind(org_id).fetch_optional(pool).await?.flatten()))
    }

    /// Sets (or, with `None`, clears) the org's sealed glossary.
    pub async fn set_org_glossary(
        &self,
        org_id: Uuid,
        glossary: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE orgs SET glossary = $1 WHERE id = $2")
                .bind(glossary).bind(org_id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn update_org(
        &self,
        org_id: Uuid,
        name: &str,
        require_mfa: bool,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE orgs SET name = $1, require_mfa = $2 WHERE id = $3")
                .bind(name).bind(require_mfa).bind(org_id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn insert_workspace(&self, ws: &WorkspaceRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO workspaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(ws.id).bind(ws.org_id).bind(&ws.name).bind(ws.created_at).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn workspaces(&self, org_id: Uuid) -> Result<Vec<WorkspaceRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, org_id, name, created_at FROM workspaces WHERE org_id = $1 ORDER BY created_at, id",
        ).bind(org_id).fetch_all(pool).await?))
    }

    pub async fn workspace(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<WorkspaceRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, org_id, name, created_at FROM workspaces WHERE org_id = $1 AND id = $2",
        ).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// The bot consent policy (JSON) of the org (`workspace` none) or of one of its
    /// workspaces; none when unset.
    pub async fn bot_consent(
        &self,
        org_id: Uuid,
        workspace: Option<Uuid>,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(match workspace {
            None => sqlx::query_scalar::<_, Option<String>>("SELECT bot_consent FROM orgs WHERE id = $1")
                .bind(org_id).fetch_optional(pool).await?.flatten(),
            Some(ws) => sqlx::query_scalar::<_, Option<String>>(
                "SELECT bot_consent FROM workspaces WHERE org_id = $1 AND id = $2",
            ).bind(org_id).bind(ws).fetch_optional(pool).await?.flatten(),
        }))
    }

    /// Replaces a bot consent policy; false when the workspace is not the org's.
    pub async fn set_bot_consent(
        &self,
        org_id: Uuid,
        workspace: Option<Uuid>,
        json: &str,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(match workspace {
            None => sqlx::query("UPDATE orgs SET bot_consent = $1 WHERE id = $2")
                .bind(json).bind(org_id).execute(pool).await?.rows_affected() > 0,
            Some(ws) => sqlx::query("UPDATE workspaces SET bot_consent = $1 WHERE org_id = $2 AND id = $3")
                .bind(json).bind(org_id).bind(ws).execute(pool).await?.rows_affected() > 0,
        }))
    }

    pub async fn rename_workspace(
        &self,
        org_id: Uuid,
        id: Uuid,
        name: &str,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("UPDATE workspaces SET name = $1 WHERE org_id = $2 AND id = $3")
            .bind(name).bind(org_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    /// Sets a user's role in a workspace (both must belong to `org_id`), or removes it (`None`).
    pub async fn set_workspace_role(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        user_id: Uuid,
        role: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM workspace_members WHERE org_id = $1 AND workspace_id = $2 AND user_id = $3")
                .bind(org_id).bind(workspace_id).bind(user_id).execute(&mut *tx).await?;
            if let Some(role) = role {
                sqlx::query("INSERT INTO workspace_members (org_id, workspace_id, user_id, role) \
                             SELECT $1, w.id, u.id, $4 FROM workspaces w, users u \
                             WHERE w.org_id = $1 AND w.id = $2 AND u.org_id = $1 AND u.id = $3")
                    .bind(org_id).bind(workspace_id).bind(user_id).bind(role).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn workspace_members(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
    ) -> Result<Vec<WorkspaceMemberRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WorkspaceMemberRow>(
            "SELECT workspace_id, user_id, role FROM workspace_members WHERE org_id = $1 AND workspace_id = $2",
        ).bind(org_id).bind(workspace_id).fetch_all(pool).await?))
    }
}
