//! The OpenAPI schemas of the typed, prefixed ids (`mtg_…`, `rec_…`): a string of the prefix,
//! `_` and 32 lowercase hex digits (`meetvault_core::ids`). Fields keep core's id types (which
//! serialize to that text) and point at these schemas with `#[schema(value_type = …)]`.

use std::borrow::Cow;

use meetvault_core::ids;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The pattern every id of `prefix` matches.
pub fn pattern(prefix: &str) -> String {
    format!("^{prefix}_[0-9a-f]{{32}}$")
}

macro_rules! id_schema {
    ($(#[$doc:meta])* $name:ident, $core:ty, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let prefix = <$core>::PREFIX;
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(format!(
                        "A {} id: `{prefix}_` and 32 lowercase hex digits.",
                        $what
                    )))
                    .pattern(Some(pattern(prefix)))
                    .examples([serde_json::Value::String(format!(
                        "{prefix}_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"
                    ))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

id_schema!(OrgId, ids::OrgId, "organization");
id_schema!(WorkspaceId, ids::WorkspaceId, "workspace");
id_schema!(UserId, ids::UserId, "user");
id_schema!(SessionId, ids::SessionId, "session");
id_schema!(ApiKeyId, ids::ApiKeyId, "API key");
id_schema!(SupportKeyId, ids::SupportKeyId, "support key");
id_schema!(InvitationId, ids::InvitationId, "invitation");
id_schema!(MeetingId, ids::MeetingId, "meeting");
id_schema!(RecordingId, ids::RecordingId, "recording");
id_schema!(SegmentId, ids::SegmentId, "transcript segment");
id_schema!(DocumentId, ids::DocumentId, "document");
id_schema!(JobId, ids::JobId, "job");
id_schema!(BotId, ids::BotId, "bot");
id_schema!(WebhookId, ids::WebhookId, "webhook endpoint");
id_schema!(CalendarId, ids::CalendarId, "calendar connection");
id_schema!(DeliveryId, ids::DeliveryId, "webhook delivery");
id_schema!(DestinationId, ids::DestinationId, "destination");
id_schema!(CertificateId, ids::CertificateId, "deletion certificate");
id_schema!(
    DeletionRequestId,
    ids::DeletionRequestId,
    "deletion request"
);
id_schema!(IntegrationId, ids::IntegrationId, "integration");
id_schema!(
    IntegrationItemId,
    ids::IntegrationItemId,
    "integration item (an approval)"
);
id_schema!(WidgetId, ids::WidgetId, "voice-intake widget");

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn an_id_schema_matches_what_core_writes() {
        let id = meetvault_core::ids::MeetingId::new().to_string();
        let schema = serde_json::to_value(super::MeetingId::schema()).unwrap();
        let pattern = schema["pattern"].as_str().unwrap();
        assert_eq!(pattern, "^mtg_[0-9a-f]{32}$");
        let hex = id.strip_prefix("mtg_").unwrap();
        assert!(
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
    }
}
