//! The claims of a verified ID token, as the rest of meetvault reads them. Only
//! [`verify_id_token`](super::verify_id_token) makes one, so holding an `IdClaims` means the
//! token was verified.

use serde_json::{Map, Value};

use super::IdTokenError;

/// Longest `sub` accepted (OIDC Core 2: at most 255 ASCII characters).
const MAX_SUBJECT_LEN: usize = 255;

/// Who signed in, from a verified ID token.
#[derive(Debug, Clone)]
pub struct IdClaims {
    issuer: String,
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    preferred_username: Option<String>,
    tenant: Option<String>,
    hosted_domain: Option<String>,
    raw: Map<String, Value>,
}

impl IdClaims {
    pub(super) fn from_verified(raw: Map<String, Value>) -> Result<Self, IdTokenError> {
        let text = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
        let issuer = text("iss").ok_or(IdTokenError::InvalidClaim("iss"))?;
        let subject = text("sub")
            .filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT_LEN)
            .ok_or(IdTokenError::InvalidClaim("sub"))?;
        let email_verified = is_true(raw.get("email_verified")) || is_true(raw.get("xms_edov"));
        Ok(Self {
            issuer,
            subject,
            email: text("email").filter(|e| !e.is_empty()),
            email_verified,
            name: text("name"),
            given_name: text("given_name"),
            family_name: text("family_name"),
            preferred_username: text("preferred_username"),
            tenant: text("tid"),
            hosted_domain: text("hd"),
            raw,
        })
    }

    /// `iss`: who issued the token (for Entra multi-tenant, the tenant's own issuer).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `sub`: the user's stable id at this issuer. Key accounts on (issuer, subject), never on
    /// the email.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `email`, if the provider sent one. Trust it only together with [`Self::email_verified`].
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Whether the provider vouches for the email: `email_verified` is JSON `true` or the string
    /// `"true"` (Google has sent strings), or Entra ID's `xms_edov` (email domain owner
    /// verified) is. Entra sends no `email_verified`; an operator who wants Entra emails trusted
    /// adds the optional claim `xms_edov` to the app registration. Anything else is `false`.
    pub fn email_verified(&self) -> bool {
        self.email_verified
    }

    /// `name`, the display name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `given_name`.
    pub fn given_name(&self) -> Option<&str> {
        self.given_name.as_deref()
    }

    /// `family_name`.
    pub fn family_name(&self) -> Option<&str> {
        self.family_name.as_deref()
    }

    /// `preferred_username` (Entra ID puts the UPN here; it is not verified and may change).
    pub fn preferred_username(&self) -> Option<&str> {
        self.preferred_username.as_deref()
    }

    /// `tid`: the Entra ID tenant.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// `hd`: the Google Workspace hosted domain. Check it against the domain you sent as `hd`
    /// in the authorization request: the request parameter is only a hint.
    pub fn hosted_domain(&self) -> Option<&str> {
        self.hosted_domain.as_deref()
    }

    /// Every claim as received, for mappings this type does not name (groups, roles…).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}

fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true)))
        || matches!(value, Some(Value::String(s)) if s == "true")
}
