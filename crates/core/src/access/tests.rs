//! The permission matrix, proofs and scopes.

use super::*;

fn principal(role: Role, key: Option<Permissions>) -> Principal {
    Principal {
        org_id: OrgId::new(),
        user_id: UserId::new(),
        role,
        credential: match key {
            Some(_) => Credential::ApiKey(ApiKeyId::new()),
            None => Credential::Session(SessionId::new()),
        },
        meta: RequestMeta::default(),
        mfa_enrollment_required: false,
        org_erase_at: None,
        org_permissions: role.permissions(),
        workspace_roles: vec![],
        credential_permissions: key.unwrap_or_else(Permissions::all),
        credential_workspace: None,
        credential_expires_at: None,
    }
}

#[test]
fn a_viewer_cannot_manage_keys_and_an_owner_can() {
    assert_eq!(
        principal(Role::Viewer, None)
            .authorize::<proof::KeysManage>()
            .unwrap_err(),
        Denied::Missing(Permission::KeysManage)
    );
    assert!(
        principal(Role::Owner, None)
            .authorize::<proof::KeysManage>()
            .is_ok()
    );
}

#[test]
fn an_api_key_is_capped_by_its_list_and_by_its_creators_role() {
    let key = Permissions::of(&[Permission::AuditRead, Permission::MeetingsRead]);
    let owner_key = principal(Role::Owner, Some(key));
    assert!(owner_key.authorize::<proof::AuditRead>().is_ok());
    assert!(owner_key.authorize::<proof::KeysManage>().is_err());
    let viewer_key = principal(Role::Viewer, Some(key));
    assert!(viewer_key.authorize::<proof::AuditRead>().is_err());
    assert!(
        owner_key.own_account().is_err(),
        "keys cannot change their account"
    );
}

#[test]
fn a_workspace_role_adds_permissions_only_in_that_workspace() {
    let mut p = principal(Role::Viewer, None);
    let ws = WorkspaceId::new();
    p.workspace_roles.push((ws, Role::Member));
    let write = p.authorize::<proof::MeetingsWrite>().unwrap();
    assert_eq!(write.reach(), Reach::Workspaces(vec![ws]));
    assert!(write.reaches(ws));
    assert!(!write.reaches(WorkspaceId::new()));
    let read = p.authorize::<proof::MeetingsRead>().unwrap();
    assert_eq!(read.reach(), Reach::Org, "the org role reads everywhere");
    assert_eq!(
        p.authorize::<proof::KeysManage>().unwrap_err(),
        Denied::Missing(Permission::KeysManage),
        "a workspace role grants nothing at organization level"
    );
    let mut admin_in_ws = principal(Role::Viewer, None);
    admin_in_ws.workspace_roles.push((ws, Role::Admin));
    assert!(
        admin_in_ws.authorize::<proof::MembersManage>().is_err(),
        "org-level permissions never come from a workspace role"
    );
}

#[test]
fn a_workspace_bound_key_reaches_only_its_workspace() {
    let ws = WorkspaceId::new();
    let mut key = principal(
        Role::Owner,
        Some(Permissions::of(&[
            Permission::MeetingsRead,
            Permission::MeetingsWrite,
            Permission::KeysManage,
        ])),
    );
    key.credential_workspace = Some(ws);
    let scope = key.authorize::<proof::MeetingsWrite>().unwrap();
    assert_eq!(scope.reach(), Reach::Workspaces(vec![ws]));
    assert!(!scope.reaches(WorkspaceId::new()));
    assert_eq!(scope.org_permissions(), Permissions::default());
    assert!(key.authorize::<proof::KeysManage>().is_err());
    assert!(key.authorize::<proof::MeetingsDelete>().is_err());
}

#[test]
fn a_pending_mfa_enrolment_blocks_everything_but_the_own_account() {
    let mut p = principal(Role::Owner, None);
    p.mfa_enrollment_required = true;
    assert_eq!(
        p.authorize::<proof::MeetingsRead>().unwrap_err(),
        Denied::MfaEnrollmentRequired
    );
    assert!(p.own_account().is_ok());
}

#[test]
fn a_closed_org_blocks_every_permission_but_not_the_own_account() {
    let mut p = principal(Role::Owner, None);
    p.org_erase_at = Some(42);
    assert_eq!(
        p.authorize::<proof::OrgManage>().unwrap_err(),
        Denied::OrgClosed(42)
    );
    assert!(p.own_account().is_ok());
    assert!(p.authorize::<proof::OwnAccount>().is_ok());
}

#[test]
fn every_permission_has_its_proof_and_the_workspace_scoped_ones_say_so() {
    fn org_level<P: proof::Granted>() -> (Permission, bool) {
        (P::PERMISSION, false)
    }
    fn in_workspaces<P: proof::WorkspaceScoped>() -> (Permission, bool) {
        (P::PERMISSION, true)
    }
    let proofs = [
        in_workspaces::<proof::MeetingsRead>(),
        in_workspaces::<proof::MeetingsWrite>(),
        in_workspaces::<proof::MeetingsDelete>(),
        in_workspaces::<proof::BotsWrite>(),
        org_level::<proof::WebhooksManage>(),
        org_level::<proof::MembersManage>(),
        org_level::<proof::AuditRead>(),
        org_level::<proof::KeysManage>(),
        org_level::<proof::BillingRead>(),
        org_level::<proof::OrgManage>(),
        org_level::<proof::IntegrationsManage>(),
        org_level::<proof::ApprovalsDecide>(),
        org_level::<proof::WidgetsManage>(),
    ];
    let expected = Permission::ALL.map(|p| (p, p.workspace_scoped()));
    assert_eq!(proofs, expected);
}

#[test]
fn an_api_key_proves_no_own_account_and_anyone_proves_who_they_are() {
    let key = principal(Role::Owner, Some(Permissions::all()));
    assert_eq!(
        key.authorize::<proof::OwnAccount>().unwrap_err(),
        Denied::SessionRequired
    );
    assert_eq!(key.whoami().user_id(), key.user_id);
    let mut enrolling = principal(Role::Owner, None);
    enrolling.mfa_enrollment_required = true;
    assert!(enrolling.authorize::<proof::AnyCaller>().is_ok());
}

#[test]
fn permission_names_round_trip() {
    for p in Permission::ALL {
        assert_eq!(Permission::parse(p.as_str()), Some(p));
    }
    assert_eq!(
        Permissions::parse(["audit:read", "nope"]),
        Err("nope".to_owned())
    );
}

/// The matrix table of `docs/permissions.md`: the role names of its header, then each row's
/// permission name and cells, as written.
fn documented_matrix(doc: &str) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_owned()).collect()
    };
    let mut lines = doc
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("| Permission |"))
        .take_while(|l| l.trim_start().starts_with('|'));
    let header = cells(
        lines
            .next()
            .expect("docs/permissions.md has no `| Permission |` table"),
    );
    let separator = cells(lines.next().expect("the matrix has no separator row"));
    assert!(
        separator
            .iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))),
        "the matrix's second line is not a separator: {separator:?}"
    );
    let rows = lines
        .map(|l| {
            let mut row = cells(l);
            let name = row.remove(0);
            let name = name
                .strip_prefix('`')
                .and_then(|n| n.strip_suffix('`'))
                .unwrap_or_else(|| panic!("permission `{name}` is not in backticks"))
                .to_owned();
            (name, row)
        })
        .collect();
    (header[1..].to_vec(), rows)
}

#[test]
fn docs_permissions_md_shows_exactly_the_role_matrix() {
    let (roles, rows) = documented_matrix(include_str!("../../../../docs/permissions.md"));
    let expected_roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        roles, expected_roles,
        "the matrix's columns must be the roles, in this order"
    );

    let documented: Vec<&str> = rows.iter().map(|(name, _)| name.as_str()).collect();
    for p in Permission::ALL {
        let count = documented.iter().filter(|n| **n == p.as_str()).count();
        assert_eq!(
            count, 1,
            "`{p}` must have exactly one row in docs/permissions.md"
        );
    }
    assert_eq!(
        rows.len(),
        Permission::ALL.len(),
        "docs/permissions.md lists permissions the code does not have: {documented:?}"
    );

    for (name, cells) in &rows {
        let p = Permission::parse(name).expect("checked above");
        assert_eq!(
            cells.len(),
            Role::ALL.len(),
            "`{p}` row has {} cells",
            cells.len()
        );
        for (role, cell) in Role::ALL.into_iter().zip(cells) {
            let documented = match cell.as_str() {
                "✓" => true,
                "–" => false,
                other => panic!("`{p}` / {role}: cell `{other}` is neither ✓ nor –"),
            };
            assert_eq!(
                documented,
                role.permissions().contains(p),
                "docs/permissions.md says {role} {} `{p}`; Role::permissions() disagrees",
                if documented { "holds" } else { "lacks" }
            );
        }
    }
}
