//! An SMTP sink on loopback for tests: speaks just enough SMTP for meetvault's mailer
//! (greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no AUTH, no TLS) and keeps every
//! message it is given, so a test can wait for the one sent to an address and read its subject
//! and body. Point `email.smtp_url` (or `MEETVAULT_EMAIL__SMTP_URL`) at [`SmtpSink::url`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`), without angle brackets.
    pub recipients: Vec<String>,
    /// The message after `DATA`, dot-unstuffed, CRLF line ends, without the final `.` line.
    pub data: String,
}

impl Message {
    /// A header's value, unfolded (the first one of that name; names match case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, value)) = line.split_once(':')
                && n.trim().eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }

    /// The `Subject:` header, RFC 2047 encoded words decoded.
    pub fn subject(&self) -> String {
        decode_words(&self.header("subject").unwrap_or_default())
    }

    /// The body, its transfer encoding (quoted-printable, base64, 7bit/8bit) undone and line
    /// ends made `\n`.
    pub fn body(&self) -> String {
        let raw = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let encoding = self
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(raw),
            "base64" => {
                let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("a base64 body decodes")
            }
            _ => raw.as_bytes().to_vec(),
        };
        String::from_utf8(bytes)
            .expect("the body is UTF-8")
            .replace("\r\n", "\n")
    }
}

#[derive(Debug, Default)]
struct State {
    /// Each message with whether `wait_for` has handed it out.
    messages: Vec<(Message, bool)>,
}

/// The running sink; stops listening when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on `127.0.0.1:0`; each connection is served on its own task.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the SMTP sink on loopback");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(Notify::new());
        let (s, n) = (state.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, n) = (s.clone(), n.clone());
                tokio::spawn(async move {
                    // A client that hangs up mid-session is not the sink's failure.
                    let _ = serve(stream, s, n).await;
                });
            }
        });
        Self {
            addr,
            state,
            arrived,
            task,
        }
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, which meetvault accepts for loopback only.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        let state = self.state.lock().unwrap();
        state.messages.iter().map(|(m, _)| m.clone()).collect()
    }

    /// The first message to `to` (an envelope recipient, case-insensitive) not handed out
    /// before; waits for it up to `timeout`, then panics naming what did arrive.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Message {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state.lock().unwrap();
                let found = state.messages.iter_mut().find(|(m, taken)| {
                    !*taken && m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to))
                });
                if let Some((message, taken)) = found {
                    *taken = true;
                    return message.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen: Vec<_> = self
                    .messages()
                    .into_iter()
                    .map(|m| (m.subject(), m.recipients))
                    .collect();
                panic!(
                    "no email to {to} reached the SMTP sink within {timeout:?}; it received \
                     (subject, recipients): {seen:?}"
                );
            }
        }
    }
}

/// One SMTP session: commands until QUIT or the client hangs up.
async fn serve(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 meetvault-smtp-sink ESMTP\r\n")
        .await?;
    let mut mail_from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-meetvault-smtp-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 meetvault-smtp-sink\r\n",
            "MAIL" => {
                mail_from = Some(path_of(command));
                recipients.clear();
                b"250 OK\r\n"
            }
            "RCPT" if mail_from.is_some() => {
                recipients.push(path_of(command));
                b"250 OK\r\n"
            }
            "RCPT" => b"503 MAIL first\r\n",
            "DATA" if recipients.is_empty() => b"503 RCPT first\r\n",
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let data = read_data(&mut lines).await?;
                let message = Message {
                    mail_from: mail_from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                };
                state.lock().unwrap().messages.push((message, false));
                arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "RSET" => {
                mail_from = None;
                recipients.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// `MAIL FROM:<a@b> BODY=8BITMIME` → `a@b`.
fn path_of(command: &str) -> String {
    let after = command.split_once(':').map(|(_, p)| p).unwrap_or("");
    let path = after.trim_start();
    match path.strip_prefix('<').and_then(|p| p.split_once('>')) {
        Some((inner, _)) => inner.to_owned(),
        None => path.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

/// Lines up to the lone `.`, dot-unstuffed; the CRLF before the `.` belongs to the terminator.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            if data.ends_with("\r\n") {
                data.truncate(data.len() - 2);
            }
            return Ok(data);
        }
        data.push_str(text.strip_prefix('.').unwrap_or(text));
        data.push_str("\r\n");
    }
}

/// Quoted-printable (RFC 2045): `=XX` is a byte, `=` at a line end joins the lines.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            let byte = (bytes[j] == b'=')
                .then(|| line.get(j + 1..j + 3))
                .flatten()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match byte {
                Some(b) => {
                    out.push(b);
                    j += 3;
                }
                None => {
                    out.push(bytes[j]);
                    j += 1;
                }
            }
        }
        if !soft && lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value decoded;
/// whitespace between two encoded words dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let Some(word) = encoded_word(from) else {
            out.push_str(before);
            out.push_str("=?");
            rest = &from[2..];
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&word.0);
        rest = &from[word.1..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `text`: its decoded text and its length.
fn encoded_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let (payload, _) = inner.split_once("?=")?;
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + payload.len() + 2;
    let bytes = match encoding {
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        "q" | "Q" => decode_quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    Some((String::from_utf8(bytes).ok()?, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_encoded_words_decode() {
        assert_eq!(
            decode_quoted_printable("Gr=C3=BC=C3=9Fe, a long=\r\n line\r\nnext"),
            "Grüße, a long line\r\nnext".as_bytes()
        );
        assert_eq!(
            decode_words("=?utf-8?b?R3LDvMOfZQ==?= =?utf-8?q?_aus_Berlin?= !"),
            "Grüße aus Berlin !"
        );
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn headers_unfold_and_paths_lose_their_brackets() {
        let m = Message {
            mail_from: String::new(),
            recipients: vec![],
            data: "Subject: a\r\n b\r\nTo: x@example.com\r\n\r\nbody\r\n".into(),
        };
        assert_eq!(m.header("subject").as_deref(), Some("a b"));
        assert_eq!(m.body(), "body\n");
        assert_eq!(path_of("MAIL FROM:<a@b.c> BODY=8BITMIME"), "a@b.c");
        assert_eq!(path_of("RCPT TO: <x@y.z>"), "x@y.z");
    }
}
