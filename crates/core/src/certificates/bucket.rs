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
    /// Some deleted object's size was not known (written before the ledger, or cut off).
    #[serde(default)]
    pub(crate) bytes_unknown: bool,
    /// Objects left, counted by why.
    pub(crate) left: BTreeMap<String, u64>,
}

impl BucketOutcome {
    /// Adds what it did to a certificate: a `deleted` entry (when anything was) and a
    /// `retained` entry per reason objects stayed. Nothing when it has not run.
    pub(crate) fn certify(
        outcome: Option<&Self>,
        deleted: &mut Vec<Deleted>,
        retained: &mut Vec<Retained>,
    ) {
        let Some(o) = outcome else { return };
        if o.deleted > 0 {
            deleted.push(Deleted {
                kind: KIND.into(),
                count: o.deleted,
                bytes: (!o.bytes_unknown).then_some(o.deleted_bytes),
                method: "customer_bucket_delete".into(),
            });
        }
        retained.extend(o.left.iter().map(|(reason, count)| Retained {
            kind: KIND.into(),
            count: Some(*count),
            reason: reason.clone(),
        }));
    }

    pub(crate) fn leave(&mut self, reason: &str, n: usize) {
        *self.left.entry(reason.to_owned()).or_default() += n as u64;
    }
}

/// Why objects were left: the destination does not let meetvault delete.
pub(crate) const NOT_PERMITTED: &str = "delivered to the customer's own bucket, which the customer controls; its destination does not let meetvault delete there (allow_delete is off) (method: not permitted)";
pub(crate) const DESTINATION_GONE: &str = "delivered to the customer's own bucket through a destination since removed from meetvault, its credentials with it: meetvault can no longer reach them (method: not permitted)";

/// Why objects were left: the bucket refused the delete. Only S3's error code (or that there
/// was no answer) goes into the certificate, which is public: the rest of what the bucket said
/// (addresses, account names) stays in the log.
pub(crate) fn refused(code: Option<&str>) -> String {
    match code {
        Some(code) => format!(
            "delivered to the customer's own bucket, which refused meetvault's delete ({code}) (method: not permitted)"
        ),
        None => "delivered to the customer's own bucket, which could not be reached to delete them (method: not permitted)".into(),
    }
}

/// The entry for files delivered before meetvault kept a ledger of what it wrote.
pub(crate) fn before_ledger(deliveries: i64) -> Retained {
    Retained {
        kind: "customer_bucket_objects".into(),
        count: None,
        reason: format!(
            "files delivered to the customer's own bucket in {deliveries} deliveries made before meetvault kept a ledger of what it wrote (chat and transcript files, earlier copies of recordings): out of its reach by key (method: not permitted)"
        ),
    }
}
