//! The drive fake: not built yet.

use axum::Router;

use super::Shared;

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r
}
