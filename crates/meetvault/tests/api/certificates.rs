//! Deletion certificates: deleting a meeting answers a certificate that says what went (with
//! counts) and which keys were destroyed; it verifies publicly, through the API and offline
//! with `meetvault certificate verify`, and with tools that are not meetvault's — Trail of
//! Bits' `rfc8785` for the canonical bytes, pyca/cryptography and OpenSSL for the Ed25519
//! signature. Any change to a field, a count, a signature or the proof is caught by the CLI;
//! a row altered in the database (past its trigger) is caught by the API. A deletion cut off
//! after its first step is finished by the retry, certified once.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::encryption::{meeting_uuid, uid};
use crate::helpers::meetvault;

/// A change made to a certificate file.
type Tamper = Box<dyn Fn(&mut Value)>;

/// A meeting with three segments and a participant.
pub(crate) async fn meeting(app: &TestApp, cred: &Cred, title: &str) -> String {
    let r = app
        .send(
            cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": title, "participants": [{"name": "Ada", "email": "ada@example.com"}]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let segs = json!({"segments": [
        {"start_ms": 0, "end_ms": 1000, "speaker": "A", "text": "the merger closes friday"},
        {"start_ms": 1000, "end_ms": 2000, "speaker": "B", "text": "keep it quiet"},
        {"start_ms": 2000, "end_ms": 3000, "speaker": "A", "text": "agreed"}]});
    let r = app
        .send(
            cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(segs),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    id
}

/// A GET that must answer 200, and its JSON body.
async fn get_ok(app: &TestApp, cred: &Cred, path: &str) -> Value {
    let r = app.send(cred, Method::GET, path, None).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.json().await.unwrap()
}

async fn delete(app: &TestApp, cred: &Cred, id: &str) -> Value {
    let r = app
        .send(
            cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn deleted_count(cert: &Value, kind: &str) -> u64 {
    cert["certificate"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {cert}"))["count"]
        .as_u64()
        .unwrap()
}

fn tools_python() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/meetvault-tools/venv/bin/python")
}

/// `meetvault certificate verify FILE [args]`: its exit code and output.
pub(crate) fn cli_verify(file: &Path, args: &[&str]) -> (i32, String) {
    let out = meetvault()
        .args(["certificate", "verify"])
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn deleting_a_meeting_answers_a_certificate_that_verifies_everywhere() {
    let app = TestApp::spawn().await;
    let s = app.register("cert@example.com", "C").await;
    let me = Cred::Session(s.clone());
    let id = meeting(&app, &me, "Project Falcon").await;
    let (org, m) = (uid(&s.org_id), meeting_uuid(&id));
    let versions = app.db().meeting_keys(org, m).await.unwrap().len();
    assert_eq!(versions, 1);

    let cert = delete(&app, &me, &id).await;
    assert_eq!(cert["verified"]["ok"], true, "{cert}");
    assert_eq!(cert["verified"]["hmac_sha256"], true);
    assert_eq!(cert["verified"]["inclusion"], true);
    let body = &cert["certificate"];
    assert_eq!(body["format"], "meetvault.deletion-certificate/v1");
    assert_eq!(body["subject"]["kind"], "meeting");
    assert_eq!(body["subject"]["id"], id.as_str());
    assert_eq!(body["actor"], s.user_id.as_str());
    assert_eq!(deleted_count(&cert, "transcript_segments"), 3);
    assert_eq!(deleted_count(&cert, "participants"), 1);
    assert_eq!(deleted_count(&cert, "meeting"), 1);
    assert_eq!(
        body["keys_destroyed"],
        json!([{"key": format!("meeting:{id}"), "version": 1}])
    );
    let text = body.to_string();
    for content in ["Falcon", "merger", "quiet", "Ada", "ada@example.com"] {
        assert!(!text.contains(content), "{content} in the certificate");
    }
    // Whoever knows the title confirms the subject digest; nobody else learns it from it.
    let salt = hex::decode(body["subject"]["salt"].as_str().unwrap()).unwrap();
    let digest = meetvault_core::certificates::document::subject_digest(
        &salt,
        "meeting",
        &id,
        "Project Falcon",
    );
    assert_eq!(body["subject"]["digest"], digest.as_str());
    // The deletion's audit entry and the certificate's own.
    let audit = get_ok(&app, &me, "/api/v1/audit?action=meeting.delete").await;
    assert_eq!(audit["entries"][0]["seq"], body["audit_seq"]);
    let inclusion = &cert["inclusion"];
    let entry: Value = serde_json::from_str(inclusion["entry"].as_str().unwrap()).unwrap();
    assert_eq!(entry["action"], "certificate.issue");
    assert_eq!(entry["resource"], body["id"]);
    assert_eq!(entry["digest"], cert["digest"]);

    // Public, with no account; the org's routes; deleting again answers the same certificate.
    let cid = body["id"].as_str().unwrap().to_owned();
    let public = get_ok(&app, &Cred::None, &format!("/api/certificates/{cid}")).await;
    assert_eq!(public["certificate"], *body);
    assert_eq!(public["verified"]["ok"], true);
    let org_view = get_ok(&app, &me, &format!("/api/v1/certificates/{cid}")).await;
    assert_eq!(org_view["signatures"], cert["signatures"]);
    let list = get_ok(&app, &me, "/api/v1/certificates").await;
    assert_eq!(list["certificates"][0]["id"], cid.as_str());
    let again = delete(&app, &me, &id).await;
    assert_eq!(again["certificate"], *body, "one certificate per deletion");
    for bad in [
        "/api/certificates/nope",
        "/api/certificates/crt_00000000000000000000000000",
    ] {
        let status = app.send(&Cred::None, Method::GET, bad, None).await.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{bad}: {status}"
        );
    }

    // Peers: rfc8785's canonical bytes, pyca/cryptography's Ed25519 with the published key.
    let vkey = app
        .client
        .get(app.url("/.well-known/meetvault-signing-key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let raw_key = base64::engine::general_purpose::STANDARD
        .decode(vkey.trim().splitn(3, '+').nth(2).unwrap())
        .unwrap()[1..]
        .to_vec();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cert.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&public).unwrap()).unwrap();
    let script = "import sys, json, hashlib, base64, rfc8785\n\
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey\n\
        env = json.load(open(sys.argv[1]))\n\
        canon = rfc8785.dumps(env['certificate'])\n\
        assert hashlib.sha256(canon).hexdigest() == env['digest'], 'digest'\n\
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(sys.argv[2]))\n\
        key.verify(base64.b64decode(env['signatures']['ed25519']), canon)\n\
        open(sys.argv[3], 'wb').write(canon)\n\
        print('ok')";
    let canon_file = dir.path().join("cert.canonical");
    let out = Command::new(tools_python())
        .args(["-c", script])
        .arg(&file)
        .arg(hex::encode(&raw_key))
        .arg(&canon_file)
        .output()
        .expect(
            "the tools virtualenv's python (scripts/deps.sh installs rfc8785 and cryptography)",
        );
    assert!(
        out.status.success(),
        "python: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // OpenSSL, as docs/lifecycle.md shows it.
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(&raw_key);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    std::fs::write(dir.path().join("key.pem"), &pem).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(public["signatures"]["ed25519"].as_str().unwrap())
        .unwrap();
    std::fs::write(dir.path().join("sig.bin"), sig).unwrap();
    let openssl = |input: &Path| {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(dir.path().join("key.pem"))
            .args(["-rawin", "-in"])
            .arg(input)
            .arg("-sigfile")
            .arg(dir.path().join("sig.bin"))
            .output()
            .expect("openssl (scripts/deps.sh)")
    };
    let out = openssl(&canon_file);
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut altered = std::fs::read(&canon_file).unwrap();
    let at = altered.len() / 2;
    altered[at] ^= 1;
    std::fs::write(dir.path().join("altered"), altered).unwrap();
    assert!(!openssl(&dir.path().join("altered")).status.success());

    // The CLI, offline: with the published key in each form, with a saved checkpoint.
    let (code, out) = cli_verify(&file, &["--key", vkey.trim()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified"), "{out}");
    let pem_file = dir.path().join("key.pem");
    let (code, out) = cli_verify(&file, &["--key", pem_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli_verify(&file, &[&format!("--key={pem}")]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli_verify(&file, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("key in the file"), "{out}");
    // The raw key in base64 (it often holds a `+`, which a verifier key uses as separator).
    let raw_b64 = base64::engine::general_purpose::STANDARD.encode(&raw_key);
    let (code, out) = cli_verify(&file, &["--key", &raw_b64]);
    assert_eq!(code, 0, "{out}");
    // Keys whose base64 holds `+` are checked every run, not by luck of the draw.
    let mut plus = public.clone();
    plus["public_key"] = json!("AAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let plus_file = dir.path().join("plus.json");
    std::fs::write(&plus_file, serde_json::to_vec(&plus).unwrap()).unwrap();
    let (code, out) = cli_verify(&plus_file, &[]);
    assert_eq!(code, 1, "a key that is a key but not the signer's: {out}");
    let checkpoint = dir.path().join("checkpoint.txt");
    std::fs::write(
        &checkpoint,
        public["inclusion"]["checkpoint"].as_str().unwrap(),
    )
    .unwrap();
    let (code, out) = cli_verify(
        &file,
        &[
            "--key",
            vkey.trim(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["checks"]["inclusion"], true);

    // Any change is caught: a field, a count, an added field, a signature, the proof.
    let tampers: Vec<(&str, Tamper)> = vec![
        (
            "a count",
            Box::new(|v: &mut Value| v["certificate"]["deleted"][2]["count"] = json!(2)),
        ),
        (
            "the subject",
            Box::new(|v: &mut Value| {
                v["certificate"]["subject"]["id"] = json!("mtg_0000000000000000000000000a")
            }),
        ),
        (
            "the actor",
            Box::new(|v: &mut Value| v["certificate"]["actor"] = json!("system")),
        ),
        (
            "a retained reason",
            Box::new(|v: &mut Value| v["certificate"]["retained"][0]["reason"] = json!("nothing")),
        ),
        (
            "an added field",
            Box::new(|v: &mut Value| v["certificate"]["note"] = json!("x")),
        ),
        (
            "a destroyed key",
            Box::new(|v: &mut Value| v["certificate"]["keys_destroyed"] = json!([])),
        ),
        (
            "the digest",
            Box::new(|v: &mut Value| v["digest"] = json!("00".repeat(32))),
        ),
        (
            "the signature",
            Box::new(|v: &mut Value| {
                let mut sig = base64::engine::general_purpose::STANDARD
                    .decode(v["signatures"]["ed25519"].as_str().unwrap())
                    .unwrap();
                sig[10] ^= 0x40;
                v["signatures"]["ed25519"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(sig));
            }),
        ),
        (
            "the proof",
            Box::new(|v: &mut Value| {
                let entry = v["inclusion"]["entry"]
                    .as_str()
                    .unwrap()
                    .replace("certificate.issue", "certificate.issuE");
                v["inclusion"]["entry"] = json!(entry);
            }),
        ),
        (
            "the root",
            Box::new(|v: &mut Value| v["inclusion"]["root_hash"] = json!("11".repeat(32))),
        ),
    ];
    for (what, tamper) in tampers {
        let mut v = public.clone();
        tamper(&mut v);
        let bad = dir.path().join("tampered.json");
        std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
        let (code, out) = cli_verify(&bad, &["--key", vkey.trim()]);
        assert_eq!(code, 1, "{what} changed, yet: {out}");
        assert!(out.contains("not verified"), "{what}: {out}");
    }
    // A certificate signed by another key does not verify with the published one.
    let other = meetvault_crypto::note::NoteSigner::generate("other").unwrap();
    let (code, out) = cli_verify(&file, &["--key", &other.verifier().to_vkey()]);
    assert_eq!(code, 1, "{out}");
    // Not a certificate, not a key: usage errors.
    std::fs::write(dir.path().join("junk.json"), b"{\"hello\": 1}").unwrap();
    assert_eq!(cli_verify(&dir.path().join("junk.json"), &[]).0, 2);
    assert_eq!(cli_verify(&file, &["--key", "not-a-key"]).0, 2);
}

#[tokio::test]
async fn an_altered_row_is_caught_and_issued_certificates_cannot_change() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let s = app.register("tamper@example.com", "T").await;
    let me = Cred::Session(s.clone());
    let id = meeting(&app, &me, "Quarterly").await;
    let cert = delete(&app, &me, &id).await;
    let cid = cert["certificate"]["id"].as_str().unwrap().to_owned();
    let row = app
        .db()
        .certificate_of("meeting", meeting_uuid(&id))
        .await
        .unwrap()
        .unwrap();
    let altered = row
        .body
        .clone()
        .unwrap()
        .replace("\"count\":3", "\"count\":0");
    assert_ne!(altered, row.body.clone().unwrap());
    let update = format!(
        "UPDATE certificates SET body = '{}' WHERE state = 'issued'",
        altered.replace('\'', "''")
    );
    let delete_refused = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => sqlx::raw_sql("DELETE FROM certificates")
            .execute(p)
            .await
            .is_err(),
        meetvault_store::Database::Postgres(p) => sqlx::raw_sql("DELETE FROM certificates")
            .execute(p)
            .await
            .is_err(),
    };
    assert!(delete_refused, "a certificate was withdrawn");
    // The trigger refuses it; someone with the database's own rights drops the trigger first.
    let (refused, dropped) = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => (
            sqlx::raw_sql(&update).execute(p).await.is_err(),
            sqlx::raw_sql(&format!(
                "DROP TRIGGER certificates_issued_no_update; {update}"
            ))
            .execute(p)
            .await
            .map(drop),
        ),
        meetvault_store::Database::Postgres(p) => (
            sqlx::raw_sql(&update).execute(p).await.is_err(),
            sqlx::raw_sql(&format!(
                "DROP TRIGGER certificates_keep ON certificates; {update}"
            ))
            .execute(p)
            .await
            .map(drop),
        ),
    };
    assert!(refused, "an issued certificate was updated");
    dropped.unwrap();
    let view = get_ok(&app, &Cred::None, &format!("/api/certificates/{cid}")).await;
    assert_eq!(view["verified"]["ok"], false, "{view}");
    assert_eq!(view["verified"]["digest"], false);
    assert_eq!(view["verified"]["ed25519"], false);
    assert_eq!(view["verified"]["hmac_sha256"], false);
    assert_eq!(view["verified"]["inclusion"], false);
    // Another org sees none of it on its own routes.
    let other = Cred::Session(app.register("other@example.com", "O").await);
    assert_eq!(
        app.send(
            &other,
            Method::GET,
            &format!("/api/v1/certificates/{cid}"),
            None
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    let list = get_ok(&app, &other, "/api/v1/certificates").await;
    assert_eq!(list["certificates"], json!([]));
}

#[tokio::test]
async fn a_deletion_cut_off_after_it_began_is_finished_and_certified_once() {
    let app = TestApp::spawn().await;
    let s = app.register("cutoff@example.com", "K").await;
    let me = Cred::Session(s.clone());
    let first = meeting(&app, &me, "First").await;
    let second = meeting(&app, &me, "Second").await;
    for id in [&first, &second] {
        app.core()
            .begin_meeting_deletion_for_tests(uid(&s.org_id), meeting_uuid(id))
            .await
            .unwrap();
    }
    // The meeting is still whole: only the pending certificate exists, and nobody sees it.
    assert_eq!(
        app.send(&me, Method::GET, &format!("/api/v1/meetings/{first}"), None)
            .await
            .status(),
        StatusCode::OK
    );
    let list = get_ok(&app, &me, "/api/v1/certificates").await;
    assert_eq!(list["certificates"], json!([]));
    // The user retries the first; the sweeper finishes the second.
    let cert = delete(&app, &me, &first).await;
    assert_eq!(cert["verified"]["ok"], true);
    assert_eq!(deleted_count(&cert, "transcript_segments"), 3);
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.core()
            .finish_pending_deletions_for_tests()
            .await
            .unwrap(),
        0
    );
    for id in [&first, &second] {
        assert_eq!(
            app.send(&me, Method::GET, &format!("/api/v1/meetings/{id}"), None)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    let second_cert = delete(&app, &me, &second).await;
    assert_eq!(second_cert["certificate"]["actor"], "system");
    assert_eq!(second_cert["verified"]["ok"], true);
    let audit = get_ok(&app, &me, "/api/v1/audit?action=certificate.issue").await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2, "{audit}");

    // Cut off later, just before signing: everything is deleted and audited, and the
    // certificate to sign waits on the pending row. The retry signs those very bytes and
    // audits the deletion no second time.
    let third = meeting(&app, &me, "Third").await;
    let m3 = meeting_uuid(&third);
    app.core()
        .begin_meeting_deletion_for_tests(uid(&s.org_id), m3)
        .await
        .unwrap();
    app.core()
        .prepare_meeting_certificate_for_tests(m3)
        .await
        .unwrap();
    assert_eq!(
        app.send(&me, Method::GET, &format!("/api/v1/meetings/{third}"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let row = app
        .db()
        .certificate_of("meeting", m3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "pending");
    let draft: Value = serde_json::from_str(row.draft.as_deref().unwrap()).unwrap();
    let third_cert = delete(&app, &me, &third).await;
    assert_eq!(third_cert["certificate"], draft["certificate"]);
    assert_eq!(third_cert["verified"]["ok"], true);
    let deletes = get_ok(&app, &me, "/api/v1/audit?action=meeting.delete").await;
    let of_third = deletes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"] == third.as_str())
        .count();
    assert_eq!(of_third, 1, "{deletes}");
}
