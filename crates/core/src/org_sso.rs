//! An org's single sign-on settings (`GET/PUT /api/v1/org/sso`, `org:manage`): its email
//! domains (people of these domains signing in through a provider belong to it), whether a
//! first sign-in makes an account (just-in-time, with `default_role`), and whether its members
//! must sign in through a provider. A domain is claimed by one org only, and only if one of
//! its members already has an address there (an invitation accepted proves someone reads
//! mail at that domain); the owner role is never given just in time.

use meetvault_store::sso::{OrgSsoRow, PutSso};

use crate::CoreError;
use crate::access::proof::OrgManage;
use crate::access::{Role, Scope};
use crate::audit::{AuditAction, Event};
use crate::org::Org;

/// The settings as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSettings {
    pub domains: Vec<String>,
    pub jit: bool,
    pub default_role: Role,
    pub require_sso: bool,
    /// The providers this instance offers (their ids).
    pub providers: Vec<String>,
}

/// The settings to save (all of them).
#[derive(Debug, Clone)]
pub struct SsoSettingsInput {
    pub domains: Vec<String>,
    pub jit: bool,
    pub default_role: Role,
    pub require_sso: bool,
}

fn parse_domain(raw: &str) -> Result<String, CoreError> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = (3..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(CoreError::invalid(
            "domains",
            format!("{raw:.80} is not a domain name (like acme.com)"),
        ))
    }
}

impl Org<'_> {
    pub async fn sso(self, scope: &Scope<OrgManage>) -> Result<SsoSettings, CoreError> {
        let org = scope.org_id().uuid();
        let row = self.core.db().org_sso(org).await?;
        Ok(SsoSettings {
            domains: self.core.db().org_sso_domains(org).await?,
            jit: row.as_ref().is_some_and(|r| r.jit),
            default_role: match &row {
                Some(r) => crate::auth::parse_role(&r.default_role)?,
                None => Role::Member,
            },
            require_sso: row.as_ref().is_some_and(|r| r.require_sso),
            providers: self
                .core
                .config()
                .sso
                .oidc
                .iter()
                .map(|p| p.id.clone())
                .collect(),
        })
    }

    pub async fn set_sso(
        self,
        scope: &Scope<OrgManage>,
        input: &SsoSettingsInput,
    ) -> Result<SsoSettings, CoreError> {
        let org = scope.org_id().uuid();
        if input.domains.len() > 20 {
            return Err(CoreError::invalid("domains", "at most 20"));
        }
        let mut domains = input
            .domains
            .iter()
            .map(|d| parse_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        domains.sort();
        domains.dedup();
        let members: Vec<String> = self
            .core
            .db()
            .users(org)
            .await?
            .into_iter()
            .filter_map(|u| {
                u.email
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_ascii_lowercase())
            })
            .collect();
        if let Some(d) = domains.iter().find(|d| !members.contains(d)) {
            return Err(CoreError::invalid(
                "domains",
                format!("no member of this organization has an address at {d}: invite one first"),
            ));
        }
        if input.default_role == Role::Owner {
            return Err(CoreError::invalid(
                "default_role",
                "the owner role is never given at a first sign-in: choose admin, member, viewer or billing",
            ));
        }
        if input.require_sso && self.core.config().sso.oidc.is_empty() {
            return Err(CoreError::NotAllowed(
                "this instance has no sign-in provider ([[sso.oidc]]): single sign-on cannot be required".into(),
            ));
        }
        let row = OrgSsoRow {
            org_id: org,
            jit: input.jit,
            default_role: input.default_role.as_str().to_owned(),
            require_sso: input.require_sso,
            updated_at: meetvault_jobs::now_ms(),
        };
        if let PutSso::DomainTaken(d) = self.core.db().put_org_sso(&row, &domains).await? {
            return Err(CoreError::Conflict(format!(
                "{d} signs in to another organization"
            )));
        }
        self.core
            .audit(Event::by(scope, AuditAction::OrgSsoUpdate).resource(scope.org_id()))
            .await?;
        self.sso(scope).await
    }
}
