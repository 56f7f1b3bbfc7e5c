//! The consent policy of an org and of each workspace: the message a bot posts in the chat on
//! admission, the phrase a participant types to be excluded, and whether every bot must post
//! the message. A bot takes, field by field, what it was sent with, else its workspace's
//! policy, else its org's, else the built-in default; `required` at either level refuses a bot
//! sent with `post_consent: false`. Policies are operator text, not meeting content: stored
//! plain (JSON) on the org and workspace rows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{BotOptions, DEFAULT_OPT_OUT, NewBot};
use crate::access::Scope;
use crate::access::proof::OrgManage;
use crate::audit::{AuditAction, Event};
use crate::ids::WorkspaceId;
use crate::vault::check_text;
use crate::{Core, CoreError};

/// One level's consent policy; absent fields defer to the next level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentPolicy {
    /// Posted in the chat on admission.
    pub message: Option<String>,
    /// What a participant types (alone in a message) to be excluded from that moment.
    pub opt_out_phrase: Option<String>,
    /// Every bot posts the consent message: `post_consent: false` is refused.
    pub required: bool,
}

/// The built-in consent message, naming the opt-out phrase.
pub fn default_consent(opt_out_phrase: &str) -> String {
    format!(
        "This meeting is being recorded and transcribed by a meetvault bot. Type \
         {opt_out_phrase} in the chat to be excluded from the recording."
    )
}

/// A consent message: not blank, at most 1000 characters.
pub(crate) fn check_message(field: &'static str, m: &str) -> Result<(), CoreError> {
    if m.trim().is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    check_text(field, m, 1000)
}

/// An opt-out phrase: 2–64 characters, no line breaks, not blank.
pub(crate) fn check_phrase(field: &'static str, p: &str) -> Result<(), CoreError> {
    let p = p.trim();
    if p.chars().count() < 2 || p.chars().count() > 64 || p.contains(['\n', '\r']) {
        return Err(CoreError::invalid(
            field,
            "must be 2–64 characters on one line (e.g. /optout)",
        ));
    }
    check_text(field, p, 64)
}

impl ConsentPolicy {
    fn check(&self) -> Result<(), CoreError> {
        if let Some(m) = &self.message {
            check_message("message", m)?;
        }
        if let Some(p) = &self.opt_out_phrase {
            check_phrase("opt_out_phrase", p)?;
        }
        Ok(())
    }

    fn parse(stored: Option<String>) -> Result<Self, CoreError> {
        match stored {
            None => Ok(Self::default()),
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| CoreError::Integrity(format!("a stored consent policy: {e}"))),
        }
    }
}

impl Core {
    /// The stored policy of the org (`workspace` none) or of one of its workspaces.
    async fn consent_policy(
        &self,
        org: Uuid,
        workspace: Option<Uuid>,
    ) -> Result<ConsentPolicy, CoreError> {
        ConsentPolicy::parse(self.db().bot_consent(org, workspace).await?)
    }

    /// Fills `options`' consent message and opt-out phrase from the request, the workspace's
    /// policy, the org's, the default (in that order), and refuses a bot that would post no
    /// consent where a policy requires it.
    pub(super) async fn apply_consent(
        &self,
        org: Uuid,
        workspace: Uuid,
        new: &NewBot,
        options: &mut BotOptions,
    ) -> Result<(), CoreError> {
        let ws = self.consent_policy(org, Some(workspace)).await?;
        let org_policy = self.consent_policy(org, None).await?;
        if !new.post_consent && (ws.required || org_policy.required) {
            return Err(CoreError::invalid(
                "post_consent",
                "this workspace requires every bot to post its consent message",
            ));
        }
        let phrase = new
            .opt_out_phrase
            .clone()
            .or(ws.opt_out_phrase)
            .or(org_policy.opt_out_phrase)
            .unwrap_or_else(|| DEFAULT_OPT_OUT.to_owned());
        let message = new
            .consent_message
            .clone()
            .or(ws.message)
            .or(org_policy.message)
            .unwrap_or_else(|| default_consent(&phrase));
        options.post_consent = new.post_consent;
        options.opt_out_phrase = Some(phrase.trim().to_owned());
        options.consent_message = Some(message);
        Ok(())
    }
}

/// The consent policies (`core.bots()`), for those who manage the org.
impl super::Bots<'_> {
    /// The org's policy (`workspace` none) or a workspace's.
    pub async fn consent(
        self,
        scope: &Scope<OrgManage>,
        workspace: Option<WorkspaceId>,
    ) -> Result<ConsentPolicy, CoreError> {
        let org = scope.org_id().uuid();
        if let Some(ws) = workspace {
            self.core
                .db()
                .workspace(org, ws.uuid())
                .await?
                .ok_or(CoreError::NotFound("workspace"))?;
        }
        self.core
            .consent_policy(org, workspace.map(|w| w.uuid()))
            .await
    }

    /// Replaces the org's policy (`workspace` none) or a workspace's; audited.
    pub async fn set_consent(
        self,
        scope: &Scope<OrgManage>,
        workspace: Option<WorkspaceId>,
        policy: &ConsentPolicy,
    ) -> Result<ConsentPolicy, CoreError> {
        policy.check()?;
        let mut policy = policy.clone();
        policy.opt_out_phrase = policy.opt_out_phrase.map(|p| p.trim().to_owned());
        let json = serde_json::to_string(&policy).map_err(CoreError::internal)?;
        let org = scope.org_id().uuid();
        if !self
            .core
            .db()
            .set_bot_consent(org, workspace.map(|w| w.uuid()), &json)
            .await?
        {
            return Err(CoreError::NotFound("workspace"));
        }
        let resource = match workspace {
            Some(ws) => ws.to_string(),
            None => scope.org_id().to_string(),
        };
        self.core
            .audit(Event::by(scope, AuditAction::BotConsentPolicy).resource(resource))
            .await?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_and_messages_are_checked() {
        assert!(check_phrase("p", "/optout").is_ok());
        assert!(check_phrase("p", "stop recording me").is_ok());
        for bad in ["", " ", "x", "a\nb", &"x".repeat(65)] {
            assert!(check_phrase("p", bad).is_err(), "{bad:?}");
        }
        assert!(check_message("m", "  ").is_err());
        assert!(check_message("m", &"x".repeat(1001)).is_err());
        assert!(default_consent("/stop").contains("/stop"));
    }

    #[test]
    fn a_stored_policy_round_trips_and_unknown_fields_are_refused() {
        let p = ConsentPolicy {
            message: Some("We record.".into()),
            opt_out_phrase: None,
            required: true,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(ConsentPolicy::parse(Some(json)).unwrap(), p);
        assert_eq!(
            ConsentPolicy::parse(None).unwrap(),
            ConsentPolicy::default()
        );
        assert!(serde_json::from_str::<ConsentPolicy>(r#"{"requred": true}"#).is_err());
    }
}
