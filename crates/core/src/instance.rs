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

impl Core {
    /// Reads (creating on first call) the installation's identity row.
    pub async fn instance_info(&self) -> Result<InstanceInfo, CoreError> {
        let row = self.db().instance().await?;
        Ok(InstanceInfo {
            name: "meetvault",
            version: env!("CARGO_PKG_VERSION"),
            instance_id: row.instance_id,
            created_at: row.created_at,
        })
    }
}
