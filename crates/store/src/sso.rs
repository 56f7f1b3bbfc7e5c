//! Single sign-on rows (migrations 0025, 0026, 0028): an org's SSO settings, the provider
//! identities linked to accounts, an org's SAML IdP metadata and the SAML assertions already
//! used, and an org's own OpenID Connect provider.

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

impl Database {
    pub async fn org_sso(&self, org_id: Uuid) -> Result<Option<OrgSsoRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgSsoRow>(
            "SELECT org_id, jit, default_role, require_sso, updated_at FROM org_sso WHERE org_id = $1",
        ).bind(org_id).fetch_optional(pool).await?))
    }

    /// Saves an org's settings.
    pub async fn put_org_sso(&self, row: &OrgSsoRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO org_sso (org_id, jit, default_role, require_sso, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET jit = excluded.jit, \
                 default_role = excluded.default_role, require_sso = excluded.require_sso, \
                 updated_at = excluded.updated_at",
            )
            .bind(row.org_id).bind(row.jit).bind(&row.default_role).bind(row.require_sso)
            .bind(row.updated_at).execute(pool).await?;
            Ok(())
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
            let made = sqlx::query(
                "INSERT INTO users (id, org_id, email, name, password_hash, role, totp_enabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(user.id).bind(user.org_id).bind(&user.email).bind(&user.name)
            .bind(&user.password_hash).bind(&user.role).bind(user.totp_enabled).bind(user.created_at)
            .execute(&mut *tx).await;
            match made {
                Ok(_) => {}
                // Two first sign-ins of one email at once: the other made it.
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
            let linked = sqlx::query(
                "INSERT INTO sso_identities (provider, subject, org_id, user_id, created_at, last_login_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&identity.provider).bind(&identity.subject).bind(identity.org_id)
            .bind(identity.user_id).bind(identity.created_at).bind(identity.last_login_at)
            .execute(&mut *tx).await;
            match linked {
                Ok(_) => {}
                // The same person signing in twice at once: the other sign-in made it.
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// An org's SAML IdP metadata (XML), if it set one.
    pub async fn org_saml(&self, org_id: Uuid) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT idp_metadata FROM org_saml WHERE org_id = $1",
        ).bind(org_id).fetch_optional(pool).await?))
    }

    pub async fn put_org_saml(&self, org_id: Uuid, xml: &str, at: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO org_saml (org_id, idp_metadata, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (org_id) DO UPDATE SET idp_metadata = excluded.idp_metadata, \
                 updated_at = excluded.updated_at",
            )
            .bind(org_id).bind(xml).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn delete_org_saml(&self, org_id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM org_saml WHERE org_id = $1")
            .bind(org_id).execute(pool).await?.rows_affected() == 1))
    }

    /// Records a used assertion until `expires_at` (expired ones are forgotten now); false if
    /// it was used before: a replay.
    pub async fn use_saml_assertion(
        &self,
        org_id: Uuid,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM saml_assertions WHERE expires_at < $1")
                .bind(now).execute(pool).await?;
            Ok(sqlx::query(
                "INSERT INTO saml_assertions (assertion_id, org_id, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (assertion_id) DO NOTHING",
            )
            .bind(assertion_id).bind(org_id).bind(expires_at)
            .execute(pool).await?.rows_affected() == 1)
        })
    }

    /// Unlinks a user's identities at `provider`; how many went.
    pub async fn delete_sso_identities(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        provider: &str,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM sso_identities WHERE org_id = $1 AND user_id = $2 AND provider = $3",
        ).bind(org_id).bind(user_id).bind(provider).execute(pool).await?.rows_affected()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgOidcRow {
    pub org_id: Uuid,
    pub name: String,
    pub kind: String,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    /// A JSON array of tenant ids.
    pub allowed_tenants: String,
    pub client_id: String,
    /// Sealed under the org's key by core.
    pub client_secret: Vec<u8>,
    pub updated_at: i64,
}

impl Database {
    pub async fn org_oidc(&self, org_id: Uuid) -> Result<Option<OrgOidcRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OrgOidcRow>(
            "SELECT org_id, name, kind, issuer, tenant, allowed_tenants, client_id, client_secret, \
             updated_at FROM org_oidc WHERE org_id = $1",
        ).bind(org_id).fetch_optional(pool).await?))
    }

    pub async fn put_org_oidc(&self, row: &OrgOidcRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO org_oidc (org_id, name, kind, issuer, tenant, allowed_tenants, client_id, \
                 client_secret, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (org_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 issuer = excluded.issuer, tenant = excluded.tenant, \
                 allowed_tenants = excluded.allowed_tenants, client_id = excluded.client_id, \
                 client_secret = excluded.client_secret, updated_at = excluded.updated_at",
            )
            .bind(row.org_id).bind(&row.name).bind(&row.kind).bind(&row.issuer).bind(&row.tenant)
            .bind(&row.allowed_tenants).bind(&row.client_id).bind(&row.client_secret)
            .bind(row.updated_at).execute(pool).await?;
            Ok(())
        })
    }

    /// Removes an org's own provider; false if it had none.
    pub async fn delete_org_oidc(&self, org_id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM org_oidc WHERE org_id = $1")
            .bind(org_id).execute(pool).await?.rows_affected() == 1))
    }
}
