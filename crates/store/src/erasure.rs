//! Account erasure (and, for an org's last member, the org): what an account holds, counted
//! before it is erased, and the deletions that are not a meeting's (each meeting goes through
//! its own certified deletion first).

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// What an account holds, counted before it is erased: counts and key versions only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountInventory {
    pub sessions: i64,
    pub api_keys: i64,
    pub support_keys: i64,
    pub secrets: i64,
    pub recovery_codes: i64,
    pub workspace_memberships: i64,
    pub invitations_sent: i64,
    /// Whether the user has a key of their own (`user_keys`).
    pub user_key: bool,
    /// Members of the org, this one included.
    pub org_members: i64,
    /// When the org goes with the account: its workspaces, webhook endpoints, destinations and
    /// org key versions.
    pub workspaces: i64,
    pub webhook_endpoints: i64,
    pub destinations: i64,
    pub org_key_versions: Vec<i32>,
}

impl Database {
    /// The meetings `user` owns (ids).
    pub async fn meetings_owned(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM meetings WHERE org_id = $1 AND owner_id = $2 ORDER BY id",
        ).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    /// Every meeting of an org (ids), for the erasure of its last member.
    pub async fn org_meetings(&self, org_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM meetings WHERE org_id = $1 ORDER BY id",
        ).bind(org_id).fetch_all(pool).await?))
    }

    /// Counts what an account holds (see [`AccountInventory`]).
    pub async fn account_inventory(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<AccountInventory, StoreError> {
        let by_user: [&str; 7] = [
            "SELECT COUNT(*) FROM sessions WHERE org_id = $1 AND user_id = $2",
            "SELECT COUNT(*) FROM api_keys WHERE org_id = $1 AND created_by = $2",
            "SELECT COUNT(*) FROM support_keys WHERE org_id = $1 AND user_id = $2",
            "SELECT COUNT(*) FROM user_secrets WHERE org_id = $1 AND user_id = $2",
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $2 AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND org_id = $1)",
            "SELECT COUNT(*) FROM workspace_members WHERE user_id = $2 AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND org_id = $1)",
            "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND invited_by = $2",
        ];
        let by_org: [&str; 4] = [
            "SELECT COUNT(*) FROM users WHERE org_id = $1",
            "SELECT COUNT(*) FROM workspaces WHERE org_id = $1",
            "SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = $1",
            "SELECT COUNT(*) FROM destinations WHERE org_id = $1",
        ];
        let mut inv = AccountInventory::default();
        with_pool!(self, pool => {
            let mut n = Vec::new();
            for sql in by_user {
                let c: i64 = sqlx::query_scalar(sql).bind(org_id).bind(user_id).fetch_one(pool).await?;
                n.push(c);
            }
            for sql in by_org {
                let c: i64 = sqlx::query_scalar(sql).bind(org_id).fetch_one(pool).await?;
                n.push(c);
            }
            let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_keys WHERE user_id = $1")
                .bind(user_id).fetch_one(pool).await?;
            inv.user_key = keys > 0;
            inv.org_key_versions = sqlx::query_scalar(
                "SELECT version FROM org_keys WHERE org_id = $1 ORDER BY version",
            ).bind(org_id).fetch_all(pool).await?;
            [inv.sessions, inv.api_keys, inv.support_keys, inv.secrets, inv.recovery_codes,
             inv.workspace_memberships, inv.invitations_sent, inv.org_members, inv.workspaces,
             inv.webhook_endpoints, inv.destinations] =
                [n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], n[10]];
        });
        Ok(inv)
    }

    /// Deletes an org and everything that hangs off it (users, workspaces, keys, webhooks,
    /// destinations, policies…); certificates and the audit log have no key to it and stay.
    /// Its meetings must be gone first. Whether it was there.
    pub async fn delete_org(&self, org_id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("DELETE FROM orgs WHERE id = $1").bind(org_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

impl Database {
    /// An org's closure: `(closed_at, erase_at)` when closed.
    pub async fn org_closure(&self, org_id: Uuid) -> Result<Option<(i64, i64)>, StoreError> {
        with_pool!(self, pool => {
            let row: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT closed_at, erase_at FROM orgs WHERE id = $1",
            ).bind(org_id).fetch_optional(pool).await?;
            Ok(match row {
                Some((Some(c), Some(e))) => Some((c, e)),
                _ => None,
            })
        })
    }

    /// Closes an org (`Some((closed_at, erase_at))`) or reopens it (`None`).
    pub async fn set_org_closure(
        &self,
        org_id: Uuid,
        closure: Option<(i64, i64)>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE orgs SET closed_at = $2, erase_at = $3 WHERE id = $1")
                .bind(org_id)
                .bind(closure.map(|c| c.0))
                .bind(closure.map(|c| c.1))
                .execute(pool).await?;
            Ok(())
        })
    }

    /// Closed orgs whose grace period ended by `now`.
    pub async fn orgs_to_erase(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM orgs WHERE erase_at IS NOT NULL AND erase_at <= $1 ORDER BY erase_at LIMIT 100",
        ).bind(now).fetch_all(pool).await?))
    }
}
