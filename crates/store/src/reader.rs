//! The hot path's reads on SQLite, run on the calling thread over read-only connections of
//! their own (rusqlite, on the same SQLite library sqlx links).
//!
//! sqlx's SQLite driver runs each connection on a worker thread and hands every statement and
//! every row across a channel: a point read costs several thread wake-ups, which the profile
//! of an authenticated request showed as half of all CPU (bench/README.md). A read here is
//! a few microseconds of SQLite on the thread that asked — the credential, the caller and a
//! meeting's keys, each one indexed statement — so nothing crosses threads. Only reads that
//! are short and bounded belong here (an index lookup, a page of at most a few hundred rows):
//! the calling thread is a runtime worker, and it is busy for the length of the statement.
//!
//! The connections are opened read-only (`query_only` too) in WAL mode, so they see what was
//! committed when the statement began, exactly like a read through the pool, never block a
//! writer and are never blocked by one. Values are decoded the way sqlx encoded them (a UUID
//! is a 16-byte blob, a time RFC 3339 text, a boolean 0 or 1).
//!
//! Inside [`one_snapshot`] (the HTTP layer wraps each GET and HEAD in it) the reads share one
//! connection and one read transaction: the request sees one snapshot, taken at its first read,
//! and SQLite's WAL read lock — a mutex every connection to the file shares, which two runtime
//! threads contended on four times per request — is taken once. Only for requests that do not
//! write: a snapshot would not see the request's own writes (they go through sqlx).

use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, Row};
use uuid::Uuid;

use crate::StoreError;

/// Idle connections kept for reuse; more are opened while more threads read at once, and
/// closed when they come back to a full list.
const IDLE: usize = 8;

/// Read-only connections to one SQLite file, checked out for one statement at a time. Without
/// a path (an in-memory database, or a test comparing with sqlx) the store reads through sqlx.
pub struct Readers {
    path: Option<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

tokio::task_local! {
    static SNAPSHOT: RefCell<Option<Held>>;
}

/// The connection a snapshot reads on, its read transaction open; given back (the transaction
/// ended) when the snapshot ends, however it ends.
struct Held {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
    conn: Option<Connection>,
    begun: Instant,
}

/// How old a snapshot may grow: a read after that starts a fresh one (a slow request never
/// reads a view older than this, nor holds back a checkpoint longer by reading).
const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(1);

impl Drop for Held {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection whose transaction does not end cleanly is closed, not reused.
        if conn.execute_batch("COMMIT").is_ok()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
    }
}

/// Runs `work` with its reads through the reader in one read transaction (one snapshot, taken
/// at the first read; ended when `work` ends or is dropped). For work that does not write.
pub async fn one_snapshot<F: Future>(work: F) -> F::Output {
    SNAPSHOT.scope(RefCell::new(None), work).await
}

/// A row type the reader decodes by position, in the order of its `…_COLUMNS` list.
pub(crate) trait FromReader: Sized {
    /// How many columns it takes.
    const WIDTH: usize;
    /// Decodes the row's columns from `at` on.
    fn at(row: &Row<'_>, at: usize) -> rusqlite::Result<Self>;
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Readers {
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Whether reads go through these connections (a file database).
    pub(crate) fn on(&self) -> bool {
        self.path.is_some()
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let Some(path) = &self.path else {
            return Err(StoreError::Corrupt("no file for the reader".into()));
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(read_error)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(read_error)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(read_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let conn = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match conn {
            Some(conn) => Ok(conn),
            None => self.open(),
        }
    }

    /// Runs `read` on this thread: in the snapshot of the work it is part of, if any
    /// ([`one_snapshot`]), else on an idle connection (or a new one).
    pub(crate) fn read<T, F: FnOnce(&Connection) -> rusqlite::Result<T>>(
        &self,
        read: F,
    ) -> Result<T, StoreError> {
        crate::stats::note_query();
        let mut read = Some(read);
        if let Ok(Some(out)) = SNAPSHOT.try_with(|slot| self.in_snapshot(slot, &mut read)) {
            return out;
        }
        let Some(read) = read.take() else {
            return Err(StoreError::Corrupt("a read ran twice".into()));
        };
        let conn = self.checkout()?;
        let out = read(&conn).map_err(read_error);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
        out
    }
}

impl Readers {
    /// `read` in the snapshot held in `slot` (opened by this first read); `None` (and `read`
    /// left) when the snapshot is another database's or already in use.
    fn in_snapshot<T, F: FnOnce(&Connection) -> rusqlite::Result<T>>(
        &self,
        slot: &RefCell<Option<Held>>,
        read: &mut Option<F>,
    ) -> Option<Result<T, StoreError>> {
        let path = self.path.as_ref()?;
        let mut slot = slot.try_borrow_mut().ok()?;
        if slot
            .as_ref()
            .is_some_and(|h| &h.path == path && h.begun.elapsed() > SNAPSHOT_MAX_AGE)
        {
            // Ended (and its connection given back) by `Held`'s drop; a fresh one below.
            *slot = None;
        }
        if slot.is_none() {
            let conn = match self.checkout() {
                Ok(conn) => conn,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = conn.execute_batch("BEGIN") {
                return Some(Err(read_error(e)));
            }
            *slot = Some(Held {
                path: path.clone(),
                idle: self.idle.clone(),
                conn: Some(conn),
                begun: Instant::now(),
            });
        }
        let held = slot.as_ref()?;
        if &held.path != path {
            return None;
        }
        let conn = held.conn.as_ref()?;
        let read = read.take()?;
        Some(read(conn).map_err(read_error))
    }

    /// Every row `sql` (with `$n` placeholders) answers for `params`.
    pub(crate) fn rows<T: FromReader>(
        &self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<T>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(sql)?;
            bind(&mut statement, params)?;
            let mut rows = statement.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(T::at(row, 0)?);
            }
            Ok(out)
        })
    }

    /// The first row `sql` answers for `params`, if any.
    pub(crate) fn row<T: FromReader>(
        &self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Option<T>, StoreError> {
        self.read(|c| {
            let mut statement = c.prepare_cached(sql)?;
            bind(&mut statement, params)?;
            let mut rows = statement.raw_query();
            rows.next()?.map(|r| T::at(r, 0)).transpose()
        })
    }
}

/// Binds `params` to `$1`, `$2`, … — SQLite's own named parameters, so the SQL is the one sqlx
/// runs (a name may come back, or first appear after a later one). Every parameter of the
/// statement must be given: one left out would be NULL, silently.
fn bind(statement: &mut rusqlite::Statement<'_>, params: Vec<Value>) -> rusqlite::Result<()> {
    const NAMES: [&str; 12] = [
        "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12",
    ];
    if statement.parameter_count() != params.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            params.len(),
            statement.parameter_count(),
        ));
    }
    for (i, value) in params.into_iter().enumerate() {
        let long;
        let name = match NAMES.get(i) {
            Some(name) => *name,
            None => {
                long = format!("${}", i + 1);
                long.as_str()
            }
        };
        let index = statement
            .parameter_index(name)?
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

/// Parameters, encoded as sqlx encodes them for SQLite.
pub(crate) fn id(id: Uuid) -> Value {
    Value::Blob(id.as_bytes().to_vec())
}

pub(crate) fn opt_id(id: Option<Uuid>) -> Value {
    id.map_or(Value::Null, self::id)
}

pub(crate) fn at(t: DateTime<Utc>) -> Value {
    Value::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

pub(crate) fn opt_at(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, at)
}

fn read_error(e: rusqlite::Error) -> StoreError {
    StoreError::Read(e)
}

/// A UUID column (sqlx writes them as 16-byte blobs).
pub(crate) fn uuid(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes: Vec<u8> = row.get(i)?;
    Uuid::from_slice(&bytes).map_err(|e| conversion(i, e))
}

pub(crate) fn opt_uuid(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let bytes: Option<Vec<u8>> = row.get(i)?;
    bytes
        .map(|b| Uuid::from_slice(&b).map_err(|e| conversion(i, e)))
        .transpose()
}

/// A time column (sqlx writes RFC 3339; SQLite's own `datetime()` writes `YYYY-MM-DD HH:MM:SS`).
pub(crate) fn time(row: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(i)?;
    parse_time(&text).ok_or_else(|| conversion(i, BadTime(text)))
}

pub(crate) fn opt_time(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(i)?;
    text.map(|t| parse_time(&t).ok_or_else(|| conversion(i, BadTime(t))))
        .transpose()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

#[derive(Debug)]
struct BadTime(String);

impl std::fmt::Display for BadTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a time: {:?}", self.0)
    }
}

impl std::error::Error for BadTime {}

fn conversion(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
}

#[cfg(test)]
mod tests;
