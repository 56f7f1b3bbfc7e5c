//! What a deletion did in customers' buckets, as its certificate says it: the objects it
//! planned to delete (from the ledger of what meetvault wrote) and the outcome, both kept on
//! the pending certificate. The deleting itself is `destinations::erase`.

use std::collections::BTreeMap;

use meetvault_store::destinations::BucketObjectRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Deleted, Retained};

/// The kind a certificate names these objects by.
const KIND: &str = "customer_bucket_objects";

/// One object meetvault wrote into a customer's bucket, as a deletion plans it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketObject {
    pub(crate) destination_id: Uuid,
    pub(crate) key: String,
    /// `recording`, `chat` or `transcript`.
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) recording_id: Option<Uuid>,
    #[serde(default)]
    pub(crate) size: Option<i64>,
}

impl From<BucketObjectRow> for BucketObject {
    fn from(r: BucketObjectRow) -> Self {
        Self {
            destination_id: r.destination_id,
            key: r.object_key,
            kind: r.kind,
            recording_id: r.recording_id,
            size: r.size,
        }
    }
}

/// What a deletion in customers' buckets did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketOutcome {
    pub(crate) deleted: u64,
    pub(crate) deleted_bytes: u64,
    /// Objects left, counted by why.
    pub(crate) left: BTreeMap<String, u64>,
}

impl BucketOutcome {
    /// A certificate's `deleted` entry (when anything was) and its `retained` entries.
    pub(crate) fn certificate_entries(&self) -> (Option<Deleted>, Vec<Retained>) {
        let deleted = (self.deleted > 0).then(|| Deleted {
            kind: KIND.into(),
            count: self.deleted,
            bytes: Some(self.deleted_bytes),
            method: "customer_bucket_delete".into(),
        });
        let retained = self
            .left
            .iter()
            .map(|(reason, count)| Retained {
                kind: KIND.into(),
                count: Some(*count),
                reason: reason.clone(),
            })
            .collect();
        (deleted, retained)
    }

    pub(crate) fn leave(&mut self, reason: &str, n: usize) {
        *self.left.entry(reason.to_owned()).or_default() += n as u64;
    }
}

/// Why objects were left: the destination does not let meetvault delete.
pub(crate) const NOT_PERMITTED: &str = "delivered to the customer's own bucket, which the customer controls; its destination does not let meetvault delete there (allow_delete is off) (method: not permitted)";
pub(crate) const DESTINATION_GONE: &str = "delivered to the customer's own bucket through a destination since removed from meetvault, its credentials with it: meetvault can no longer reach them (method: not permitted)";

/// Why objects were left: the bucket refused the delete.
pub(crate) fn refused(why: &str) -> String {
    format!(
        "delivered to the customer's own bucket, which refused meetvault's delete: {why} (method: not permitted)"
    )
}
