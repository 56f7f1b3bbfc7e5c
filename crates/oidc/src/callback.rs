//! The authorization response at the redirect URI: `code` and `state`, or an OAuth error; and
//! `iss` (RFC 9207), which when present must be the provider's, so a response from another
//! provider (a mix-up attack) is refused.

use std::fmt;

use crate::issuer::{IssuerMismatch, IssuerRule};
use crate::oauth_error::OAuthError;
use crate::secret::SecretString;
use crate::state::MAX_STATE_LEN;

/// Longest authorization code accepted.
pub const MAX_CODE_LEN: usize = 4096;

/// A successful authorization response.
pub struct CallbackParams {
    /// The authorization code (a secret until exchanged).
    pub code: SecretString,
    /// The state, for [`StateKey::finish`](crate::StateKey::finish).
    pub state: String,
}

/// Why the callback gives no code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The provider reported an error (the user declined, the provider failed…). `state` is
    /// there so the caller can still finish the state and send the user back where they were.
    #[error("the login did not complete: {error}")]
    Denied {
        /// The provider's error.
        error: OAuthError,
        /// The state, if the provider returned it.
        state: Option<String>,
    },
    /// A parameter is missing.
    #[error("the login response has no {0}; start the login again")]
    Missing(&'static str),
    /// A parameter appears twice (RFC 6749 3.1).
    #[error("the login response repeats {0}")]
    Repeated(&'static str),
    /// A parameter is too long to be genuine.
    #[error("the login response's {0} is too long")]
    TooLong(&'static str),
    /// The provider announces `iss` in responses (RFC 9207) but this one has none.
    #[error("the login response has no issuer (iss) though the provider always sends one")]
    MissingIssuer,
    /// `iss` is not this provider's: the response came from another provider.
    #[error("the login response comes from another issuer: {0}")]
    Issuer(IssuerMismatch),
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code)
            .field("state", &self.state)
            .finish()
    }
}

/// Parses the query pairs of the redirect. `issuer` is the provider's rule;
/// `iss_required` is the discovery document's `authorization_response_iss_parameter_supported`.
pub fn parse_callback<I, K, V>(
    pairs: I,
    issuer: &IssuerRule,
    iss_required: bool,
) -> Result<CallbackParams, CallbackError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    let mut iss = None;
    for (name, value) in pairs {
        let (slot, name, max) = match name.as_ref() {
            "code" => (&mut code, "code", MAX_CODE_LEN),
            "state" => (&mut state, "state", MAX_STATE_LEN),
            "error" => (&mut error, "error", 256),
            "error_description" => (&mut description, "error_description", 4096),
            "iss" => (&mut iss, "iss", 2048),
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Repeated(name));
        }
        let value = value.as_ref();
        if value.len() > max {
            return Err(CallbackError::TooLong(name));
        }
        *slot = Some(value.to_owned());
    }

    match &iss {
        Some(iss) => issuer
            .check_response_issuer(iss)
            .map_err(CallbackError::Issuer)?,
        None if iss_required => return Err(CallbackError::MissingIssuer),
        None => {}
    }
    if let Some(error) = error {
        return Err(CallbackError::Denied {
            error: OAuthError::new(&error, description.as_deref()),
            state,
        });
    }
    let code = code
        .filter(|c| !c.is_empty())
        .ok_or(CallbackError::Missing("code"))?;
    let state = state
        .filter(|s| !s.is_empty())
        .ok_or(CallbackError::Missing("state"))?;
    Ok(CallbackParams {
        code: SecretString::new(code),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::OAuthErrorCode;

    fn rule() -> IssuerRule {
        IssuerRule::Exact("https://op.example".into())
    }

    #[test]
    fn code_and_state_with_the_right_issuer() {
        let params = parse_callback(
            [
                ("code", "c1"),
                ("state", "s1"),
                ("iss", "https://op.example"),
                ("session_state", "x"),
            ],
            &rule(),
            true,
        )
        .unwrap();
        assert_eq!(params.code.expose(), "c1");
        assert_eq!(params.state, "s1");
        assert!(!format!("{params:?}").contains("c1"));
        // Without iss when the provider does not announce it.
        assert!(parse_callback([("code", "c1"), ("state", "s1")], &rule(), false).is_ok());
    }

    #[test]
    fn another_issuer_is_a_mix_up() {
        let err = parse_callback(
            [
                ("code", "c1"),
                ("state", "s1"),
                ("iss", "https://evil.example"),
            ],
            &rule(),
            false,
        )
        .unwrap_err();
        assert_eq!(err, CallbackError::Issuer(IssuerMismatch::WrongIssuer));
        let err = parse_callback([("code", "c1"), ("state", "s1")], &rule(), true).unwrap_err();
        assert_eq!(err, CallbackError::MissingIssuer);
    }

    #[test]
    fn provider_errors_are_typed_and_keep_the_state() {
        let err = parse_callback(
            [
                ("error", "access_denied"),
                ("error_description", "User said no\r\n"),
                ("state", "s1"),
            ],
            &rule(),
            false,
        )
        .unwrap_err();
        let CallbackError::Denied { error, state } = err else {
            panic!("not denied");
        };
        assert_eq!(error.code, OAuthErrorCode::AccessDenied);
        assert_eq!(error.description.as_deref(), Some("User said no  "));
        assert_eq!(state.as_deref(), Some("s1"));
    }

    #[test]
    fn missing_repeated_and_oversize_parameters_are_refused() {
        assert_eq!(
            parse_callback([("state", "s1")], &rule(), false).unwrap_err(),
            CallbackError::Missing("code")
        );
        assert_eq!(
            parse_callback([("code", "c1")], &rule(), false).unwrap_err(),
            CallbackError::Missing("state")
        );
        assert_eq!(
            parse_callback(
                [("code", "c1"), ("code", "c2"), ("state", "s")],
                &rule(),
                false
            )
            .unwrap_err(),
            CallbackError::Repeated("code")
        );
        let long = "c".repeat(MAX_CODE_LEN + 1);
        assert_eq!(
            parse_callback([("code", long.as_str()), ("state", "s")], &rule(), false).unwrap_err(),
            CallbackError::TooLong("code")
        );
    }
}
