//! Encrypted content's building blocks: a meeting's opened keys, the blob stream encryptor and
//! decryptor, and user secrets (integration tokens, webhook secrets). Every value is encrypted
//! individually under its meeting's or user's key, bound to (org, table, row, field). Meetings,
//! transcripts and recordings themselves live in `crate::meetings`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use meetvault_crypto::envelope::{self, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_crypto::stream::{self, StreamDecryptor, StreamEncryptor};
use meetvault_store::vault::{MeetingRow, UserSecretRow};
use meetvault_store::{BlobStream, StoreError};
use uuid::Uuid;

use super::{bind, integrity, key_ref};
use crate::access::proof::{OwnAccount, WorkspaceScoped};
use crate::access::{Denied, Permission, Scope};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::{MeetingId, OrgId, UserId, WorkspaceId};
use crate::{Core, CoreError};

/// The opened key versions of one meeting.
#[derive(Debug)]
pub struct MeetingKeys {
    meeting: Uuid,
    keys: Vec<(KeyRef, Arc<SymmetricKey>)>,
}

impl MeetingKeys {
    pub(crate) fn new(meeting: Uuid, keys: Vec<(KeyRef, Arc<SymmetricKey>)>) -> Self {
        Self { meeting, keys }
    }
    pub(crate) fn empty(meeting: Uuid) -> Self {
        Self {
            meeting,
            keys: Vec::new(),
        }
    }

    /// The key a ciphertext names; a destroyed (shredded) key is an integrity error.
    pub(crate) fn for_ciphertext(&self, ciphertext: &[u8]) -> Result<&SymmetricKey, CoreError> {
        let wanted = envelope::key_ref(ciphertext).map_err(integrity("field"))?;
        self.find(wanted)
    }

    /// The newest key version, to seal new content of the meeting with (none once shredded).
    pub(crate) fn newest(&self) -> Option<(KeyRef, &SymmetricKey)> {
        self.keys
            .iter()
            .max_by_key(|(r, _)| r.version)
            .map(|(r, k)| (*r, &**k))
    }

    pub(crate) fn find(&self, wanted: KeyRef) -> Result<&SymmetricKey, CoreError> {
        if wanted.id != self.meeting.into_bytes() {
            return Err(CoreError::Integrity(
                "a field names another meeting's key".into(),
            ));
        }
        self.keys
            .iter()
            .find(|(r, _)| *r == wanted)
            .map(|(_, k)| &**k)
            .ok_or_else(|| {
                CoreError::Integrity(format!(
                    "meeting key version {} no longer exists (shredded)",
                    wanted.version
                ))
            })
    }

    pub(crate) fn text(
        &self,
        org: Uuid,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        ct: &[u8],
    ) -> Result<String, CoreError> {
        envelope::decrypt_string(self.for_ciphertext(ct)?, &bind(org, table, row, field), ct)
            .map_err(integrity(table))
    }

    pub(crate) fn bytes(
        &self,
        org: Uuid,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        ct: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, CoreError> {
        envelope::decrypt(self.for_ciphertext(ct)?, &bind(org, table, row, field), ct)
            .map_err(integrity(table))
    }
}

#[derive(Debug, Clone)]
pub struct SecretView {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.chars().count() > max {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl Core {
    /// A meeting of the caller's org in a workspace where the permission `P` the scope proves
    /// holds: the only way a caller's request gets a meeting row (a tidy test keeps it so). A
    /// meeting the caller cannot even read there is "not found"; one it can read but not act on
    /// (a workspace-only writer looking at another workspace) is "forbidden".
    pub(crate) async fn meeting_row<P: WorkspaceScoped>(
        &self,
        scope: &Scope<P>,
        meeting: MeetingId,
    ) -> Result<MeetingRow, CoreError> {
        let row = self
            .db()
            .meeting(scope.org_id().uuid(), meeting.uuid())
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let ws = WorkspaceId::from(row.workspace_id);
        if scope.reaches(ws) {
            return Ok(row);
        }
        if scope.permissions_in(ws).contains(Permission::MeetingsRead) {
            return Err(CoreError::Forbidden(Denied::Missing(scope.permission())));
        }
        Err(CoreError::NotFound("meeting"))
    }
}

/// A user's stored secrets (`core.secrets()`): integration tokens and provider API keys,
/// each sealed under the user's key; their values are read only inside core.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    pub(crate) core: &'a Core,
}

impl Secrets<'_> {
    /// Stores a named secret of the caller (an integration token, a webhook secret), encrypted
    /// under the caller's user key. It is never returned by the API.
    pub async fn put(
        self,
        scope: &Scope<OwnAccount>,
        name: &str,
        value: &str,
    ) -> Result<SecretView, CoreError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CoreError::invalid(
                "name",
                "1 to 64 characters of A-Z, a-z, 0-9, - and _",
            ));
        }
        if value.is_empty() || value.len() > 16 * 1024 {
            return Err(CoreError::invalid("value", "must be 1 to 16384 bytes"));
        }
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let key = self.core.user_key(org, user).await?;
        let id = Uuid::new_v4();
        let row = UserSecretRow {
            id,
            org_id: org,
            user_id: user,
            name: name.to_owned(),
            value: envelope::encrypt(
                &key,
                key_ref(user, 1),
                &bind(org, "user_secrets", id, "value"),
                value.as_bytes(),
            ),
            updated_at: Utc::now(),
        };
        self.core.db().put_user_secret(&row).await?;
        let mut event = Event::by(scope, AuditAction::SecretPut);
        event.reason = Some("stored");
        self.core.audit(event).await?;
        Ok(SecretView {
            name: row.name,
            updated_at: row.updated_at,
        })
    }

    /// Names of the caller's secrets (never values).
    pub async fn list(self, scope: &Scope<OwnAccount>) -> Result<Vec<SecretView>, CoreError> {
        Ok(self
            .core
            .db()
            .user_secrets(scope.org_id().uuid(), scope.user_id().uuid())
            .await?
            .into_iter()
            .map(|r| SecretView {
                name: r.name,
                updated_at: r.updated_at,
            })
            .collect())
    }

    pub async fn delete(self, scope: &Scope<OwnAccount>, name: &str) -> Result<(), CoreError> {
        if !self
            .core
            .db()
            .delete_user_secret(scope.org_id().uuid(), scope.user_id().uuid(), name)
            .await?
        {
            return Err(CoreError::NotFound("secret"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::SecretDelete))
            .await?;
        Ok(())
    }

    /// A secret's value, for the integration that uses it (server-side only).
    pub(crate) async fn value(
        self,
        org: OrgId,
        user: UserId,
        name: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>, CoreError> {
        let (org, user) = (org.uuid(), user.uuid());
        let Some(row) = self
            .core
            .db()
            .user_secrets(org, user)
            .await?
            .into_iter()
            .find(|r| r.name == name)
        else {
            return Ok(None);
        };
        let key = self.core.user_key(org, user).await?;
        let text = envelope::decrypt_string(
            &key,
            &bind(org, "user_secrets", row.id, "value"),
            &row.value,
        )
        .map_err(integrity("secret"))?;
        Ok(Some(zeroize::Zeroizing::new(text)))
    }
}

/// Wraps a plaintext stream into the encrypted blob stream (header first).
pub(crate) fn encrypt_stream<S>(
    encryptor: StreamEncryptor,
    header: [u8; stream::HEADER_LEN],
    body: S,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
{
    let body = Box::pin(body);
    futures::stream::unfold(
        (Some(encryptor), body, Some(header)),
        |(enc, mut body, header)| async move {
            if let Some(header) = header {
                return Some((Ok(Bytes::copy_from_slice(&header)), (enc, body, None)));
            }
            let mut enc = enc?;
            loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        let mut out = Vec::new();
                        if let Err(e) = enc.update(&chunk, &mut out) {
                            return Some((Err(std::io::Error::other(e)), (None, body, None)));
                        }
                        if !out.is_empty() {
                            return Some((Ok(Bytes::from(out)), (Some(enc), body, None)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (None, body, None))),
                    None => {
                        let mut out = Vec::new();
                        return match enc.finish(&mut out) {
                            Ok(()) => Some((Ok(Bytes::from(out)), (None, body, None))),
                            Err(e) => Some((Err(std::io::Error::other(e)), (None, body, None))),
                        };
                    }
                }
            }
        },
    )
}

/// Decrypts the segments of `span` as they arrive; yields only authenticated plaintext.
pub(crate) fn decrypt_stream(
    dec: StreamDecryptor,
    span: stream::Span,
    source: BlobStream,
) -> BlobStream {
    let state = Reader {
        dec,
        index: span.first_segment,
        skip: span.skip,
        left: span.len,
        segments: span.segments,
        pending: Vec::new(),
        source,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.done || st.left == 0 {
                return None;
            }
            let is_last = st.index + 1 == st.segments;
            if !is_last && st.pending.len() >= stream::SEGMENT_CT_LEN {
                let segment: Vec<u8> = st.pending.drain(..stream::SEGMENT_CT_LEN).collect();
                let item = st.open(&segment, false);
                return Some((item, st));
            }
            match st.source.next().await {
                Some(Ok(chunk)) => st.pending.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    let segment = std::mem::take(&mut st.pending);
                    let item = if segment.is_empty() {
                        Err(StoreError::Corrupt("recording is truncated".into()))
                    } else {
                        st.open(&segment, is_last)
                    };
                    return Some((item, st));
                }
            }
        }
    })
    .boxed()
}

struct Reader {
    dec: StreamDecryptor,
    index: u64,
    skip: usize,
    left: u64,
    segments: u64,
    pending: Vec<u8>,
    source: BlobStream,
    done: bool,
}

impl Reader {
    fn open(&mut self, segment: &[u8], last: bool) -> Result<Bytes, StoreError> {
        let plain = self
            .dec
            .open_segment(self.index, segment, last)
            .map_err(|e| {
                self.done = true;
                StoreError::Corrupt(format!("recording failed its integrity check: {e}"))
            })?;
        self.index += 1;
        let from = self.skip.min(plain.len());
        self.skip = 0;
        let take = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(plain.len() - from);
        self.left -= take as u64;
        Ok(Bytes::copy_from_slice(&plain[from..from + take]))
    }
}
