//! Deleting from the customer's bucket what meetvault wrote there, where the customer lets it.
//! Every object a delivery writes is in a ledger (`bucket_objects`: destination, key, kind,
//! size), so a meeting's deletion, or a participant's, reaches exactly those objects and
//! nothing else the customer keeps beside them. An object is deleted only when its destination
//! still exists and allows it (`allow_delete`, proved by a probe delete when it was turned
//! on); otherwise, or when the bucket refuses, it is left and the certificate says so and why.
//! What was done is kept on the pending certificate, so a retry signs the same counts.

use std::collections::BTreeMap;

use meetvault_store::BlobKey;
use uuid::Uuid;

use super::{Destinations, bucket_error};
use crate::certificates::bucket::{
    BucketObject, BucketOutcome, DESTINATION_GONE, NOT_PERMITTED, refused,
};
use crate::{Core, CoreError};

impl Core {
    /// What meetvault wrote into customers' buckets for a meeting.
    pub(crate) async fn bucket_objects_of(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<Vec<BucketObject>, CoreError> {
        Ok(self
            .db()
            .bucket_objects_of_meeting(org, meeting)
            .await?
            .into_iter()
            .map(BucketObject::from)
            .collect())
    }

    /// Deletes `objects` where their destination allows it (idempotent: deleting what is gone
    /// succeeds), forgetting each one deleted; says what was deleted and what was left, and why.
    pub(crate) async fn delete_bucket_objects(
        &self,
        org: Uuid,
        objects: &[BucketObject],
    ) -> Result<BucketOutcome, CoreError> {
        let mut outcome = BucketOutcome::default();
        let mut by_destination: BTreeMap<Uuid, Vec<&BucketObject>> = BTreeMap::new();
        for o in objects {
            by_destination.entry(o.destination_id).or_default().push(o);
        }
        let destinations = Destinations { core: self };
        for (id, objects) in by_destination {
            let Some(row) = self.db().destination(org, id).await? else {
                outcome.leave(DESTINATION_GONE, objects.len());
                continue;
            };
            if !row.allow_delete {
                outcome.leave(NOT_PERMITTED, objects.len());
                continue;
            }
            let creds = destinations.open_credentials(&row).await?;
            let bucket = match destinations.open(&row, &creds, "endpoint").await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(destination = %id, error = %e, "a customer's bucket could not be reached to delete from");
                    outcome.leave(&refused(None), objects.len());
                    continue;
                }
            };
            for o in objects {
                // The store retries what may pass (timeouts, 5xx) before it answers an error.
                let done = match BlobKey::parse(&o.key) {
                    Ok(key) => bucket.delete(&key).await.map_err(|e| {
                        tracing::warn!(destination = %id, error = %bucket_error(&e), "a customer's bucket refused a delete");
                        s3_code(&e)
                    }),
                    Err(e) => {
                        tracing::warn!(destination = %id, error = %e, "a ledger key that is not a key");
                        Err(None)
                    }
                };
                match done {
                    Ok(()) => {
                        outcome.deleted += 1;
                        match o.size.and_then(|s| u64::try_from(s).ok()) {
                            Some(size) => outcome.deleted_bytes += size,
                            None => outcome.bytes_unknown = true,
                        }
                        self.db().forget_bucket_object(org, id, &o.key).await?;
                    }
                    Err(code) => {
                        outcome.leave(&refused(code.as_deref()), 1);
                        // Retention does not ask again; a deletion of the meeting does.
                        self.db()
                            .bucket_object_refused(org, id, &o.key, meetvault_jobs::now_ms())
                            .await?;
                    }
                }
            }
        }
        Ok(outcome)
    }
}

/// S3's error code in what the bucket answered (`AccessDenied`), when it gave one.
fn s3_code(e: &meetvault_store::StoreError) -> Option<String> {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    super::xml_text(&text, "Code")
        .filter(|c| (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric()))
}
