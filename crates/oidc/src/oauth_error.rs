//! OAuth 2.0 error responses (RFC 6749 4.1.2.1 and 5.2, OIDC Core 3.1.2.6), as the provider
//! sends them in a redirect or a token-endpoint body: a typed code, and a description that is
//! bounded and stripped of control characters before anyone displays or logs it.

use std::fmt;

use crate::secret::bounded_text;

/// Longest provider-written description we keep.
pub const MAX_ERROR_DESCRIPTION_CHARS: usize = 200;

/// The `error` code of an OAuth error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`.
    AccessDenied,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `login_required`, `interaction_required`, `consent_required` or
    /// `account_selection_required` (after `prompt=none`): the user must interact.
    InteractionRequired(&'static str),
    /// Anything else, bounded and sanitized.
    Other(String),
}

impl OAuthErrorCode {
    /// Reads an `error` value.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "login_required" => Self::InteractionRequired("login_required"),
            "interaction_required" => Self::InteractionRequired("interaction_required"),
            "consent_required" => Self::InteractionRequired("consent_required"),
            "account_selection_required" => Self::InteractionRequired("account_selection_required"),
            other => Self::Other(
                bounded_text(other, 64)
                    .chars()
                    .map(|c| if c.is_ascii_graphic() { c } else { '?' })
                    .collect(),
            ),
        }
    }

    /// The code as the provider wrote it (sanitized for `Other`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InteractionRequired(code) => code,
            Self::Other(code) => code,
        }
    }

    /// What to do about it, in a sentence.
    fn advice(&self) -> &'static str {
        match self {
            Self::InvalidRequest => {
                "the provider found the request malformed; check the provider settings"
            }
            Self::InvalidClient => {
                "the provider refused the client credentials; check the client id, the client \
                 secret and the token endpoint authentication method"
            }
            Self::InvalidGrant => {
                "the provider refused the authorization code: it expired, was already used, or \
                 the redirect URI or PKCE verifier did not match; start the login again"
            }
            Self::UnauthorizedClient => {
                "this client may not use the authorization code flow; check the app registration \
                 at the provider"
            }
            Self::UnsupportedGrantType | Self::UnsupportedResponseType => {
                "the provider does not support the authorization code flow for this client"
            }
            Self::InvalidScope => {
                "the provider refused the requested scopes; check the extra scopes configured"
            }
            Self::AccessDenied => "the user or the provider declined the login",
            Self::ServerError | Self::TemporarilyUnavailable => {
                "the provider failed or is unavailable; try again later"
            }
            Self::InteractionRequired(_) => "the provider needs the user to sign in interactively",
            Self::Other(_) => "the provider reported an error",
        }
    }
}

/// An OAuth error response: the code and the provider's (bounded) description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `error`.
    pub code: OAuthErrorCode,
    /// `error_description`, at most [`MAX_ERROR_DESCRIPTION_CHARS`], no control characters.
    pub description: Option<String>,
}

impl OAuthError {
    /// From the raw `error` and `error_description` values.
    pub fn new(code: &str, description: Option<&str>) -> Self {
        Self {
            code: OAuthErrorCode::parse(code),
            description: description
                .map(|d| bounded_text(d, MAX_ERROR_DESCRIPTION_CHARS))
                .filter(|d| !d.trim().is_empty()),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code.advice(), self.code.as_str())?;
        if let Some(description) = &self.description {
            write!(f, "; the provider says: {description}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_gives_advice_and_a_bounded_clean_description() {
        let long = format!("line1\r\nline2\u{1b}[2J{}", "x".repeat(500));
        let err = OAuthError::new("invalid_grant", Some(&long));
        let shown = err.to_string();
        assert!(
            shown.starts_with("the provider refused the authorization code"),
            "{shown}"
        );
        assert!(shown.contains("(invalid_grant)"));
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.len() < 500);
    }

    #[test]
    fn unknown_codes_are_sanitized() {
        let err = OAuthError::new("weird code\n<script>", None);
        assert_eq!(
            err.code,
            OAuthErrorCode::Other("weird?code?<script>".into())
        );
        assert_eq!(
            OAuthErrorCode::parse("login_required").as_str(),
            "login_required"
        );
    }
}
