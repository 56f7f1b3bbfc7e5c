//! The reader against sqlx, on the same rows: every hot-path read answers exactly what the
//! same statement through sqlx answers (NULLs, blobs, times to the nanosecond, filters and
//! cursors), so the two ways of reading SQLite cannot drift apart.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::Database;
use crate::identity::{ApiKeyRow, OrgRow, SessionRow, UserRow, WorkspaceRow};
use crate::vault::{MeetingKeyRow, MeetingQuery, MeetingRow, ParticipantRow, UserKeyRow};

#[test]
fn times_in_both_of_sqlites_spellings_parse() {
    let t = parse_time("2026-12-05T14:04:04.123456789+00:00").unwrap();
    assert_eq!(t.timestamp_nanos_opt(), Some(1_796_479_444_123_456_789));
    assert_eq!(
        parse_time("2026-12-05 14:04:04").unwrap().timestamp(),
        1_796_479_444
    );
    assert!(parse_time("yesterday").is_none());
}

/// `$n` binds by name: a name that comes back, or first appears after a later one, gets its
/// own value; a parameter left out is an error, never a NULL.
#[test]
fn parameters_bind_by_name_and_all_must_be_given() {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    let mut s = c
        .prepare("SELECT $3 || '-' || $1 || '-' || $2 || '-' || $1")
        .unwrap();
    bind(
        &mut s,
        vec![
            "a".to_owned().into(),
            "b".to_owned().into(),
            "c".to_owned().into(),
        ],
    )
    .unwrap();
    let mut rows = s.raw_query();
    let got: String = rows.next().unwrap().unwrap().get(0).unwrap();
    assert_eq!(got, "c-a-b-a");
    drop(rows);
    let err = bind(&mut s, vec!["a".to_owned().into()]).unwrap_err();
    assert!(
        matches!(err, rusqlite::Error::InvalidParameterCount(1, 3)),
        "{err}"
    );
    let many: Vec<String> = (1..=14).map(|i| format!("${i}")).collect();
    let mut s = c.prepare(&format!("SELECT {}", many.join(" + "))).unwrap();
    bind(&mut s, (1..=14i64).map(Value::from).collect()).unwrap();
    let mut rows = s.raw_query();
    let sum: i64 = rows.next().unwrap().unwrap().get(0).unwrap();
    assert_eq!(sum, 105);
}

fn time(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_479_444 + secs, nanos).unwrap()
}

fn user(org: Uuid, email: &str, totp: bool) -> UserRow {
    UserRow {
        id: Uuid::new_v4(),
        org_id: org,
        email: email.into(),
        name: "Name".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: "owner".into(),
        totp_secret: totp.then(|| vec![1, 2, 3]),
        totp_enabled: totp,
        totp_last_step: totp.then_some(58_000_000),
        created_at: time(0, 123_456_789),
    }
}

fn key(org: Uuid, by: Uuid, lookup: &str, workspace: Option<Uuid>, ends: bool) -> ApiKeyRow {
    ApiKeyRow {
        id: Uuid::new_v4(),
        org_id: org,
        created_by: by,
        workspace_id: workspace,
        name: "key".into(),
        lookup: lookup.into(),
        mac: vec![9; 32],
        pepper_version: 1,
        permissions: "meetings:read meetings:write".into(),
        created_at: time(1, 1),
        last_used_at: None,
        expires_at: ends.then(|| time(86_400, 0)),
        revoked_at: None,
    }
}

fn meeting(org: Uuid, ws: Uuid, owner: Uuid, at: DateTime<Utc>, full: bool) -> MeetingRow {
    MeetingRow {
        id: Uuid::new_v4(),
        org_id: org,
        workspace_id: ws,
        owner_id: owner,
        title: vec![7; 40],
        created_at: at,
        started_at: full.then(|| at + Duration::minutes(5)),
        language: full.then(|| "en".into()),
        transcription: "{}".into(),
        updated_at: full.then(|| at + Duration::hours(1)),
        glossary: full.then(|| vec![3; 12]),
        intelligence: full.then(|| "{\"summary\":true}".into()),
        widget_id: full.then(Uuid::new_v4),
    }
}

#[tokio::test]
async fn every_hot_read_answers_what_sqlx_answers() {
    let dir = tempfile::tempdir().unwrap();
    let url = meetvault_config::DatabaseUrl::sqlite_file(&dir.path().join("m.db"));
    let db = Database::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    assert!(
        db.reader().is_some(),
        "a file database reads through the reader"
    );
    let Database::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    let sqlx = Database::Sqlite(pool.clone(), Arc::new(Readers::new(None)));
    assert!(sqlx.reader().is_none());

    let org = OrgRow {
        id: Uuid::new_v4(),
        name: "Org".into(),
        require_mfa: true,
        created_at: time(0, 0),
        erase_at: Some(1_800_000_000_000),
    };
    let owner = user(org.id, "owner@example.com", true);
    let ws = WorkspaceRow {
        id: Uuid::new_v4(),
        org_id: org.id,
        name: "Default".into(),
        created_at: time(0, 5),
    };
    assert!(
        db.create_org_with_owner(&org, &owner, &ws, false)
            .await
            .unwrap()
    );
    let other_ws = WorkspaceRow {
        id: Uuid::new_v4(),
        org_id: org.id,
        name: "Sales".into(),
        created_at: time(0, 6),
    };
    db.insert_workspace(&other_ws).await.unwrap();
    db.set_workspace_role(org.id, other_ws.id, owner.id, Some("viewer"))
        .await
        .unwrap();

    // Keys: one with every optional empty, one bound, expiring and revoked.
    let plain = key(org.id, owner.id, "mvk_plain000", None, false);
    let bound = key(org.id, owner.id, "mvk_bound000", Some(ws.id), true);
    db.insert_api_key(&plain).await.unwrap();
    db.insert_api_key(&bound).await.unwrap();
    db.revoke_api_key(org.id, bound.id, time(60, 999_999_999))
        .await
        .unwrap();
    for lookup in ["mvk_plain000", "mvk_bound000", "mvk_nothere0"] {
        let (a, b) = (
            db.api_key_with_caller(lookup).await.unwrap(),
            sqlx.api_key_with_caller(lookup).await.unwrap(),
        );
        assert_eq!(a, b, "{lookup}");
        if lookup != "mvk_nothere0" {
            assert!(a.unwrap().1.is_some(), "{lookup}: the caller is read too");
        }
    }
    assert_eq!(
        db.user(org.id, owner.id).await.unwrap(),
        sqlx.user(org.id, owner.id).await.unwrap()
    );
    // The caller's standing (a workspace role) and sessions, with and without their client.
    let standing = db.principal_row(org.id, owner.id).await.unwrap();
    assert_eq!(
        standing,
        sqlx.principal_row(org.id, owner.id).await.unwrap()
    );
    assert_eq!(
        standing.unwrap().workspace_roles().unwrap(),
        [(other_ws.id, "viewer")]
    );
    assert_eq!(
        db.principal_row(org.id, Uuid::new_v4()).await.unwrap(),
        None
    );
    for (hash, client) in [("a".repeat(64), true), ("b".repeat(64), false)] {
        let session = SessionRow {
            id: Uuid::new_v4(),
            org_id: org.id,
            user_id: owner.id,
            created_at: time(10, 10),
            last_seen_at: time(20, 999),
            expires_at: time(604_800, 0),
            ip: client.then(|| "203.0.113.9".into()),
            user_agent: client.then(|| "Mozilla/5.0".into()),
        };
        db.insert_session(&session, &hash).await.unwrap();
        let read = db.session_by_token_hash(&hash).await.unwrap();
        assert_eq!(read, sqlx.session_by_token_hash(&hash).await.unwrap());
        assert_eq!(read, Some(session));
    }
    assert_eq!(
        db.session_by_token_hash(&"c".repeat(64)).await.unwrap(),
        None
    );
    assert!(db.user(org.id, owner.id).await.unwrap().is_some());
    assert_eq!(db.user(org.id, Uuid::new_v4()).await.unwrap(), None);

    // Meetings: bare and full, in two workspaces, a second apart and at the same instant.
    let mut meetings = Vec::new();
    for (i, (w, full)) in [
        (ws.id, false),
        (ws.id, true),
        (other_ws.id, true),
        (ws.id, true),
    ]
    .into_iter()
    .enumerate()
    {
        let at = time(100 + (i as i64).min(2), 500_000_000);
        let m = meeting(org.id, w, owner.id, at, full);
        let people = [
            ParticipantRow {
                id: Uuid::new_v4(),
                org_id: org.id,
                meeting_id: m.id,
                position: 0,
                name: vec![1; 20],
                email: None,
            },
            ParticipantRow {
                id: Uuid::new_v4(),
                org_id: org.id,
                meeting_id: m.id,
                position: 1,
                name: vec![2; 20],
                email: Some(vec![5; 30]),
            },
        ];
        db.insert_meeting(&m, &people[..i % 3], &[]).await.unwrap();
        meetings.push(m);
    }
    let owner_key = UserKeyRow {
        user_id: owner.id,
        org_id: org.id,
        mode: "org".into(),
        org_key_version: Some(1),
        org_wrapped: Some(vec![4; 60]),
        password_wrapped: None,
        kdf_memory_kib: None,
        kdf_iterations: None,
        kdf_parallelism: None,
        kdf_salt: None,
        recovery_wrapped: None,
        public_key: vec![8; 32],
        secret_key_wrapped: vec![6; 72],
        updated_at: time(2, 2),
    };
    assert!(db.insert_user_key(&owner_key).await.unwrap());
    for (i, m) in meetings.iter().enumerate().skip(1) {
        for version in 0..i.min(2) {
            db.add_meeting_key(&MeetingKeyRow {
                meeting_id: m.id,
                version: 0,
                org_id: org.id,
                owner_id: owner.id,
                wrap: if version == 0 { "user" } else { "sealed" }.into(),
                wrapped: vec![version as u8; 48],
                created_at: time(3, version as u32),
            })
            .await
            .unwrap();
        }
    }
    let ids: Vec<Uuid> = meetings.iter().map(|m| m.id).collect();
    for m in &meetings {
        assert_eq!(
            db.meeting(org.id, m.id).await.unwrap(),
            sqlx.meeting(org.id, m.id).await.unwrap()
        );
        assert_eq!(db.meeting(org.id, m.id).await.unwrap().as_ref(), Some(m));
        assert_eq!(
            db.participants(org.id, m.id).await.unwrap(),
            sqlx.participants(org.id, m.id).await.unwrap()
        );
        assert_eq!(
            db.owner_key_with_meeting_keys(org.id, owner.id, m.id)
                .await
                .unwrap(),
            sqlx.owner_key_with_meeting_keys(org.id, owner.id, m.id)
                .await
                .unwrap()
        );
    }
    assert_eq!(
        db.owner_key_with_meeting_keys(org.id, Uuid::new_v4(), ids[0])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.meeting_keys_of(org.id, &ids).await.unwrap(),
        sqlx.meeting_keys_of(org.id, &ids).await.unwrap()
    );
    assert_eq!(db.meeting_keys_of(org.id, &ids).await.unwrap().len(), 5);
    assert_eq!(
        db.user_keys_of(org.id, &[owner.id, Uuid::new_v4()])
            .await
            .unwrap(),
        sqlx.user_keys_of(org.id, &[owner.id, Uuid::new_v4()])
            .await
            .unwrap()
    );

    // Pages: the whole org, one workspace, a window of time, a cursor, a list of workspaces.
    let newest = &meetings[3];
    let query = |f: &dyn Fn(&mut MeetingQuery)| {
        let mut q = MeetingQuery {
            org_id: org.id,
            workspace_id: None,
            within: None,
            from: None,
            to: None,
            before: None,
            limit: 10,
        };
        f(&mut q);
        q
    };
    let queries = [
        query(&|_| {}),
        query(&|q| q.limit = 2),
        query(&|q| q.workspace_id = Some(ws.id)),
        query(&|q| q.within = Some(vec![other_ws.id])),
        query(&|q| q.within = Some(vec![])),
        query(&|q| q.from = Some(time(101, 0))),
        query(&|q| q.to = Some(time(101, 0))),
        query(&|q| q.before = Some((newest.created_at, newest.id))),
    ];
    let mut counts = Vec::new();
    for q in &queries {
        let page = db.meetings_page(q).await.unwrap();
        assert_eq!(page, sqlx.meetings_page(q).await.unwrap(), "{q:?}");
        counts.push(page.len());
    }
    // The cursor also passes the other meeting of the same instant whose id sorts lower.
    let tie = usize::from(meetings[2].id < newest.id);
    assert_eq!(counts, [4, 2, 3, 1, 0, 3, 1, 2 + tie], "the filters filter");
}

/// Inside `one_snapshot` every read sees the database as it was at the first one (a write
/// committed meanwhile through sqlx is not seen); after it, the next read sees the write; the
/// connection comes back to the idle list with its transaction ended — also when the work is
/// dropped half-way — so a checkpoint is never held back by a finished request.
#[tokio::test]
async fn a_snapshot_is_one_read_transaction_ended_with_its_work() {
    let dir = tempfile::tempdir().unwrap();
    let url = meetvault_config::DatabaseUrl::sqlite_file(&dir.path().join("s.db"));
    let db = Database::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    let Database::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    let reader = db.reader().unwrap();
    let count = || -> i64 {
        reader
            .read(|c| c.query_row("SELECT count(*) FROM orgs", [], |r| r.get(0)))
            .unwrap()
    };
    let add = || async {
        sqlx::query("INSERT INTO orgs (id, name, require_mfa, created_at) VALUES ($1, 'o', 0, $2)")
            .bind(Uuid::new_v4())
            .bind(Utc::now())
            .execute(pool)
            .await
            .unwrap();
    };
    assert_eq!(count(), 0);
    let (inside, again) = one_snapshot(async {
        let first = count();
        add().await;
        (first, count())
    })
    .await;
    assert_eq!((inside, again), (0, 0), "one snapshot for the whole work");

    assert_eq!(count(), 1, "a read after the work sees the write");
    // Without a snapshot, each read sees what is committed when it starts.
    add().await;
    assert_eq!(count(), 2);
    assert!(!reader.idle.lock().unwrap().is_empty());

    // Work dropped after its first read: its transaction ends with it.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let other = db.clone();
    let work = tokio::spawn(one_snapshot(async move {
        assert_eq!(count_in(&other), 2);
        let _ = tx.send(());
        std::future::pending::<()>().await;
    }));
    rx.await.unwrap();
    work.abort();
    let _ = work.await;
    // A full checkpoint completes only if no reader holds a snapshot (busy = 0).
    add().await;
    let (busy,): (i64,) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        busy, 0,
        "a dropped snapshot still held its read transaction"
    );

    // A snapshot older than its limit is not read from: the next read takes a fresh one.
    let (first, later) = one_snapshot(async {
        let first = count();
        add().await;
        tokio::time::sleep(SNAPSHOT_MAX_AGE + std::time::Duration::from_millis(50)).await;
        (first, count())
    })
    .await;
    assert_eq!(later, first + 1);
}

fn count_in(db: &Database) -> i64 {
    db.reader()
        .unwrap()
        .read(|c| c.query_row("SELECT count(*) FROM orgs", [], |r| r.get(0)))
        .unwrap()
}
