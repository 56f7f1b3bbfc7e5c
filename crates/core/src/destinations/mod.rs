//! The customer's own buckets (`core.destinations()`): S3-compatible destinations a meeting's
//! recordings are delivered to — "recordings flow through us; they're never our property".
//! A destination's endpoint passes the outbound URL rules (resolved) when it is set and before
//! every delivery, and every connection to it goes through the outbound client's screened
//! resolver; its credentials are sealed under the org's key and never returned. Creating one
//! starts a multipart upload and aborts it (a write probe that leaves nothing, even for a key
//! that may not delete), so a wrong key, bucket or region is a 422 now, not a failed delivery
//! later.
//!
//! Delivery is a durable job (`destination.deliver`: ids only, `deliver.rs`): each recording is
//! decrypted as a stream and uploaded (multipart above the part size, aborted on failure, so
//! nothing half-written stays) to `{prefix}/meetings/{meeting}/recordings/{recording}.{ext}`,
//! its SHA-256 and size computed on the way — or, for a bot's track that streamed while it
//! recorded (`stream.rs`), its upload is finished in place; the chat and the transcript go
//! beside them; then `recording.files_ready` (keys, sizes, SHA-256) goes to the outbox, and so
//! to webhooks. A re-run overwrites the same keys.

use meetvault_store::BlobKey;
use meetvault_store::destinations::DestinationRow;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use url::Url;
use uuid::Uuid;
pub use zeroize::Zeroizing;

use crate::access::Scope;
use crate::access::proof::{MeetingsWrite, OrgManage};
use crate::audit::{AuditAction, Event};
use crate::ids::{DestinationId, JobId, MeetingId};
use crate::{Core, CoreError};

mod deliver;
mod erase;
mod mixed;
mod stream;

pub(crate) use deliver::DeliverHandler;

pub(crate) use stream::Streams;

/// The job that delivers a meeting to a destination.
pub(crate) const DELIVER_JOB: &str = "destination.deliver";
/// Multipart part size for uploads to a customer's bucket (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 << 20;

/// A new destination.
#[derive(Debug, Clone)]
pub struct NewDestination {
    pub name: String,
    /// The S3 API's base URL; none: AWS's for the region.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: String,
    pub prefix: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    /// `age1…`: objects are encrypted to it before they leave.
    pub age_recipient: Option<String>,
    pub is_default: Option<bool>,
    /// With `is_default`: the default of this workspace's meetings (else of the org's).
    pub workspace_id: Option<crate::ids::WorkspaceId>,
    /// meetvault may delete what it wrote there (proved with a probe delete).
    pub allow_delete: Option<bool>,
}

/// A change to a destination: each field given is changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct DestinationChange {
    pub is_default: Option<bool>,
    pub allow_delete: Option<bool>,
}

/// A destination as its owner sees it: never its credentials.
#[derive(Debug, Clone)]
pub struct DestinationView {
    pub id: DestinationId,
    pub name: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    /// The last four characters of the access key id.
    pub access_key_hint: String,
    pub age_recipient: Option<String>,
    pub is_default: bool,
    pub workspace_id: Option<crate::ids::WorkspaceId>,
    /// meetvault deletes what it wrote there when it deletes the meeting (or a participant's
    /// part of it).
    pub allow_delete: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize)]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
}

#[derive(Serialize, Deserialize)]
struct DeliverPayload {
    meeting_id: MeetingId,
    destination_id: Uuid,
    /// `recordings` (and the transcript, if there is one) or `transcript` alone.
    #[serde(default = "recordings")]
    what: String,
}

fn recordings() -> String {
    "recordings".into()
}

/// The destinations service.
#[derive(Debug, Clone, Copy)]
pub struct Destinations<'a> {
    pub(crate) core: &'a Core,
}

impl Destinations<'_> {
    /// Adds a destination after a probe write (a multipart upload started and aborted) proves
    /// the bucket takes writes.
    pub async fn create(
        self,
        scope: &Scope<OrgManage>,
        new: &NewDestination,
    ) -> Result<DestinationView, CoreError> {
        let org = scope.org_id().uuid();
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                "name",
                "1–100 characters, no control characters",
            ));
        }
        let region = new.region.clone().unwrap_or_else(|| "us-east-1".into());
        if region.is_empty()
            || region.len() > 32
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(CoreError::invalid(
                "region",
                "lowercase letters, digits and '-' (us-east-1)",
            ));
        }
        check_bucket(&new.bucket)?;
        let prefix = new
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        if !prefix.is_empty() {
            BlobKey::parse(&prefix).map_err(|_| {
                CoreError::invalid(
                    "prefix",
                    "'/'-separated segments of letters, digits, '.', '_' and '-'",
                )
            })?;
        }
        let key_id = new.access_key_id.trim();
        if key_id.len() < 4 || key_id.len() > 128 || new.secret_access_key.is_empty() {
            return Err(CoreError::invalid(
                "access_key_id",
                "an access key id and its secret access key are both required",
            ));
        }
        let age_recipient = match new.age_recipient.as_deref().map(str::trim) {
            Some(r) => {
                meetvault_crypto::age::Recipient::parse(r).map_err(|_| {
                    CoreError::invalid(
                        "age_recipient",
                        "not an age X25519 recipient: age1… (`age-keygen -y key.txt` prints it)",
                    )
                })?;
                Some(r.to_owned())
            }
            None => None,
        };
        if let Some(w) = new.workspace_id
            && self.core.db().workspace(org, w.0).await?.is_none()
        {
            return Err(CoreError::invalid(
                "workspace_id",
                "no such workspace in this org",
            ));
        }
        let id = Uuid::new_v4();
        let now = meetvault_jobs::now_ms();
        let creds = Credentials {
            access_key_id: key_id.to_owned(),
            secret_access_key: new.secret_access_key.to_string(),
        };
        let row = DestinationRow {
            id,
            org_id: org,
            name: name.to_owned(),
            endpoint: new
                .endpoint
                .as_deref()
                .map(|e| e.trim().trim_end_matches('/').to_owned()),
            region,
            bucket: new.bucket.clone(),
            prefix,
            path_style: new.path_style.unwrap_or(false),
            credentials: self.seal(org, id, &creds).await?,
            key_hint: key_id[key_id.len() - 4..].to_owned(),
            age_recipient,
            is_default: new.is_default.unwrap_or(false),
            workspace_id: new.workspace_id.map(|w| w.0),
            allow_delete: new.allow_delete.unwrap_or(false),
            created_by: Some(scope.user_id().uuid()),
            created_at: now,
            updated_at: now,
        };
        // The endpoint's rules, then the probe: a multipart upload started and aborted proves
        // the key may write under the prefix and leaves nothing, even for a key that may not
        // delete (write-only credentials).
        let bucket = self.open(&row, &creds, "endpoint").await?;
        let probe = BlobKey::parse(&join(
            &row.prefix,
            &format!(".meetvault-probe-{}", id.simple()),
        ))?;
        let upload = bucket.create_multipart(&probe).await.map_err(|e| {
            CoreError::invalid(
                "bucket",
                format!(
                    "the bucket refused a probe write ({}); check the bucket, region, endpoint and that the key may write under the prefix",
                    bucket_error(&e)
                ),
            )
        })?;
        if let Err(e) = bucket.abort_multipart(&probe, &upload).await {
            tracing::warn!(error = %bucket_error(&e), "could not abort the destination's probe upload");
        }
        if row.allow_delete {
            probe_delete(&bucket, &probe).await?;
        }
        self.core.db().put_destination(&row).await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::DestinationCreate).resource(DestinationId::from(id)),
            )
            .await?;
        Ok(view(&row))
    }

    pub async fn list(self, scope: &Scope<OrgManage>) -> Result<Vec<DestinationView>, CoreError> {
        Ok(self
            .core
            .db()
            .destinations(scope.org_id().uuid())
            .await?
            .iter()
            .map(view)
            .collect())
    }

    pub async fn get(
        self,
        scope: &Scope<OrgManage>,
        id: DestinationId,
    ) -> Result<DestinationView, CoreError> {
        Ok(view(&self.row(scope.org_id().uuid(), id.0).await?))
    }

    /// Names it the org's default (bots deliver there when they end), or stops that; lets
    /// meetvault delete what it wrote there (after a probe delete proves the key may), or
    /// stops that.
    pub async fn update(
        self,
        scope: &Scope<OrgManage>,
        id: DestinationId,
        change: DestinationChange,
    ) -> Result<DestinationView, CoreError> {
        let org = scope.org_id().uuid();
        let row = self.row(org, id.0).await?;
        if change.allow_delete == Some(true) && !row.allow_delete {
            let creds = self.open_credentials(&row).await?;
            let bucket = self.open(&row, &creds, "endpoint").await?;
            let probe = BlobKey::parse(&join(
                &row.prefix,
                &format!(".meetvault-probe-{}", Uuid::new_v4().simple()),
            ))?;
            probe_delete(&bucket, &probe).await?;
        }
        // Only the flags given change: a concurrent change of the other stands.
        if !self
            .core
            .db()
            .set_destination_flags(
                org,
                id.0,
                change.is_default,
                change.allow_delete,
                meetvault_jobs::now_ms(),
            )
            .await?
        {
            return Err(CoreError::NotFound("destination"));
        }
        let row = self.row(org, id.0).await?;
        self.core
            .audit(Event::by(scope, AuditAction::DestinationUpdate).resource(id))
            .await?;
        Ok(view(&row))
    }

    pub async fn delete(
        self,
        scope: &Scope<OrgManage>,
        id: DestinationId,
    ) -> Result<(), CoreError> {
        if !self
            .core
            .db()
            .delete_destination(scope.org_id().uuid(), id.0)
            .await?
        {
            return Err(CoreError::NotFound("destination"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::DestinationDelete).resource(id))
            .await?;
        Ok(())
    }

    /// Queues the delivery of a meeting's recordings to `destination` (the org's default when
    /// none); the job's id.
    pub async fn deliver(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        destination: Option<DestinationId>,
    ) -> Result<JobId, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let dest = match destination {
            Some(id) => self.row(row.org_id, id.0).await?,
            None => self
                .core
                .db()
                .default_destination(row.org_id, Some(row.workspace_id))
                .await?
                .ok_or_else(|| {
                    CoreError::invalid(
                        "destination_id",
                        "name one: neither the meeting's workspace nor the org has a default destination",
                    )
                })?,
        };
        let job = self
            .core
            .enqueue_delivery(row.org_id, row.id, dest.id)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::MeetingDeliver).resource(meeting))
            .await?;
        Ok(job)
    }

    async fn row(self, org: Uuid, id: Uuid) -> Result<DestinationRow, CoreError> {
        self.core
            .db()
            .destination(org, id)
            .await?
            .ok_or(CoreError::NotFound("destination"))
    }

    async fn seal(self, org: Uuid, id: Uuid, creds: &Credentials) -> Result<Vec<u8>, CoreError> {
        let plain = Zeroizing::new(serde_json::to_vec(creds).map_err(CoreError::internal)?);
        self.core
            .seal_org_field(org, "destinations", id, "credentials", &plain)
            .await
    }

    async fn open_credentials(self, row: &DestinationRow) -> Result<Credentials, CoreError> {
        let plain = self
            .core
            .open_org_field(
                row.org_id,
                "destinations",
                row.id,
                "credentials",
                &row.credentials,
            )
            .await?;
        serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Integrity(format!("destination credentials: {e}")))
    }

    /// Destination `id`'s bucket, its credentials opened (not found once it is deleted).
    async fn bucket_of(self, org: Uuid, id: Uuid) -> Result<meetvault_store::BlobStore, CoreError> {
        let row = self.row(org, id).await?;
        let creds = self.open_credentials(&row).await?;
        self.open(&row, &creds, "endpoint").await
    }

    /// The multipart uploads in progress at exactly `key` (their upload ids): S3's
    /// ListMultipartUploads, signed here (`object_store` has no call for it), sent through
    /// the outbound client.
    async fn uploads_at(self, org: Uuid, id: Uuid, key: &str) -> Result<Vec<String>, CoreError> {
        let row = self.row(org, id).await?;
        let creds = self.open_credentials(&row).await?;
        let base = self.base_url(&row, "endpoint")?;
        let mut url = base.clone();
        // Bucket names need no percent-encoding: the path is signed as it is sent.
        if row.path_style {
            url.set_path(&format!(
                "{}/{}",
                base.path().trim_end_matches('/'),
                row.bucket
            ));
        } else {
            let host = format!("{}.{}", row.bucket, base.host_str().unwrap_or_default());
            url.set_host(Some(&host))
                .map_err(|e| CoreError::invalid("bucket", e.to_string()))?;
        }
        let query = [("uploads", ""), ("prefix", key)];
        url.set_query(Some(&meetvault_kms::sigv4::canonical_query(&query)));
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let now = chrono::Utc::now();
        let amz_date = now
            .format(meetvault_kms::sigv4::AMZ_DATE_FORMAT)
            .to_string();
        let empty = hex::encode(sha2::Sha256::digest(b""));
        let signed = [
            ("host", host.as_str()),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-content-sha256", empty.as_str()),
        ];
        let authorization = meetvault_kms::sigv4::sign(&meetvault_kms::sigv4::SigningInput {
            method: "GET",
            path: url.path(),
            query: &query,
            headers: &signed,
            payload: b"",
            access_key_id: &creds.access_key_id,
            secret_access_key: &creds.secret_access_key,
            region: &row.region,
            service: "s3",
            time: now,
        });
        let headers = [
            ("x-amz-date", amz_date.clone()),
            ("x-amz-content-sha256", empty.clone()),
            ("authorization", authorization),
        ];
        let client = &self.core.inner.destination_client;
        let mut request = client
            .request(reqwest::Method::GET, url)
            .map_err(|e| CoreError::invalid("endpoint", e.to_string()))?;
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let failed = |e: meetvault_outbound::SendError| {
            CoreError::Storage(meetvault_store::StoreError::BlobConfig(format!(
                "listing multipart uploads: {e}"
            )))
        };
        let response = client.send(request).await.map_err(failed)?;
        let status = response.status();
        let body = client.read_body(response).await.map_err(failed)?;
        let body = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(CoreError::Storage(meetvault_store::StoreError::BlobConfig(
                format!("listing multipart uploads: {status}: {}", short(&body)),
            )));
        }
        Ok(body
            .split("<Upload>")
            .skip(1)
            .filter(|u| xml_text(u, "Key").as_deref() == Some(key))
            .filter_map(|u| xml_text(u, "UploadId"))
            .collect())
    }

    fn base_url(self, row: &DestinationRow, field: &'static str) -> Result<Url, CoreError> {
        match &row.endpoint {
            Some(e) => {
                Url::parse(e).map_err(|e| CoreError::invalid(field, format!("is not a URL ({e})")))
            }
            None => Url::parse(&format!("https://s3.{}.amazonaws.com", row.region))
                .map_err(|e| CoreError::invalid("region", e.to_string())),
        }
    }

    /// The bucket, reached only through the outbound rules: the endpoint (and, virtual-hosted,
    /// the bucket's host under it) resolved and checked now, every connection screened.
    async fn open(
        self,
        row: &DestinationRow,
        creds: &Credentials,
        field: &'static str,
    ) -> Result<meetvault_store::BlobStore, CoreError> {
        let base = self.base_url(row, field)?;
        let mut reached = vec![base.clone()];
        if !row.path_style {
            let mut hosted = base.clone();
            let host = format!("{}.{}", row.bucket, base.host_str().unwrap_or_default());
            hosted
                .set_host(Some(&host))
                .map_err(|e| CoreError::invalid("bucket", e.to_string()))?;
            reached.push(hosted);
        }
        for url in &reached {
            self.core
                .outbound()
                .resolve(url)
                .await
                .map_err(|e| CoreError::invalid(field, format!("{url}: {e}")))?;
        }
        let s3 = meetvault_config::S3Config {
            bucket: row.bucket.clone(),
            endpoint: row.endpoint.as_ref().map(|_| base.clone()),
            region: row.region.clone(),
            prefix: String::new(),
            access_key_id: Some(meetvault_config::Secret::new(creds.access_key_id.clone())),
            secret_access_key: Some(meetvault_config::Secret::new(
                creds.secret_access_key.clone(),
            )),
            path_style: row.path_style,
            allow_http: base.scheme() == "http",
        };
        Ok(meetvault_store::BlobStore::s3_through(
            &s3,
            PART_SIZE,
            self.core.inner.destination_client.object_store_connector(),
        )?)
    }
}

fn view(row: &DestinationRow) -> DestinationView {
    DestinationView {
        id: row.id.into(),
        name: row.name.clone(),
        endpoint: row.endpoint.clone(),
        region: row.region.clone(),
        bucket: row.bucket.clone(),
        prefix: row.prefix.clone(),
        path_style: row.path_style,
        access_key_hint: format!("…{}", row.key_hint),
        age_recipient: row.age_recipient.clone(),
        is_default: row.is_default,
        workspace_id: row.workspace_id.map(Into::into),
        allow_delete: row.allow_delete,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// S3's bucket naming rules (lowercase letters, digits, '.', '-'; 3–63; alphanumeric ends).
fn check_bucket(b: &str) -> Result<(), CoreError> {
    let ok = (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !b.contains("..");
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "bucket",
            "3–63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
        ))
    }
}

/// Proves the key may delete under the prefix: writes a small object at `probe` and deletes
/// it (a 422 naming `allow_delete` if the bucket refuses either). Nothing reads it back: the
/// key needs no read permission, and S3 answers a read of a key it may not list with 403.
async fn probe_delete(
    bucket: &meetvault_store::BlobStore,
    probe: &BlobKey,
) -> Result<(), CoreError> {
    let refused = |what: &str, e: &meetvault_store::StoreError| {
        CoreError::invalid(
            "allow_delete",
            format!(
                "the bucket refused a probe {what} ({}); grant the key s3:DeleteObject under the prefix, or leave allow_delete off",
                bucket_error(e)
            ),
        )
    };
    bucket
        .put(
            probe,
            bytes::Bytes::from_static(b"meetvault delete probe\n"),
        )
        .await
        .map_err(|e| refused("write", &e))?;
    bucket
        .delete(probe)
        .await
        .map_err(|e| refused("delete", &e))
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else {
        format!("{prefix}/{rest}")
    }
}

/// What a bucket said when it refused (the error and its causes: S3's code and message), on
/// one bounded line; never a credential (requests' signatures are not in it).
fn bucket_error(e: &meetvault_store::StoreError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    // S3's own code and message first: they say what to fix, and the cap keeps them.
    let said = match (xml_text(&text, "Code"), xml_text(&text, "Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}; "),
        (Some(code), None) => format!("{code}; "),
        _ => String::new(),
    };
    short(&format!("{said}{text}").replace(['\n', '\r'], " "))
}

/// The text of the first `<tag>…</tag>` in `xml`, its five entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..start + len]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// An error for a log or an answer: one line, bounded.
fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}
