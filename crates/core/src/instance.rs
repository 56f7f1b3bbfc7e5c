//! The installation's identity: what `GET /api/v1/instance` reports.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Core, CoreError};

/// Public facts about this installation. Nothing here is secret or tenant data.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub instance_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The installation itself (`core.instance()`).
#[derive(Debug, Clone, Copy)]
pub struct Instance<'a> {
    pub(crate) core: &'a Core,
}

impl Instance<'_> {
    /// Reads (creating on first call) the installation's identity row.
    pub async fn info(self) -> Result<InstanceInfo, CoreError> {
        let row = self.core.db().instance().await?;
        Ok(InstanceInfo {
            name: "meetvault",
            version: env!("CARGO_PKG_VERSION"),
            instance_id: row.instance_id,
            created_at: row.created_at,
        })
    }
}
