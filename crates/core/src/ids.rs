//! Typed, prefixed identifiers. On the wire an id reads `org_…`, `usr_…`, `key_…`: a bot id pasted
//! where a user id belongs is a clear 4xx, not a silent miss. Inside, each is a UUID.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The id's text did not have the expected prefix or a valid UUID after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}_` followed by 32 hex digits)")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let err = || IdError { kind: $kind, prefix: $prefix, value: s.chars().take(80).collect() };
                let rest = s.strip_prefix(concat!($prefix, "_")).ok_or_else(err)?;
                if rest.len() != 32 {
                    return Err(err());
                }
                Uuid::try_parse(rest).map(Self).map_err(|_| err())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// An organization: the tenant.
    OrgId, "org", "organization");
typed_id!(WorkspaceId, "wsp", "workspace");
typed_id!(UserId, "usr", "user");
typed_id!(SessionId, "ses", "session");
typed_id!(ApiKeyId, "key", "API key");
typed_id!(SupportKeyId, "sup", "support key");
typed_id!(InvitationId, "inv", "invitation");
typed_id!(MeetingId, "mtg", "meeting");
typed_id!(RecordingId, "rec", "recording");
typed_id!(SegmentId, "seg", "transcript segment");
typed_id!(DocumentId, "doc", "document");
typed_id!(JobId, "job", "job");
typed_id!(BotId, "bot", "bot");
typed_id!(WebhookId, "whk", "webhook");
typed_id!(
    /// A person's calendar connection (it sends bots on their behalf).
    CalendarId,
    "cal",
    "calendar connection"
);
typed_id!(DeliveryId, "dlv", "webhook delivery");
typed_id!(DestinationId, "dst", "destination");
typed_id!(CertificateId, "crt", "certificate");
typed_id!(DeletionRequestId, "dreq", "deletion request");
typed_id!(IntegrationId, "int", "integration");
typed_id!(
    /// One summary or action item proposed to an integration.
    IntegrationItemId,
    "itm",
    "integration item"
);
typed_id!(
    /// A voice-intake widget embedded on a customer's site.
    WidgetId,
    "wgt",
    "widget"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_with_their_prefix() {
        let id = UserId::new();
        let text = id.to_string();
        assert!(text.starts_with("usr_") && text.len() == 36, "{text}");
        assert_eq!(text.parse::<UserId>().unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
    }

    #[test]
    fn an_id_of_another_kind_is_rejected_with_a_clear_message() {
        let user = UserId::new().to_string();
        let err = user.parse::<OrgId>().unwrap_err();
        assert_eq!(err.kind, "organization");
        assert!(err.to_string().contains("org_"), "{err}");
        assert!("org_xyz".parse::<OrgId>().is_err());
        assert!(
            format!("org_{}", Uuid::new_v4().hyphenated())
                .parse::<OrgId>()
                .is_err()
        );
    }
}
