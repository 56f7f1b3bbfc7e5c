//! meetvault's Signature Version 4 against botocore's (the AWS SDK for Python, in the tools
//! virtualenv scripts/deps.sh makes for moto), on the bodiless S3 requests meetvault signs
//! itself: regions, ports, session tokens, prefixes with spaces, slashes, unicode and reserved
//! characters, several query parameters — signed at the same moment, the same `Authorization`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use chrono::TimeZone as _;
use meetvault_kms::sigv4::{SigningInput, canonical_query, sign};

fn python() -> std::path::PathBuf {
    let tools = std::env::var_os("MEETVAULT_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/meetvault-tools")
        });
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/deps.sh makes the tools virtualenv (with moto, so botocore)",
        python.display()
    );
    python
}

const BOTOCORE: &str = r#"
import json, sys, datetime
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

case = json.loads(sys.stdin.read())
fixed = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")

class FixedClock(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return fixed
    @classmethod
    def now(cls, tz=None):
        return fixed.replace(tzinfo=tz) if tz else fixed

botocore.auth.datetime.datetime = FixedClock
creds = Credentials(case["key"], case["secret"], case.get("token"))
url = "http://" + case["host"] + case["path"] + ("?" + case["query"] if case["query"] else "")
req = AWSRequest(method=case["method"], url=url, headers={"x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
botocore.auth.S3SigV4Auth(creds, "s3", case["region"]).add_auth(req)
print(req.headers["Authorization"])
"#;

fn botocore(case: &serde_json::Value) -> String {
    use std::io::Write as _;
    let mut child = Command::new(python())
        .args(["-c", BOTOCORE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// (region, host, path, query, session token)
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    Option<&'a str>,
);

#[test]
fn botocore_signs_the_same_requests_the_same_way() {
    let cases: &[Case<'_>] = &[
        (
            "us-east-1",
            "127.0.0.1:9000",
            "/acme-archive",
            &[
                ("uploads", ""),
                ("prefix", "calls/meetings/mtg_1/recordings/rec_2.wav"),
            ],
            None,
        ),
        (
            "eu-central-1",
            "acme.s3.eu-central-1.amazonaws.com",
            "/",
            &[("uploads", ""), ("prefix", "a b/ü€/~x*y'(z)!")],
            Some("FwoGZXIvYXdzEJr//////////wEaDOp+/=token"),
        ),
        (
            "eu-west-3",
            "minio.internal.example:443",
            "/bucket.with.dots",
            &[
                ("uploads", ""),
                ("max-uploads", "1000"),
                ("key-marker", "k&=+%"),
            ],
            None,
        ),
        (
            "us-west-2",
            "s3.us-west-2.amazonaws.com",
            "/b",
            &[],
            Some("t"),
        ),
    ];
    for (i, (region, host, path, query, token)) in cases.iter().enumerate() {
        let time = chrono::Utc
            .with_ymd_and_hms(2026, 12, 3 + i as u32, i as u32, 15, 30)
            .unwrap();
        let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
        let secret = format!("wJalrXUtnFEMI/K7MDENG+bPxRfiCY{i}EXAMPLEKEY");
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mut headers = vec![
            ("host", *host),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-content-sha256", empty),
        ];
        if let Some(t) = token {
            headers.push(("x-amz-security-token", t));
        }
        let ours = sign(&SigningInput {
            method: "GET",
            path,
            query,
            headers: &headers,
            payload: b"",
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: &secret,
            region,
            service: "s3",
            time,
        });
        let ours = &ours;
        let theirs = botocore(&serde_json::json!({
            "method": "GET",
            "host": host,
            "path": path,
            "query": canonical_query(query),
            "amz_date": amz_date,
            "key": "AKIAIOSFODNN7EXAMPLE",
            "secret": secret,
            "token": token,
            "region": region,
        }));
        assert_eq!(ours, &theirs, "case {i}: {host}{path}?{query:?}");
    }
}
