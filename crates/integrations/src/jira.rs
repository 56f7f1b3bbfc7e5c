//! jira: not built yet.

use crate::error::IntegrationError;
use crate::item::Item;
use crate::target::{Credential, Target};
use crate::{Account, Http, Sent};

/// The provider's cheapest authenticated call.
pub async fn validate(
    _http: &dyn Http,
    _target: &Target,
    _credential: &Credential,
) -> Result<Account, IntegrationError> {
    Err(IntegrationError::Invalid("jira is not built yet".into()))
}

/// Sends `item` (see [`crate::deliver`]).
pub async fn deliver(
    _http: &dyn Http,
    _target: &Target,
    _credential: &Credential,
    _item: &Item,
    _key: &str,
    _retry: bool,
) -> Result<Sent, IntegrationError> {
    Err(IntegrationError::Invalid("jira is not built yet".into()))
}
