//! Persistence: the relational store (SQLite by default, PostgreSQL by URL) with its embedded
//! migrations, the blob store (filesystem or S3), and generated key files.
//! SQL lives here and in `migrations/` only; nothing here knows HTTP.

mod audit;
mod blob;
pub mod bot_reports;
pub mod bots;
pub mod calendar;
pub mod certificates;
mod db;
pub mod destinations;
pub mod documents;
pub mod erasure;
mod error;
pub mod fs_perms;
pub mod identity;
pub mod integrations;
pub mod intel;
mod jobs;
pub mod keyfile;
mod migrations;
pub mod outbox;
mod reader;
pub mod requests;
pub mod retention;
pub mod sso;
pub mod stats;
pub mod vault;
pub mod webhooks;
pub mod widgets;

pub use audit::{AuditFilter, AuditRow, CheckpointRow};
pub use blob::{BlobKey, BlobMeta, BlobStore, BlobStream};
pub use db::{Database, InstanceRow};
pub use error::StoreError;
pub use jobs::{JobEnd, JobRow, JobState};
pub use keyfile::KeyMaterial;
pub use reader::one_snapshot;
