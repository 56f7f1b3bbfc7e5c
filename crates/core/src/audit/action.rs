//! Every action the audit log records, as one enum: a new action is a variant here (and its
//! dotted name, which is what entries, filters and verifiers see and must never change).

macro_rules! actions {
    ($($variant:ident => $name:literal,)*) => {
        /// An audited action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in name order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The dotted name written in entries (`meeting.delete`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    AccountErase => "account.erase",
    ApiKeyCreate => "api_key.create",
    ApiKeyRevoke => "api_key.revoke",
    AuthBreakGlass => "auth.break_glass",
    AuthLogin => "auth.login",
    AuthLogout => "auth.logout",
    AuthMfaDisable => "auth.mfa_disable",
    AuthMfaEnable => "auth.mfa_enable",
    AuthMfaReset => "auth.mfa_reset",
    AuthPasswordChange => "auth.password_change",
    AuthRecoverWithRecoveryKey => "auth.recover_with_recovery_key",
    AuthRefused => "auth.refused",
    AuthRegister => "auth.register",
    AuthSessionRevoke => "auth.session_revoke",
    AuthSsoLink => "auth.sso_link",
    AuthSsoLogin => "auth.sso_login",
    AuthSsoProvision => "auth.sso_provision",
    AuthSsoUnlink => "auth.sso_unlink",
    BotCancel => "bot.cancel",
    BotChat => "bot.chat",
    BotConsentPolicy => "bot.consent_policy",
    BotCreate => "bot.create",
    BotLeave => "bot.leave",
    BotParticipantOptOut => "bot.participant_opt_out",
    BotTransition => "bot.transition",
    CalendarConnect => "calendar.connect",
    CalendarDisconnect => "calendar.disconnect",
    CalendarEventChoice => "calendar.event_choice",
    CalendarRevoked => "calendar.revoked",
    CalendarRules => "calendar.rules_update",
    CertificateIssue => "certificate.issue",
    DeletionRequestComplete => "deletion_request.complete",
    DeletionRequestConfirm => "deletion_request.confirm",
    DeletionRequestReject => "deletion_request.reject",
    DeletionRequestSubmit => "deletion_request.submit",
    DestinationCreate => "destination.create",
    DestinationDelete => "destination.delete",
    DestinationUpdate => "destination.update",
    DocumentAttach => "document.attach",
    DocumentDelete => "document.delete",
    EncryptionOrgKmsKey => "encryption.org_kms_key",
    EncryptionUnlock => "encryption.unlock",
    EncryptionZeroAccessDisabled => "encryption.zero_access_disabled",
    EncryptionZeroAccessEnabled => "encryption.zero_access_enabled",
    IntegrationApprove => "integration.approve",
    IntegrationBroken => "integration.broken",
    IntegrationConnect => "integration.connect",
    IntegrationDisconnect => "integration.disconnect",
    IntegrationEdit => "integration.edit",
    IntegrationReject => "integration.reject",
    IntegrationSent => "integration.sent",
    IntegrationUpdate => "integration.update",
    InvitationAccept => "invitation.accept",
    InvitationCreate => "invitation.create",
    InvitationRevoke => "invitation.revoke",
    MeetingCreate => "meeting.create",
    MeetingDelete => "meeting.delete",
    MeetingDeliver => "meeting.deliver",
    MeetingTranscribe => "meeting.transcribe",
    MeetingUpdate => "meeting.update",
    MemberRemove => "member.remove",
    MemberRoleChange => "member.role_change",
    OrgClose => "org.close",
    IntelligenceUpdate => "intelligence.update",
    OrgErase => "org.erase",
    OrgReopen => "org.reopen",
    OrgSsoUpdate => "org.sso_update",
    OrgUpdate => "org.update",
    RecordingLocalCopyDelete => "recording.local_copy_delete",
    RecordingRead => "recording.read",
    RecordingUpload => "recording.upload",
    RetentionPurge => "retention.purge",
    RetentionUpdate => "retention.update",
    SecretDelete => "secret.delete",
    SecretPut => "secret.put",
    SummaryEdit => "summary.edit",
    SummaryGenerate => "summary.generate",
    SupportKeyCreate => "support_key.create",
    SupportKeyRevoke => "support_key.revoke",
    SupportKeyUse => "support_key.use",
    TranscriptEdit => "transcript.edit",
    TranscriptExport => "transcript.export",
    TranscriptSpeakerRename => "transcript.speaker_rename",
    TranscriptionApi => "transcription.api",
    WebhookCreate => "webhook.create",
    WebhookDelete => "webhook.delete",
    WebhookDisabled => "webhook.disabled",
    WebhookRedeliver => "webhook.redeliver",
    WebhookRotateSecret => "webhook.rotate_secret",
    WebhookTest => "webhook.test",
    WebhookUpdate => "webhook.update",
    WidgetCreate => "widget.create",
    WidgetDelete => "widget.delete",
    WidgetRotateSecret => "widget.rotate_secret",
    WidgetSubmission => "widget.submission",
    WidgetUpdate => "widget.update",
    WorkspaceCreate => "workspace.create",
    WorkspaceMemberSet => "workspace.member_set",
    WorkspaceUpdate => "workspace.update",
}

impl AuditAction {
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            let name = a.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.contains('.')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
            );
            assert_eq!(AuditAction::parse(name), Some(*a));
        }
        assert_eq!(AuditAction::parse("meeting.explode"), None);
    }
}
