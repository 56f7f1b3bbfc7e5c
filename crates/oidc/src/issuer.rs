//! Who may issue our tokens: an exact issuer, Google's (which has two spellings), or Microsoft
//! Entra ID's multi-tenant template whose `{tenantid}` is the token's own `tid`.
//! Only compares strings; never fetches anything.

use std::fmt;

/// Google's issuer, as its discovery document names it.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// The other spelling Google documents for the `iss` of its ID tokens.
const GOOGLE_ISSUER_BARE: &str = "accounts.google.com";
/// The issuer that Entra ID's `common` and `organizations` discovery documents carry.
pub const MICROSOFT_TENANT_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
const MICROSOFT_PREFIX: &str = "https://login.microsoftonline.com/";
const MICROSOFT_SUFFIX: &str = "/v2.0";

/// The issuer of Entra ID single-tenant tokens (v2.0 endpoints) for `tenant` (a tenant id).
pub fn entra_issuer(tenant: &str) -> String {
    format!("{MICROSOFT_PREFIX}{tenant}{MICROSOFT_SUFFIX}")
}

/// Whether `issuer` is one of Entra ID's multi-tenant aliases (`common`, `organizations`),
/// whose discovery document carries [`MICROSOFT_TENANT_TEMPLATE`] instead of itself.
pub fn is_entra_multi_tenant_alias(issuer: &str) -> bool {
    matches!(
        issuer
            .strip_prefix(MICROSOFT_PREFIX)
            .and_then(|rest| rest.strip_suffix(MICROSOFT_SUFFIX)),
        Some("common" | "organizations")
    )
}

/// How the `iss` of an ID token (and of an authorization response, RFC 9207) is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum IssuerRule {
    /// `iss` must equal this string exactly (the issuer the discovery document was fetched for).
    Exact(String),
    /// Google: `https://accounts.google.com`, or `accounts.google.com` which Google documents
    /// as a possible `iss` too.
    Google,
    /// Entra ID `common`/`organizations`: `iss` must equal [`MICROSOFT_TENANT_TEMPLATE`] with the
    /// token's `tid` claim in place of `{tenantid}`; when `allowed_tenants` is given, the tenant
    /// must be one of them (compared without regard to case).
    MicrosoftTenantTemplate {
        /// Tenant ids allowed to sign in; `None` admits every Entra ID tenant.
        allowed_tenants: Option<Vec<String>>,
    },
}

impl fmt::Debug for IssuerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(issuer) => f.debug_tuple("Exact").field(issuer).finish(),
            Self::Google => f.write_str("Google"),
            Self::MicrosoftTenantTemplate { allowed_tenants } => f
                .debug_struct("MicrosoftTenantTemplate")
                .field("allowed_tenants", allowed_tenants)
                .finish(),
        }
    }
}

/// The issuer did not match the rule. Says which part failed, not the values (they come from
/// the peer and the caller already knows the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IssuerMismatch {
    /// `iss` is not the expected issuer.
    #[error("the issuer is not the one configured for this provider")]
    WrongIssuer,
    /// A multi-tenant token carries no usable `tid` claim.
    #[error("the token has no tenant id (tid) to check the Microsoft issuer template against")]
    MissingTenant,
    /// The tenant is not on the operator's allow-list.
    #[error("the Microsoft tenant is not allowed to sign in here")]
    TenantNotAllowed,
}

impl IssuerRule {
    /// Google's rule.
    pub fn google() -> Self {
        Self::Google
    }

    /// Entra ID, one tenant: the exact issuer `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub fn entra_single_tenant(tenant: &str) -> Self {
        Self::Exact(entra_issuer(tenant))
    }

    /// Entra ID `common`/`organizations`, optionally limited to some tenants.
    pub fn entra_multi_tenant(allowed_tenants: Option<Vec<String>>) -> Self {
        Self::MicrosoftTenantTemplate { allowed_tenants }
    }

    /// Checks the `iss` and `tid` claims of a verified ID token.
    pub fn check_token(&self, iss: &str, tid: Option<&str>) -> Result<(), IssuerMismatch> {
        match self {
            Self::Exact(expected) => exact(iss, expected),
            Self::Google => google(iss),
            Self::MicrosoftTenantTemplate { allowed_tenants } => {
                let tid = tid
                    .filter(|t| is_tenant_id(t))
                    .ok_or(IssuerMismatch::MissingTenant)?;
                exact(iss, &entra_issuer(tid))?;
                tenant_allowed(tid, allowed_tenants.as_deref())
            }
        }
    }

    /// Checks the `iss` parameter of an authorization response (RFC 9207), which has no `tid`
    /// beside it: for the template, the tenant is read from the issuer itself.
    pub fn check_response_issuer(&self, iss: &str) -> Result<(), IssuerMismatch> {
        match self {
            Self::Exact(expected) => exact(iss, expected),
            Self::Google => google(iss),
            Self::MicrosoftTenantTemplate { allowed_tenants } => {
                let tid = iss
                    .strip_prefix(MICROSOFT_PREFIX)
                    .and_then(|rest| rest.strip_suffix(MICROSOFT_SUFFIX))
                    .filter(|t| is_tenant_id(t))
                    .ok_or(IssuerMismatch::WrongIssuer)?;
                tenant_allowed(tid, allowed_tenants.as_deref())
            }
        }
    }
}

fn exact(iss: &str, expected: &str) -> Result<(), IssuerMismatch> {
    if iss == expected {
        Ok(())
    } else {
        Err(IssuerMismatch::WrongIssuer)
    }
}

fn google(iss: &str) -> Result<(), IssuerMismatch> {
    if iss == GOOGLE_ISSUER || iss == GOOGLE_ISSUER_BARE {
        Ok(())
    } else {
        Err(IssuerMismatch::WrongIssuer)
    }
}

fn tenant_allowed(tid: &str, allowed: Option<&[String]>) -> Result<(), IssuerMismatch> {
    match allowed {
        Some(list) if !list.iter().any(|t| t.eq_ignore_ascii_case(tid)) => {
            Err(IssuerMismatch::TenantNotAllowed)
        }
        _ => Ok(()),
    }
}

/// Entra tenant ids are GUIDs; anything else (a path, a `{tenantid}` left in) is refused so it
/// cannot be spliced into the template to make some other URL.
fn is_tenant_id(tid: &str) -> bool {
    tid.len() == 36
        && tid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "9122040d-6c67-4c5b-b112-36a304b66dad";

    #[test]
    fn template_takes_the_tenant_from_tid() {
        let rule = IssuerRule::entra_multi_tenant(None);
        assert_eq!(rule.check_token(&entra_issuer(TID), Some(TID)), Ok(()));
        let other = "00000000-0000-0000-0000-000000000001";
        assert_eq!(
            rule.check_token(&entra_issuer(other), Some(TID)),
            Err(IssuerMismatch::WrongIssuer)
        );
        assert_eq!(
            rule.check_token(&entra_issuer(TID), None),
            Err(IssuerMismatch::MissingTenant)
        );
        assert_eq!(
            rule.check_token(MICROSOFT_TENANT_TEMPLATE, Some("{tenantid}")),
            Err(IssuerMismatch::MissingTenant)
        );
    }

    #[test]
    fn template_honours_the_tenant_allow_list() {
        let rule = IssuerRule::entra_multi_tenant(Some(vec![TID.to_uppercase()]));
        assert_eq!(rule.check_token(&entra_issuer(TID), Some(TID)), Ok(()));
        let other = "00000000-0000-0000-0000-000000000001";
        assert_eq!(
            rule.check_token(&entra_issuer(other), Some(other)),
            Err(IssuerMismatch::TenantNotAllowed)
        );
        assert_eq!(
            rule.check_response_issuer(&entra_issuer(other)),
            Err(IssuerMismatch::TenantNotAllowed)
        );
        assert_eq!(rule.check_response_issuer(&entra_issuer(TID)), Ok(()));
    }

    #[test]
    fn google_accepts_both_documented_spellings_only() {
        let rule = IssuerRule::google();
        assert_eq!(
            rule.check_token("https://accounts.google.com", None),
            Ok(())
        );
        assert_eq!(rule.check_token("accounts.google.com", None), Ok(()));
        assert_eq!(
            rule.check_token("https://accounts.google.com/", None),
            Err(IssuerMismatch::WrongIssuer)
        );
    }

    #[test]
    fn single_tenant_is_exact() {
        let rule = IssuerRule::entra_single_tenant(TID);
        assert_eq!(rule.check_token(&entra_issuer(TID), None), Ok(()));
        assert!(is_entra_multi_tenant_alias(
            "https://login.microsoftonline.com/common/v2.0"
        ));
        assert!(!is_entra_multi_tenant_alias(&entra_issuer(TID)));
    }
}
