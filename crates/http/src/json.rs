//! `ApiJson<T>`: the JSON extractor and responder. Its rejection is an [`ApiError`] that says what
//! was wrong: the wrong content type (415), a body over the limit (413), malformed JSON with the
//! line and column (400), or the field path and reason when the shape is wrong (422).

use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&req) {
            return Err(ApiError::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: limit.unwrap_or_default(),
                }
            } else {
                ApiError::MalformedJson("the request body could not be read".to_owned())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// The configured body limit, put in request extensions so the 413 message can state it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn has_json_content_type(req: &Request) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Deserializes `bytes`, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => {
                    Err(ApiError::MalformedJson(format!(
                        "malformed JSON at line {} column {}: {}",
                        inner.line(),
                        inner.column(),
                        strip_position(&inner.to_string())
                    )))
                }
                Category::Data if path == "." || path.is_empty() => {
                    Err(ApiError::InvalidJson(format!(
                        "invalid request body: {}",
                        strip_position(&inner.to_string())
                    )))
                }
                Category::Data => Err(ApiError::InvalidJson(format!(
                    "invalid value at `{path}`: {}",
                    strip_position(&inner.to_string())
                ))),
            }
        }
    }
}

/// serde_json appends " at line X column Y"; we state the position ourselves.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        nested: Nested,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    fn message(e: ApiError) -> String {
        e.to_string()
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let e = parse::<Body>(br#"{"name":"a","nested":{"count":"x"}}"#).unwrap_err();
        assert!(matches!(e, ApiError::InvalidJson(_)));
        let m = message(e);
        assert!(
            m.contains("`nested.count`") && m.contains("expected u32"),
            "{m}"
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let m = message(parse::<Body>(br#"{"nested":{"count":1}}"#).unwrap_err());
        assert!(m.contains("missing field `name`"), "{m}");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = parse::<Body>(b"{\"name\": \"a\",\n  \"nested\": {").unwrap_err();
        assert!(matches!(e, ApiError::MalformedJson(_)));
        let m = message(e);
        assert!(m.contains("line 2"), "{m}");
    }
}
