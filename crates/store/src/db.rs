//! The relational store: one `Database` over SQLite (embedded default) or PostgreSQL, chosen once
//! from the URL. Each query is written for both backends here, never in the layers above.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetvault_config::{DatabaseKind, DatabaseUrl};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

use crate::{StoreError, fs_perms, migrations};

/// A connection pool to whichever backend is configured. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Database {
    /// The pool, and the hot path's own read-only connections (`reader`).
    Sqlite(SqlitePool, std::sync::Arc<crate::reader::Readers>),
    Postgres(PgPool),
}

/// The installation's identity row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    pub instance_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl Database {
    /// Connects (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(
        url: &DatabaseUrl,
        max_connections: Option<u32>,
    ) -> Result<Self, StoreError> {
        match url.kind() {
            DatabaseKind::Sqlite => {
                let options = SqliteConnectOptions::from_str(url.expose())?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // Deleted rows (shredded meeting keys above all) are zeroed, not left in free pages.
                    .pragma("secure_delete", "ON")
                    .busy_timeout(Duration::from_secs(10));
                let path = options.get_filename().to_path_buf();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    fs_perms::private_dir(dir)?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections.unwrap_or(5))
                    .connect_with(options)
                    .await?;
                // The database holds tenant data: owner-only, like every file in the data dir.
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let p = std::path::PathBuf::from(p);
                    if p.exists() {
                        fs_perms::private_file(&p)?;
                    }
                }
                // Read-only connections of the hot path (`reader`) on the same file; an
                // in-memory database (one per connection) reads through sqlx alone.
                let in_memory =
                    path.as_os_str() == ":memory:" || url.expose().contains("mode=memory");
                let file = (!in_memory).then(|| std::fs::canonicalize(&path).unwrap_or(path));
                let readers = crate::reader::Readers::new(file);
                Ok(Self::Sqlite(pool, std::sync::Arc::new(readers)))
            }
            DatabaseKind::Postgres => {
                let options = PgConnectOptions::from_str(url.expose())?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.unwrap_or(10))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// The hot path's own SQLite connections, when they are there (`reader`).
    pub(crate) fn reader(&self) -> Option<&crate::reader::Readers> {
        match self {
            Self::Sqlite(_, readers) if readers.on() => Some(readers),
            _ => None,
        }
    }

    pub fn kind(&self) -> DatabaseKind {
        match self {
            Self::Sqlite(..) => DatabaseKind::Sqlite,
            Self::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    /// Applies every embedded migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let applied_before = self.applied_migrations().await?;
        let list = match self {
            Self::Sqlite(..) => migrations::SQLITE,
            Self::Postgres(_) => migrations::POSTGRES,
        };
        let migrator = migrations::migrator(list).await?;
        match self {
            Self::Sqlite(pool, ..) => migrator.run(pool).await?,
            Self::Postgres(pool) => migrator.run(pool).await?,
        }
        Ok(self.applied_migrations().await? - applied_before)
    }

    /// How many migrations the database records as applied (0 for a new database).
    pub async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let exists = match self {
            Self::Sqlite(pool, ..) => sqlx::query(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>(0)?,
            Self::Postgres(pool) => sqlx::query(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>(0)?,
        };
        if exists == 0 {
            return Ok(0);
        }
        let sql = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
        let n = match self {
            Self::Sqlite(pool, ..) => sqlx::query(sql)
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>(0)?,
            Self::Postgres(pool) => sqlx::query(sql)
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>(0)?,
        };
        usize::try_from(n).map_err(|_| StoreError::Corrupt("negative migration count".into()))
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(pool, ..) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Self::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The installation's identity, created on first call. Afterwards a single read.
    pub async fn instance(&self) -> Result<InstanceRow, StoreError> {
        if let Some(row) = self.read_instance().await? {
            return Ok(row);
        }
        self.create_instance().await?;
        self.read_instance()
            .await?
            .ok_or_else(|| StoreError::Corrupt("the instance row vanished after creation".into()))
    }

    async fn read_instance(&self) -> Result<Option<InstanceRow>, StoreError> {
        let sql = "SELECT instance_id, created_at FROM instance WHERE singleton = 1";
        match self {
            Self::Sqlite(pool, ..) => {
                let Some(row) = sqlx::query(sql).fetch_optional(pool).await? else {
                    return Ok(None);
                };
                let id: String = row.try_get(0)?;
                Ok(Some(InstanceRow {
                    instance_id: Uuid::parse_str(&id)
                        .map_err(|_| StoreError::Corrupt("instance id is not a UUID".into()))?,
                    created_at: row.try_get(1)?,
                }))
            }
            Self::Postgres(pool) => {
                let Some(row) = sqlx::query(sql).fetch_optional(pool).await? else {
                    return Ok(None);
                };
                Ok(Some(InstanceRow {
                    instance_id: row.try_get(0)?,
                    created_at: row.try_get(1)?,
                }))
            }
        }
    }

    /// Inserts the identity row unless another process got there first.
    async fn create_instance(&self) -> Result<(), StoreError> {
        let new_id = Uuid::new_v4();
        let now = Utc::now();
        match self {
            Self::Sqlite(pool, ..) => {
                sqlx::query(
                    "INSERT INTO instance (singleton, instance_id, created_at) VALUES (1, ?, ?) \
                     ON CONFLICT (singleton) DO NOTHING",
                )
                .bind(new_id.to_string())
                .bind(now)
                .execute(pool)
                .await?;
            }
            Self::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO instance (singleton, instance_id, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (singleton) DO NOTHING",
                )
                .bind(new_id)
                .bind(now)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Closes every pooled connection (used at shutdown so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool, ..) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}
