//! The dashboard's two assets, compiled into the binary: one stylesheet and one script, served
//! from this origin (the pages' policy allows nothing else). Revalidated by `ETag` on each
//! page load, so a new binary's assets are picked up at once.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

pub(crate) const CSS_PATH: &str = "/assets/app.css";
pub(crate) const JS_PATH: &str = "/assets/app.js";

/// The stylesheet.
pub const CSS: &str = include_str!("../../assets/app.css");
/// The script: everything the dashboard runs. Its budget is [`JS_BUDGET_BYTES`].
pub const JS: &str = include_str!("../../assets/app.js");

/// The most script the dashboard may ship, unminified and uncompressed: 24 KiB. No framework,
/// no build step; a test holds the script to it.
pub const JS_BUDGET_BYTES: usize = 24 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            CSS_PATH,
            get(|h: HeaderMap| async move { serve(&h, CSS, "text/css; charset=utf-8") }),
        )
        .route(
            JS_PATH,
            get(|h: HeaderMap| async move { serve(&h, JS, "text/javascript; charset=utf-8") }),
        )
}

fn serve(headers: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex(&digest[..12]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, etag),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    ([(header::CONTENT_TYPE, content_type)], cache, body).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_keeps_to_its_budget() {
        println!(
            "app.js: {} bytes of a {} byte budget",
            JS.len(),
            JS_BUDGET_BYTES
        );
        assert!(
            JS.len() <= JS_BUDGET_BYTES,
            "app.js is {} bytes, over its budget of {JS_BUDGET_BYTES}",
            JS.len()
        );
    }

    #[test]
    fn the_script_never_evaluates_strings_or_writes_html() {
        // The policy forbids eval anyway; innerHTML would turn data into markup.
        for banned in [
            "eval(",
            "new Function",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!JS.contains(banned), "app.js uses {banned}");
        }
    }
}
