//! Structured logs: one JSON object per line (or a readable line for terminals), with every
//! field, span field and nested JSON value passed through the redaction rules in [`redact`].
//! The layer is the only writer of log output in meetvault, so no path around it exists.

pub mod redact;

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Id, Subscriber, span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Pretty,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "invalid log filter `{filter}`: {message} (try `info`, `debug` or `meetvault_http=debug,info`)"
    )]
    Filter { filter: String, message: String },
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Checks a filter string without installing anything.
pub fn parse_filter(filter: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(filter)
        .map_err(|e| TelemetryError::Filter {
            filter: filter.to_owned(),
            message: e.to_string(),
        })
}

/// Where log lines go: stdout for the server, stderr for commands whose stdout is their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

/// Installs the redacting logger for the process.
pub fn init(filter: &str, format: Format, output: Output) -> Result<(), TelemetryError> {
    let filter = parse_filter(filter)?;
    let result = match output {
        Output::Stdout => tracing_subscriber::registry()
            .with(RedactingLayer::new(std::io::stdout, format).with_filter(filter))
            .try_init(),
        Output::Stderr => tracing_subscriber::registry()
            .with(RedactingLayer::new(std::io::stderr, format).with_filter(filter))
            .try_init(),
    };
    result.map_err(|_| TelemetryError::AlreadyInstalled)
}

/// A tracing layer that formats events itself so that redaction cannot be bypassed.
#[derive(Debug)]
pub struct RedactingLayer<W> {
    writer: W,
    format: Format,
}

impl<W> RedactingLayer<W> {
    pub fn new(writer: W, format: Format) -> Self {
        Self { writer, format }
    }
}

/// Span fields, already redacted, kept in the span's extensions.
struct SpanFields(Map<String, Value>);

struct Collector<'a>(&'a mut Map<String, Value>);

impl Collector<'_> {
    fn put(&mut self, field: &Field, text: &str) {
        let value = if field.name() == "message" {
            Value::String(redact::scrub_text(text))
        } else {
            redact::redact_value(field.name(), text)
        };
        self.0.insert(field.name().to_owned(), value);
    }

    fn put_plain(&mut self, field: &Field, value: Value) {
        let value = if redact::is_sensitive_key(field.name()) {
            Value::String(redact::REDACTED.to_owned())
        } else {
            value
        };
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for Collector<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, &format!("{value:?}"));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole source chain: the detail of an internal error belongs in the log.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(text, ": {s}");
            source = s.source();
        }
        self.put(field, &text);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put_plain(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put_plain(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put_plain(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put_plain(field, value.into());
    }
}

impl<S, W> Layer<S> for RedactingLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut Collector(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
                values.record(&mut Collector(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        // Outer spans first so inner ones and the event's own fields win.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(f)) = span.extensions().get::<SpanFields>() {
                    fields.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut Collector(&mut fields));
        let meta = event.metadata();
        let line = match self.format {
            Format::Json => json_line(meta, fields),
            Format::Pretty => pretty_line(meta, fields),
        };
        // A failing log sink must never take a request down with it.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn json_line(meta: &tracing::Metadata<'_>, fields: Map<String, Value>) -> String {
    let mut obj = Map::new();
    obj.insert("timestamp".into(), now().into());
    obj.insert("level".into(), meta.level().as_str().into());
    obj.insert("target".into(), meta.target().into());
    obj.extend(fields);
    let mut line = Value::Object(obj).to_string();
    line.push('\n');
    line
}

fn pretty_line(meta: &tracing::Metadata<'_>, mut fields: Map<String, Value>) -> String {
    let message = match fields.remove("message") {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut line = format!("{} {:>5} {}: {message}", now(), meta.level(), meta.target());
    for (k, v) in fields {
        let _ = write!(line, " {k}={v}");
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn capture(format: Format, f: impl FnOnce()) -> String {
        let buf = Buffer::default();
        let subscriber =
            tracing_subscriber::registry().with(RedactingLayer::new(buf.clone(), format));
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn secrets_in_fields_spans_bodies_and_header_maps_never_reach_the_output() {
        for format in [Format::Json, Format::Pretty] {
            let out = capture(format, || {
                let span = tracing::info_span!(
                    "request",
                    request_id = "req-1",
                    authorization = "Bearer span-secret"
                );
                let _g = span.enter();
                let headers: std::collections::BTreeMap<&str, &str> = [
                    ("cookie", "sid=cookie-secret"),
                    ("x-api-key", "header-secret"),
                    ("accept", "*/*"),
                ]
                .into();
                tracing::info!(
                    password = "field-secret",
                    api_key = %"display-secret",
                    body = r#"{"a":{"b":[{"private_key":"nested-secret"}]},"token":"tok-secret"}"#,
                    headers = ?headers,
                    "login for user with password=message-secret"
                );
            });
            for secret in [
                "span-secret",
                "field-secret",
                "display-secret",
                "nested-secret",
                "tok-secret",
                "cookie-secret",
                "header-secret",
                "message-secret",
            ] {
                assert!(!out.contains(secret), "{format:?}: {secret} leaked: {out}");
            }
            assert!(out.contains("req-1") && out.contains("*/*"), "{out}");
        }
    }

    #[test]
    fn json_lines_are_objects_with_level_target_and_fields() {
        let out = capture(Format::Json, || tracing::warn!(status = 503_u64, "slow"));
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "slow");
        assert_eq!(v["status"], 503);
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_bad_filter_is_a_clear_error() {
        let err = parse_filter("info,[=").unwrap_err().to_string();
        assert!(err.contains("invalid log filter"), "{err}");
    }
}
