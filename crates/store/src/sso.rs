//! Single sign-on rows (migration 0025): an org's SSO settings and email domains, and the
//! provider identities linked to accounts. Domains are lowercase; a domain belongs to one org.

use uuid::Uuid;

use crate::identity::{UserRow, with_pool};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgSsoRow {
    pub org_id: Uuid,
    pub jit: bool,
    pub default_role: String,
    pub require_sso: bool,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoIdentityRow {
    pub provider: String,
    pub subject: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub created_at: i64,
    pub last_login_at: i64,
}

/// What saving an org's SSO settings did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutSso {
    Saved,
    /// This domain belongs to another org: nothing was changed.
    DomainTaken(String),
}

impl Database {
    pub async fn org_sso(&self, org_id: Uuid) -> Result<Option<OrgSsoRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgSsoRow>(
            "SELECT org_id, jit, default_role, require_sso, updated_at FROM org_sso WHERE org_id = $1",
        ).bind(org_id).fetch_optional(pool).await?))
    }

    pub async fn org_sso_domains(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT domain FROM sso_domains WHERE org_id = $1 ORDER BY domain",
        ).bind(org_id).fetch_all(pool).await?))
    }

    /// The org that signs in people of `domain`, if one does.
    pub async fn org_for_sso_domain(&self, domain: &str) -> Result<Option<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT org_id FROM sso_domains WHERE domain = $1",
        ).bind(domain).fetch_optional(pool).await?))
    }

    /// Replaces an org's settings and domains in one transaction, unless a domain is
    /// another org's.
    pub async fn put_org_sso(
        &self,
        row: &OrgSsoRow,
        domains: &[String],
    ) -> Result<PutSso, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for d in domains {
                let owner: Option<Uuid> = sqlx::query_scalar(
                    "SELECT org_id FROM sso_domains WHERE domain = $1",
                ).bind(d).fetch_optional(&mut *tx).await?;
                if owner.is_some_and(|o| o != row.org_id) {
                    return Ok(PutSso::DomainTaken(d.clone()));
                }
            }
            sqlx::query("DELETE FROM sso_domains WHERE org_id = $1")
                .bind(row.org_id).execute(&mut *tx).await?;
            for d in domains {
                // A concurrent claim by another org fails here (primary key), not silently.
                sqlx::query("INSERT INTO sso_domains (domain, org_id) VALUES ($1, $2)")
                    .bind(d).bind(row.org_id).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO org_sso (org_id, jit, default_role, require_sso, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET jit = excluded.jit, \
                 default_role = excluded.default_role, require_sso = excluded.require_sso, \
                 updated_at = excluded.updated_at",
            )
            .bind(row.org_id).bind(row.jit).bind(&row.default_role).bind(row.require_sso)
            .bind(row.updated_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(PutSso::Saved)
        })
    }

    pub async fn sso_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<SsoIdentityRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SsoIdentityRow>(
            "SELECT provider, subject, org_id, user_id, created_at, last_login_at FROM sso_identities \
             WHERE provider = $1 AND subject = $2",
        ).bind(provider).bind(subject).fetch_optional(pool).await?))
    }

    /// Links an identity to its account; false if that identity is linked already.
    pub async fn link_sso_identity(&self, row: &SsoIdentityRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "INSERT INTO sso_identities (provider, subject, org_id, user_id, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, subject) DO NOTHING",
        )
        .bind(&row.provider).bind(&row.subject).bind(row.org_id).bind(row.user_id)
        .bind(row.created_at).bind(row.last_login_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    pub async fn touch_sso_identity(
        &self,
        provider: &str,
        subject: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE sso_identities SET last_login_at = $3 WHERE provider = $1 AND subject = $2")
                .bind(provider).bind(subject).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// A user's linked identities (provider, subject).
    pub async fn sso_identities_of(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<SsoIdentityRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SsoIdentityRow>(
            "SELECT provider, subject, org_id, user_id, created_at, last_login_at FROM sso_identities \
             WHERE org_id = $1 AND user_id = $2 ORDER BY provider",
        ).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    /// Creates an account signed in for the first time by a provider, with its identity, in
    /// one transaction; false if the email is taken (meanwhile).
    pub async fn provision_sso_user(
        &self,
        user: &UserRow,
        identity: &SsoIdentityRow,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
                .bind(&user.email).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Ok(false);
            }
            crate::identity::insert_user!(tx, user);
            sqlx::query(
                "INSERT INTO sso_identities (provider, subject, org_id, user_id, created_at, last_login_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&identity.provider).bind(&identity.subject).bind(identity.org_id)
            .bind(identity.user_id).bind(identity.created_at).bind(identity.last_login_at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
