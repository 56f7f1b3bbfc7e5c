//! Builds the application: every route (registered with its OpenAPI annotation), the fallbacks,
//! and the middleware stack. The OpenAPI document comes from the same registration.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiError;
use crate::error::{ErrorBody, render_errors};
use crate::json::BodyLimit;
use crate::middleware::allowed_hosts::{self, AllowedHosts};
use crate::middleware::timeout::RequestTimeout;
use crate::middleware::{metrics, request_id, security_headers, timeout};
use crate::routes::{self, openapi::OpenApiJson};
use crate::state::AppState;
use crate::wire::document::Completion;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "meetvault",
        description = "Self-hosted, privacy-first meeting bot and meeting-intelligence server.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    components(schemas(ErrorBody, crate::wire::events::StreamEvent, crate::wire::webhooks::WebhookMessage)),
    modifiers(&Completion),
    tags(
        (name = "operations", description = "Health, readiness, metrics and documents about the server"),
        (name = "instance", description = "This installation"),
        (name = "auth", description = "Accounts, sessions, passwords and two-factor authentication"),
        (name = "keys", description = "API keys and support-access keys"),
        (name = "org", description = "The organization, its members, workspaces and invitations"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "meetings", description = "Meetings, their recordings and transcripts, and their live events"),
        (name = "intelligence", description = "Summaries and action items, speaker analytics, search and questions across meetings, and the processors that see meeting content"),
        (name = "bots", description = "Meeting bots: send one to a meeting, its state and timeline, make it leave"),
        (name = "calendar", description = "Calendars: connect Google or Microsoft 365, auto-join rules, the events and the bots they schedule"),
        (name = "jobs", description = "Background jobs (transcription)"),
        (name = "transcription", description = "The OpenAI-compatible transcription endpoint"),
        (name = "encryption", description = "The caller's encryption, zero-access mode, stored secrets and the org's KMS key"),
        (name = "destinations", description = "The customer's own buckets, and delivering a meeting's recordings there"),
        (name = "certificates", description = "Deletion certificates: signed, in the audit log, verifiable offline"),
        (name = "deletion-requests", description = "Participants ask an organization to erase what its meetings hold of them, without an account; owners and admins complete or reject"),
        (name = "retention", description = "How long each part of a meeting is kept, and when each will be deleted"),
        (name = "webhooks", description = "Webhook endpoints (Standard Webhooks), their delivery log, redelivery and tests"),
        (name = "widgets", description = "Voice-intake widgets: what a customer embeds on their site, and what its visitors' browsers call"),
        (name = "integrations", description = "Slack, Notion, Google Drive, Linear, Jira, HubSpot and Salesforce: connections, delivery logs, and approval before anything reaches a CRM or tracker"),
    )
)]
struct ApiDoc;

/// Every documented route. Add a route here and it is served and documented at once.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::metrics::metrics))
        .routes(routes!(routes::openapi::openapi_json))
        .routes(routes!(routes::security_txt::security_txt))
        .routes(routes!(routes::instance::get_instance))
        .routes(routes!(routes::trust::json))
        .routes(routes!(routes::auth::register))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::sso::providers))
        .routes(routes!(routes::sso::start))
        .routes(routes!(routes::sso::callback))
        .routes(routes!(routes::sso::identities))
        .routes(routes!(routes::sso::unlink_identity))
        .routes(routes!(routes::saml::metadata))
        .routes(routes!(routes::saml::start))
        .routes(routes!(routes::saml::acs))
        .routes(routes!(routes::auth::me, routes::auth::erase_me))
        .routes(routes!(routes::auth::sessions))
        .routes(routes!(routes::auth::revoke_session))
        .routes(routes!(routes::auth::change_password))
        .routes(routes!(routes::mfa::totp_begin, routes::mfa::totp_disable))
        .routes(routes!(routes::mfa::totp_confirm))
        .routes(routes!(
            routes::keys::create_api_key,
            routes::keys::list_api_keys
        ))
        .routes(routes!(routes::keys::revoke_api_key))
        .routes(routes!(
            routes::keys::create_support_key,
            routes::keys::list_support_keys
        ))
        .routes(routes!(routes::keys::revoke_support_key))
        .routes(routes!(routes::org::get_org, routes::org::patch_org))
        .routes(routes!(routes::sso::get_org_sso, routes::sso::put_org_sso))
        .routes(routes!(
            routes::sso::get_org_oidc,
            routes::sso::put_org_oidc,
            routes::sso::delete_org_oidc
        ))
        .routes(routes!(
            routes::saml::get_org_saml,
            routes::saml::put_org_saml,
            routes::saml::delete_org_saml
        ))
        .routes(routes!(routes::org::list_members))
        .routes(routes!(
            routes::org::patch_member,
            routes::org::remove_member
        ))
        .routes(routes!(routes::org::reset_member_mfa))
        .routes(routes!(
            routes::org::list_workspaces,
            routes::org::create_workspace
        ))
        .routes(routes!(routes::org::patch_workspace))
        .routes(routes!(routes::org::list_workspace_members))
        .routes(routes!(routes::org::put_workspace_member))
        .routes(routes!(
            routes::org::create_invitation,
            routes::org::list_invitations
        ))
        .routes(routes!(routes::org::revoke_invitation))
        .routes(routes!(routes::org::accept_invitation))
        .routes(routes!(routes::audit::list))
        .routes(routes!(routes::audit::export))
        .routes(routes!(routes::audit::proof))
        .routes(routes!(routes::audit::checkpoint))
        .routes(routes!(routes::audit::signing_key))
        .routes(routes!(routes::certificates::public_certificate))
        .routes(routes!(
            routes::meetings::create_meeting,
            routes::meetings::list_meetings
        ))
        .routes(routes!(
            routes::meetings::get_meeting,
            routes::meetings::patch_meeting,
            routes::meetings::delete_meeting
        ))
        .routes(routes!(routes::transcription::transcribe_meeting))
        .routes(routes!(routes::transcription::meeting_events))
        .routes(routes!(routes::transcription::get_job))
        .routes(routes!(routes::transcription::openai_transcriptions))
        .routes(routes!(routes::transcription::openai_translations))
        .routes(routes!(
            routes::meetings::add_segments,
            routes::meetings::transcript
        ))
        .routes(routes!(routes::meetings::edit_segment))
        .routes(routes!(routes::meetings::rename_speaker))
        .routes(routes!(
            routes::meetings::upload_recording,
            routes::meetings::list_recordings
        ))
        .routes(routes!(routes::meetings::download_recording))
        .routes(routes!(
            routes::intel::get_summary,
            routes::intel::regenerate_summary,
            routes::intel::edit_summary
        ))
        .routes(routes!(
            routes::documents::attach_document,
            routes::documents::list_documents
        ))
        .routes(routes!(routes::documents::delete_document))
        .routes(routes!(routes::intel::analytics))
        .routes(routes!(routes::intel::search))
        .routes(routes!(routes::intel::ask))
        .routes(routes!(routes::intel::processors))
        .routes(routes!(
            routes::intel::get_intelligence_settings,
            routes::intel::put_intelligence_settings
        ))
        .routes(routes!(
            routes::intel::get_workspace_intelligence,
            routes::intel::put_workspace_intelligence
        ))
        .routes(routes!(routes::intel::chat_completions))
        .routes(routes!(routes::intel::embeddings))
        .routes(routes!(routes::encryption::status))
        .routes(routes!(routes::encryption::enable_zero_access))
        .routes(routes!(routes::encryption::disable_zero_access))
        .routes(routes!(routes::encryption::unlock))
        .routes(routes!(routes::encryption::recover))
        .routes(routes!(routes::encryption::list_secrets))
        .routes(routes!(
            routes::encryption::put_secret,
            routes::encryption::delete_secret
        ))
        .routes(routes!(
            routes::encryption::get_org_encryption,
            routes::encryption::set_org_kms
        ))
        .routes(routes!(routes::bots::create_bot, routes::bots::list_bots))
        .routes(routes!(routes::bots::get_bot, routes::bots::delete_bot))
        .routes(routes!(routes::bots::leave_bot))
        .routes(routes!(routes::bots::bot_chat))
        .routes(routes!(
            routes::bots::get_org_consent,
            routes::bots::put_org_consent
        ))
        .routes(routes!(
            routes::bots::get_workspace_consent,
            routes::bots::put_workspace_consent
        ))
        .routes(routes!(routes::bots::get_bot_diagnosis))
        .routes(routes!(routes::calendar::providers))
        .routes(routes!(
            routes::calendar::list_connections,
            routes::calendar::connect
        ))
        .routes(routes!(routes::calendar::callback))
        .routes(routes!(routes::calendar::disconnect))
        .routes(routes!(routes::calendar::sync_now))
        .routes(routes!(
            routes::calendar::get_rules,
            routes::calendar::put_rules
        ))
        .routes(routes!(
            routes::calendar::get_workspace_rules,
            routes::calendar::put_workspace_rules
        ))
        .routes(routes!(routes::calendar::events))
        .routes(routes!(routes::calendar::put_choice))
        .routes(routes!(routes::calendar::push_google))
        .routes(routes!(routes::calendar::push_microsoft))
        .routes(routes!(
            routes::webhooks::create_webhook,
            routes::webhooks::list_webhooks
        ))
        .routes(routes!(
            routes::webhooks::get_webhook,
            routes::webhooks::patch_webhook,
            routes::webhooks::delete_webhook
        ))
        .routes(routes!(routes::webhooks::rotate_webhook_secret))
        .routes(routes!(routes::webhooks::list_deliveries))
        .routes(routes!(routes::webhooks::get_delivery))
        .routes(routes!(routes::webhooks::redeliver))
        .routes(routes!(routes::webhooks::test_webhook))
        .routes(routes!(
            routes::integrations::create_integration,
            routes::integrations::list_integrations
        ))
        .routes(routes!(
            routes::integrations::get_integration,
            routes::integrations::patch_integration,
            routes::integrations::delete_integration
        ))
        .routes(routes!(routes::integrations::integration_deliveries))
        .routes(routes!(routes::integrations::start_oauth))
        .routes(routes!(routes::integrations::oauth_callback))
        .routes(routes!(routes::integrations::list_approvals))
        .routes(routes!(
            routes::integrations::get_approval,
            routes::integrations::edit_approval
        ))
        .routes(routes!(routes::integrations::approve))
        .routes(routes!(routes::integrations::reject))
        .routes(routes!(
            routes::widgets::create_widget,
            routes::widgets::list_widgets
        ))
        .routes(routes!(
            routes::widgets::get_widget,
            routes::widgets::patch_widget,
            routes::widgets::delete_widget
        ))
        .routes(routes!(routes::widgets::rotate_widget_secret))
        .routes(routes!(routes::widget_public::widget_config))
        .routes(routes!(routes::widget_public::open_session))
        .routes(routes!(routes::widget_public::put_chunk))
        .routes(routes!(routes::widget_public::submit))
        .routes(routes!(routes::widget_public::live))
        .routes(routes!(
            routes::destinations::create_destination,
            routes::destinations::list_destinations
        ))
        .routes(routes!(
            routes::destinations::get_destination,
            routes::destinations::patch_destination,
            routes::destinations::delete_destination
        ))
        .routes(routes!(routes::destinations::deliver_meeting))
        .routes(routes!(routes::certificates::list_certificates))
        .routes(routes!(routes::certificates::get_certificate))
        .routes(routes!(routes::org::close_org))
        .routes(routes!(routes::org::reopen_org))
        .routes(routes!(routes::org::org_closure))
        .routes(routes!(
            routes::retention::get_retention,
            routes::retention::put_retention
        ))
        .routes(routes!(routes::retention::meeting_retention))
        .routes(routes!(routes::requests::submit, routes::requests::list))
        .routes(routes!(routes::requests::confirm))
        .routes(routes!(routes::requests::status))
        .routes(routes!(routes::requests::get))
        .routes(routes!(routes::requests::complete))
        .routes(routes!(routes::requests::reject))
}

/// The OpenAPI document (also committed as `docs/openapi.json`; a test keeps them equal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_routes().split_for_parts().1;
    crate::wire::document::add_common_errors(&mut doc);
    crate::wire::document::add_webhooks(&mut doc);
    doc
}

/// The OpenAPI document as pretty JSON with a trailing newline, as committed.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    openapi().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}

/// The whole application for `state`, with every layer in place.
pub fn app(state: AppState) -> Result<Router, serde_json::Error> {
    let (router, _) = api_routes().split_for_parts();
    // The internal bot protocol: bots only (their own token), not in the public document.
    // The participant deletion-request pages: HTML, not in the document either.
    finish(
        router
            .merge(routes::bot_protocol::routes())
            .merge(routes::privacy::routes())
            .merge(routes::trust::routes())
            .merge(routes::widget_public::routes())
            .merge(crate::dashboard::routes()),
        state,
    )
}

/// Adds the fallback, the state and the middleware stack to a router of routes.
fn finish(router: Router<AppState>, state: AppState) -> Result<Router, serde_json::Error> {
    let config = state.core.config();
    let limit = config.server.body_limit_bytes;
    let request_timeout = RequestTimeout(Duration::from_secs(config.server.request_timeout_secs));
    let metrics = state.metrics.clone();
    let doc = OpenApiJson(Arc::new(openapi_json()?));
    let layers = ServiceBuilder::new()
        .layer(from_fn(request_id::request_id_and_log))
        .layer(from_fn(security_headers::security_headers))
        .layer(from_fn_with_state(metrics, metrics::record))
        .layer(from_fn(render_errors))
        .layer(from_fn_with_state(
            AllowedHosts::from_config(config),
            allowed_hosts::check_host,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(request_timeout, timeout::timeout))
        .layer(Extension(BodyLimit(limit)))
        .layer(Extension(doc))
        .layer(DefaultBodyLimit::max(limit));
    Ok(router.fallback(not_found).with_state(state).layer(layers))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /api/v1/openapi.json for the API".to_owned())
}

#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
struct Panicked(String);

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal(Panicked(message)).into_response()
}

#[cfg(test)]
mod tests {
    //! The JSON extractor and error rendering through the real middleware stack.
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use tower::ServiceExt;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        settings: Settings,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        retention_days: u16,
    }

    async fn accept(crate::ApiJson(input): crate::ApiJson<Input>) -> crate::ApiJson<String> {
        crate::ApiJson(input.name)
    }

    /// `routes` behind the real fallback, state and middleware, on a fresh SQLite data dir.
    async fn with_stack(
        routes: Router<AppState>,
        adjust: impl FnOnce(&mut meetvault_config::Config),
    ) -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = meetvault_config::Config {
            data_dir: dir.path().join("data"),
            ..Default::default()
        };
        adjust(&mut config);
        let core = meetvault_core::Core::open(Arc::new(config)).await.unwrap();
        let state = AppState {
            core,
            metrics: Arc::new(crate::middleware::metrics::Metrics::new()),
        };
        (finish(routes, state).unwrap(), dir)
    }

    async fn test_app() -> (Router, tempfile::TempDir) {
        with_stack(Router::new().route("/input", post(accept)), |c| {
            c.server.body_limit_bytes = 4096;
        })
        .await
    }

    async fn send(
        router: &Router,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::post("/input");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn json_errors_say_precisely_what_was_wrong() {
        let (router, _dir) = test_app().await;
        let json = Some("application/json");

        let (status, body) = send(
            &router,
            json,
            br#"{"name":"a","settings":{"retention_days":30}}"#.to_vec(),
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, serde_json::json!("a")));

        let (status, body) = send(
            &router,
            json,
            br#"{"name":"a","settings":{"retention_days":"x"}}"#.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "invalid_json");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`settings.retention_days`"),
            "{body}"
        );

        let (status, body) = send(
            &router,
            json,
            br#"{"settings":{"retention_days":1}}"#.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing field `name`"),
            "{body}"
        );

        let (status, body) = send(&router, json, b"{\"name\": ".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "malformed_json");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("line 1"),
            "{body}"
        );

        let (status, body) = send(&router, Some("text/plain"), b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["error"]["code"], "unsupported_media_type");
        let (status, _) = send(&router, None, b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let big = format!(
            r#"{{"name":"{}","settings":{{"retention_days":1}}}}"#,
            "x".repeat(10_000)
        );
        let (status, body) = send(&router, json, big.into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "payload_too_large");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("4096"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_generic_500() {
        async fn boom() -> &'static str {
            panic!("secret detail: /var/lib/db password=hunter2")
        }
        let (router, _dir) = with_stack(
            Router::new().route("/boom", axum::routing::get(boom)),
            |_| {},
        )
        .await;
        let response = router
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains("Something went wrong on our side"), "{text}");
        assert!(
            !text.contains("secret") && !text.contains("hunter2") && !text.contains("/var"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_slow_request_times_out_with_a_json_503() {
        async fn slow() -> &'static str {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }
        let (router, _dir) = with_stack(
            Router::new().route("/slow", axum::routing::get(slow)),
            |config| {
                config.server.request_timeout_secs = 1;
            },
        )
        .await;
        let response = router
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "timeout");
    }
}
