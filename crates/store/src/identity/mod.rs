//! Identity and access rows: organizations, users, workspaces, sessions, API keys, support keys,
//! invitations, recovery codes. Every function that reads or writes tenant data takes the
//! `org_id` it is confined to; the only unscoped reads are lookups by a credential (a session
//! token hash, a key's lookup prefix, an email at login), which is how a tenant is found at all.

pub use accounts::{OrgRow, OwnerGuarded, PrincipalRow, UserRow, WorkspaceMemberRow, WorkspaceRow};
pub use credentials::{ApiKeyRow, InvitationRow, SessionRow, SupportKeyRow};

/// Runs one body against whichever pool is configured. SQL is written once with `$n`
/// placeholders (both SQLite and PostgreSQL accept them) and the body is compiled per backend.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {{
        $crate::stats::note_query();
        match $db {
            $crate::Database::Sqlite($pool, ..) => $body,
            $crate::Database::Postgres($pool) => $body,
        }
    }};
}
pub(crate) use with_pool;

/// Opens a write transaction that is serialized with every other holder of the same `$lock`:
/// SQLite by `BEGIN IMMEDIATE` (its single writer lock, taken before the first read), PostgreSQL
/// by a transaction-scoped advisory lock. The body runs on `$tx` and must commit.
macro_rules! with_write_tx {
    ($db:expr, $lock:expr, $tx:ident => $body:expr) => {{
        $crate::stats::note_query();
        match $db {
            $crate::Database::Sqlite(pool, ..) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
            $crate::Database::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind($lock)
                    .execute(&mut *$tx)
                    .await?;
                $body
            }
        }
    }};
}

pub(crate) use with_write_tx;

/// Advisory lock ids (PostgreSQL) of the serialized writers.
pub(crate) const LOCK_REGISTRATION: i64 = 7201;
pub(crate) const LOCK_AUDIT_APPEND: i64 = 7202;
pub(crate) const LOCK_JOB_ENQUEUE: i64 = 7203;

/// Inserts a user row inside an open transaction (`$tx`), on either backend.
macro_rules! insert_user {
    ($tx:expr, $user:expr) => {{
        let user: &$crate::identity::UserRow = $user;
        sqlx::query(
            "INSERT INTO users (id, org_id, email, name, password_hash, role, totp_enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(user.org_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(user.totp_enabled)
        .bind(user.created_at)
        .execute(&mut *$tx)
        .await?;
    }};
}

mod accounts;
mod credentials;
