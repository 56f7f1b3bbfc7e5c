//! The org's and a workspace's meeting-intelligence settings through the API (`GET`/`PUT
//! /api/v1/org/intelligence`, `…/workspaces/{id}/intelligence`); the settings themselves and
//! their layers are in `crate::intel_settings`.

use super::Intelligence;
use crate::CoreError;
use crate::access::Scope;
use crate::access::proof::OrgManage;
use crate::audit::{AuditAction, Event};
use crate::ids::WorkspaceId;
use crate::intel_settings::IntelSettings;

impl Intelligence<'_> {
    /// The org's settings (`workspace`: that workspace's own).
    pub async fn settings(
        self,
        scope: &Scope<OrgManage>,
        workspace: Option<WorkspaceId>,
    ) -> Result<IntelSettings, CoreError> {
        let org = scope.org_id().uuid();
        match workspace {
            None => self.core.intel_settings(org).await,
            Some(ws) => {
                if self.core.db().workspace(org, ws.uuid()).await?.is_none() {
                    return Err(CoreError::NotFound("workspace"));
                }
                Ok(IntelSettings::parse(
                    self.core
                        .db()
                        .workspace_intelligence(org, ws.uuid())
                        .await?,
                ))
            }
        }
    }

    /// Replaces the org's settings (`workspace`: that workspace's own; empty settings clear
    /// them, so it inherits the org's).
    pub async fn put_settings(
        self,
        scope: &Scope<OrgManage>,
        workspace: Option<WorkspaceId>,
        settings: IntelSettings,
    ) -> Result<IntelSettings, CoreError> {
        let org = scope.org_id().uuid();
        let s = self
            .core
            .check_intel_settings(org, scope.user_id(), settings)
            .await?;
        let json = serde_json::to_string(&s).map_err(CoreError::internal)?;
        let resource = match workspace {
            None => {
                self.core
                    .db()
                    .put_org_intelligence(org, Some(&json))
                    .await?;
                scope.org_id().to_string()
            }
            Some(ws) => {
                let stored = (!s.is_empty()).then_some(json.as_str());
                if !self
                    .core
                    .db()
                    .put_workspace_intelligence(org, ws.uuid(), stored)
                    .await?
                {
                    return Err(CoreError::NotFound("workspace"));
                }
                ws.to_string()
            }
        };
        self.core
            .audit(Event::by(scope, AuditAction::IntelligenceUpdate).resource(resource))
            .await?;
        Ok(s)
    }
}
