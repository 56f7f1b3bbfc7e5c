//! Outbound email as an operator checks it: `meetvault email test` through an SMTP server
//! (the loopback sink), into the log when none is configured, and the refusals — a bad
//! address, plain SMTP to a remote host, a server that is not there.

use std::process::Output;
use std::time::Duration;

use meetvault_test_support::smtp::SmtpSink;

use crate::helpers::meetvault;

/// `meetvault email test --to TO [extra…]` in a fresh directory, off the async runtime (the
/// sink answers on it meanwhile).
async fn email_test(to: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = meetvault();
    cmd.args(["email", "test", "--to", to])
        .args(extra)
        .current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || {
        let out = cmd.output().unwrap();
        drop(dir);
        out
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn email_test_sends_a_message_through_the_configured_smtp_server() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let env = [("MEETVAULT_EMAIL__SMTP_URL", url.as_str())];
    let out = email_test("someone@example.com", &[], &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("sent the test message to someone@example.com")
            && stdout.contains(&sink.addr.to_string()),
        "{stdout}"
    );

    let message = sink
        .wait_for("someone@example.com", Duration::from_secs(10))
        .await;
    assert_eq!(message.recipients, ["someone@example.com"]);
    assert_eq!(message.mail_from, "no-reply@localhost");
    assert_eq!(message.subject(), "meetvault test email");
    let body = message.body();
    assert!(
        body.contains("This is a test message from meetvault"),
        "{body}"
    );
    assert!(
        message
            .header("from")
            .is_some_and(|f| f.contains("<no-reply@localhost>")),
        "{:?}",
        message.header("from")
    );
    assert!(
        message
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        message.header("content-type")
    );

    // The same as JSON, for scripts.
    let out = email_test("Someone@Example.com", &["--json"], &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sent"], true, "{report}");
    assert_eq!(report["mode"], "smtp", "{report}");
    assert_eq!(report["server"], sink.addr.to_string(), "{report}");
    let second = sink
        .wait_for("someone@example.com", Duration::from_secs(10))
        .await;
    assert_eq!(second.subject(), "meetvault test email");
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn without_an_smtp_server_the_test_message_goes_to_the_log() {
    let out = email_test("someone@example.com", &[], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("no SMTP server is configured") && stdout.contains("written to the log"),
        "{stdout}"
    );
    let log = text(&out.stderr);
    assert!(
        log.contains("meetvault test email") && log.contains("someone@example.com"),
        "the whole message is in the log: {log}"
    );
    assert!(
        log.contains("email.smtp_url is not set"),
        "the log says why: {log}"
    );
}

#[tokio::test]
async fn a_bad_address_and_remote_plain_smtp_are_refused_clearly() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let out = email_test(
        "not-an-address",
        &[],
        &[("MEETVAULT_EMAIL__SMTP_URL", url.as_str())],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("--to") && err.contains("is not an email address"),
        "{err}"
    );
    assert!(sink.messages().is_empty(), "nothing was sent");

    let remote = "smtp://mv:s3cret-8841@mail.example.com:25";
    let out = email_test(
        "someone@example.com",
        &[],
        &[("MEETVAULT_EMAIL__SMTP_URL", remote)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("email.smtp_url"), "{err}");
    assert!(
        err.contains("smtps://") && err.contains("?tls=required"),
        "says what to use instead: {err}"
    );
    assert!(!err.contains("s3cret-8841"), "the password leaked: {err}");
}

#[tokio::test]
async fn a_server_that_is_not_there_fails_the_command_saying_what_to_check() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://mv:s3cret-5120@127.0.0.1:{port}");
    let out = email_test(
        "someone@example.com",
        &[],
        &[("MEETVAULT_EMAIL__SMTP_URL", url.as_str())],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("was not sent") && err.contains("email.smtp_url"),
        "{err}"
    );
    assert!(!err.contains("s3cret-5120"), "the password leaked: {err}");
}
