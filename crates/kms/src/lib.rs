//! A minimal AWS KMS client: create and describe keys, generate AES-256 data keys, encrypt and
//! decrypt small payloads under an encryption context. It speaks the KMS JSON protocol over HTTPS
//! (plain HTTP only to a loopback test server) and signs each request with [`sigv4`], its own
//! SigV4 implementation, so it needs no AWS SDK.
//!
//! What it owns: the wire protocol, request signing, and turning KMS's answers into
//! [`KmsError`]s that say what to do next. What it leaves to the caller: which key to use, where
//! the credentials come from (it reads no environment, profile or instance metadata), caching of
//! data keys, and retries.
//!
//! It never logs, and never puts key material, plaintext, the secret access key or the session
//! token into an error, a `Debug` output or anything else it returns other than the
//! plaintext-carrying values the caller asked for ([`DataKey::plaintext`], [`AwsKms::decrypt`]).
//! Those come back in [`Zeroizing`] buffers. Copies inside the HTTP stack's own buffers are
//! outside its reach and are not wiped.

pub mod sigv4;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;
use zeroize::Zeroizing;

/// How long to wait for a TCP (and TLS) connection to the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request, response body included, may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest service error message kept; the rest is cut.
const MAX_MESSAGE_CHARS: usize = 500;

/// The encryption context: non-secret key-value pairs bound to a ciphertext, which decryption
/// must present again, exactly.
pub type EncryptionContext = BTreeMap<String, String>;

/// Where and as whom to reach KMS.
#[derive(Clone)]
pub struct AwsKmsSettings {
    /// The KMS endpoint; `https://kms.{region}.amazonaws.com` when `None`.
    pub endpoint: Option<Url>,
    /// The AWS region, e.g. `eu-west-1`; part of every signature.
    pub region: String,
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// The session token of temporary credentials, if any.
    pub session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AwsKmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsSettings")
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A KMS client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct AwsKms {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    endpoint: Url,
    /// The `Host` header: the endpoint's host, with its port when not the scheme's default.
    host: String,
    region: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("AwsKms")
            .field("endpoint", &inner.endpoint.as_str())
            .field("region", &inner.region)
            .field("access_key_id", &inner.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &inner.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What [`AwsKms::describe_key`] reports about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id (a UUID for customer keys).
    pub key_id: String,
    /// The key's ARN.
    pub arn: String,
    /// Whether the key may be used for cryptographic operations.
    pub enabled: bool,
}

/// A fresh AES-256 data key: the plaintext to use now, the ciphertext to store.
pub struct DataKey {
    /// The key itself; wiped when dropped. Never store it.
    pub plaintext: Zeroizing<[u8; 32]>,
    /// The key encrypted under the KMS key; give it to [`AwsKms::decrypt`] to get `plaintext`
    /// back.
    pub ciphertext: Vec<u8>,
    /// The ARN of the KMS key that encrypted it, as KMS returned it.
    pub key_id: String,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"<redacted>")
            .field(
                "ciphertext",
                &format_args!("<{} bytes>", self.ciphertext.len()),
            )
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// Why a KMS call failed. No message contains key material, plaintext or credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// The settings cannot work; fix them and create the client again.
    #[error("invalid KMS settings: {0}")]
    Config(String),
    /// No connection, or no answer in time; the message names the endpoint.
    #[error("cannot reach KMS: {0}")]
    Unreachable(String),
    /// KMS answered with an error. `code` is the AWS error type without its namespace.
    #[error("KMS refused the request: {code}: {message} ({})", service_hint(.code))]
    Service {
        /// The AWS error type, e.g. `NotFoundException`.
        code: String,
        /// KMS's own explanation, possibly empty.
        message: String,
    },
    /// The endpoint answered with something that is not the KMS response expected.
    #[error("unexpected response from KMS: {0}; check that the endpoint is an AWS KMS endpoint")]
    Malformed(String),
}

/// What to do about a KMS error type.
fn service_hint(code: &str) -> &'static str {
    match code {
        "NotFoundException" => "check the key id or alias and that it exists in this region",
        "InvalidCiphertextException" => {
            "the ciphertext is damaged, or the encryption context differs from the one it was \
             encrypted under"
        }
        "IncorrectKeyException" => "the ciphertext was encrypted under a different KMS key",
        "AccessDeniedException" => {
            "the credentials are not allowed this operation on this key: check the IAM and key \
             policies, or the key id given for decryption"
        }
        "DisabledException" => "the key is disabled: enable it in KMS",
        "KMSInvalidStateException" => "the key is pending deletion or import: check its state",
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "InvalidClientTokenId" => {
            "check the access key id, secret access key, session token and region"
        }
        "ExpiredTokenException" => "the session token has expired: get fresh credentials",
        "ThrottlingException" | "LimitExceededException" => "slow down and retry later",
        "KMSInternalException" | "DependencyTimeoutException" | "InternalFailure" => {
            "a KMS-side failure: retry later"
        }
        _ => "see the AWS KMS API reference for this error",
    }
}

impl AwsKms {
    /// Checks the settings and builds the client; nothing is sent until the first call.
    ///
    /// The endpoint must be `https`, or `http` on a loopback address (a local test server), with
    /// no path, query or credentials in it.
    pub fn new(settings: AwsKmsSettings) -> Result<Self, KmsError> {
        let AwsKmsSettings {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            session_token,
        } = settings;

        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(KmsError::Config(format!(
                "region {region:?} is not an AWS region name such as eu-west-1"
            )));
        }
        if access_key_id.trim().is_empty() {
            return Err(KmsError::Config(
                "the access key id is empty: set the AWS access key id".to_owned(),
            ));
        }
        if secret_access_key.trim().is_empty() {
            return Err(KmsError::Config(
                "the secret access key is empty: set the AWS secret access key".to_owned(),
            ));
        }
        if session_token.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(KmsError::Config(
                "the session token is set but empty: set it, or leave it out".to_owned(),
            ));
        }

        let endpoint = match endpoint {
            Some(url) => url,
            None => Url::parse(&format!("https://kms.{region}.amazonaws.com/"))
                .map_err(|e| KmsError::Config(format!("no default endpoint for {region}: {e}")))?,
        };
        let host = check_endpoint(&endpoint)?;

        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A signed request must go to the host it was signed for, and nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KmsError::Config(format!("cannot set up the HTTP client: {e}")))?;

        Ok(Self {
            inner: Arc::new(Inner {
                client,
                endpoint,
                host,
                region,
                access_key_id,
                secret_access_key,
                session_token,
            }),
        })
    }

    /// Creates a symmetric encryption key and returns its key id.
    pub async fn create_key(&self, description: &str) -> Result<String, KmsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            description: &'a str,
        }
        let response: KeyMetadataResponse =
            self.call("CreateKey", &Request { description }).await?;
        Ok(response.key_metadata.key_id)
    }

    /// Reports a key's id, ARN and whether it is enabled.
    pub async fn describe_key(&self, key_id: &str) -> Result<KeyInfo, KmsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            key_id: &'a str,
        }
        let response: KeyMetadataResponse = self.call("DescribeKey", &Request { key_id }).await?;
        let metadata = response.key_metadata;
        Ok(KeyInfo {
            key_id: metadata.key_id,
            arn: metadata.arn,
            enabled: metadata.enabled,
        })
    }

    /// Generates an AES-256 data key under `key_id`, bound to `context`.
    pub async fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            key_id: &'a str,
            key_spec: &'a str,
            #[serde(skip_serializing_if = "context_is_empty")]
            encryption_context: &'a EncryptionContext,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Response {
            ciphertext_blob: String,
            #[serde(deserialize_with = "zeroizing_string")]
            plaintext: Zeroizing<String>,
            key_id: String,
        }
        let response: Response = self
            .call(
                "GenerateDataKey",
                &Request {
                    key_id,
                    key_spec: "AES_256",
                    encryption_context: context,
                },
            )
            .await?;
        let plaintext = decode_secret(&response.plaintext, "GenerateDataKey")?;
        if plaintext.len() != 32 {
            return Err(KmsError::Malformed(format!(
                "GenerateDataKey returned a {}-byte key where AES_256 means 32 bytes",
                plaintext.len()
            )));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&plaintext);
        Ok(DataKey {
            plaintext: key,
            ciphertext: decode_blob(&response.ciphertext_blob, "GenerateDataKey")?,
            key_id: response.key_id,
        })
    }

    /// Encrypts `plaintext` (at most 4096 bytes, KMS's limit) under `key_id`, bound to
    /// `context`, and returns the ciphertext.
    pub async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            key_id: &'a str,
            plaintext: &'a str,
            #[serde(skip_serializing_if = "context_is_empty")]
            encryption_context: &'a EncryptionContext,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Response {
            ciphertext_blob: String,
        }
        let encoded = Zeroizing::new(BASE64.encode(plaintext));
        let response: Response = self
            .call(
                "Encrypt",
                &Request {
                    key_id,
                    plaintext: &encoded,
                    encryption_context: context,
                },
            )
            .await?;
        decode_blob(&response.ciphertext_blob, "Encrypt")
    }

    /// Decrypts `ciphertext`, which must have been made under `context`. With `key_id`, KMS also
    /// checks that the ciphertext belongs to that key.
    pub async fn decrypt(
        &self,
        ciphertext: &[u8],
        key_id: Option<&str>,
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            ciphertext_blob: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            key_id: Option<&'a str>,
            #[serde(skip_serializing_if = "context_is_empty")]
            encryption_context: &'a EncryptionContext,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Response {
            #[serde(deserialize_with = "zeroizing_string")]
            plaintext: Zeroizing<String>,
        }
        let blob = BASE64.encode(ciphertext);
        let response: Response = self
            .call(
                "Decrypt",
                &Request {
                    ciphertext_blob: &blob,
                    key_id,
                    encryption_context: context,
                },
            )
            .await?;
        decode_secret(&response.plaintext, "Decrypt")
    }

    /// Sends one signed `TrentService.<action>` call and parses the answer.
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        action: &str,
        request: &Req,
    ) -> Result<Resp, KmsError> {
        let inner = &self.inner;
        let body = serde_json::to_vec(request)
            .map_err(|e| KmsError::Malformed(format!("cannot encode the {action} request: {e}")))?;
        let target = format!("TrentService.{action}");
        let now = chrono::Utc::now();
        let amz_date = now.format(sigv4::AMZ_DATE_FORMAT).to_string();
        let content_type = "application/x-amz-json-1.1";

        let mut headers: Vec<(&str, &str)> = vec![
            ("Content-Type", content_type),
            ("Host", &inner.host),
            ("X-Amz-Date", &amz_date),
            ("X-Amz-Target", &target),
        ];
        if let Some(token) = &inner.session_token {
            headers.push(("X-Amz-Security-Token", token.as_str()));
        }
        let authorization = sigv4::sign(&sigv4::SigningInput {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            payload: &body,
            access_key_id: &inner.access_key_id,
            secret_access_key: &inner.secret_access_key,
            region: &inner.region,
            service: "kms",
            time: now,
        });

        let mut builder = inner.client.post(inner.endpoint.clone());
        for (name, value) in &headers {
            builder = builder.header(*name, *value);
        }
        let response = builder
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(action, &e))?;
        let status = response.status();
        let error_type_header = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.unreachable(action, &e))?;
        // The body of a successful Decrypt or GenerateDataKey carries plaintext: wipe this copy.
        let bytes = Zeroizing::new(Vec::from(bytes));

        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                // serde_json's message can quote a value from the body: report only where.
                KmsError::Malformed(format!(
                    "the {action} response (HTTP {status}) is not the JSON expected \
                     ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            });
        }
        Err(service_error(
            action,
            status,
            &bytes,
            error_type_header.as_deref(),
        ))
    }

    fn unreachable(&self, action: &str, error: &reqwest::Error) -> KmsError {
        let endpoint = self.inner.endpoint.as_str();
        let mut cause: &dyn std::error::Error = error;
        while let Some(source) = cause.source() {
            cause = source;
        }
        let what = if error.is_timeout() {
            format!(
                "{endpoint} did not answer {action} in time (connect timeout {}s, request \
                 timeout {}s)",
                CONNECT_TIMEOUT.as_secs(),
                REQUEST_TIMEOUT.as_secs()
            )
        } else if error.is_connect() {
            format!("cannot connect to {endpoint} for {action} ({cause})")
        } else {
            format!("{action} to {endpoint} failed ({cause})")
        };
        KmsError::Unreachable(format!(
            "{what}; check the endpoint and region, and that this host can reach it"
        ))
    }
}

/// Validates the endpoint and returns the `Host` header value for it.
fn check_endpoint(endpoint: &Url) -> Result<String, KmsError> {
    let Some(host) = endpoint.host_str().filter(|h| !h.is_empty()) else {
        return Err(KmsError::Config(format!(
            "endpoint {endpoint} has no host: use e.g. https://kms.eu-west-1.amazonaws.com"
        )));
    };
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(KmsError::Config(
            "the endpoint contains a user name or password: remove them; credentials go in the \
             access key settings"
                .to_owned(),
        ));
    }
    if endpoint.path() != "/" || endpoint.query().is_some() || endpoint.fragment().is_some() {
        return Err(KmsError::Config(format!(
            "endpoint {endpoint} has a path, query or fragment: give only scheme, host and port"
        )));
    }
    let loopback = match endpoint.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match endpoint.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(KmsError::Config(format!(
                "endpoint {endpoint} is plain HTTP, which would send keys and plaintext \
                 unencrypted: use https (http is accepted on loopback only, for test servers)"
            )));
        }
        other => {
            return Err(KmsError::Config(format!(
                "endpoint {endpoint} has scheme {other}: use https"
            )));
        }
    }
    Ok(match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Turns an HTTP error answer into [`KmsError::Service`], or [`KmsError::Malformed`] when it is
/// not a KMS error at all.
fn service_error(
    action: &str,
    status: reqwest::StatusCode,
    body: &[u8],
    error_type_header: Option<&str>,
) -> KmsError {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        kind: Option<String>,
        message: Option<String>,
        #[serde(rename = "Message")]
        message_capitalised: Option<String>,
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (kind, message) = match parsed {
        Some(body) => (body.kind, body.message.or(body.message_capitalised)),
        // Authentication failures can come back in the query protocol's XML (moto does this):
        // `<ErrorResponse><Errors><Error><Code>…</Code><Message>…</Message>`.
        None => {
            let text = String::from_utf8_lossy(body);
            (
                xml_element(&text, "Code")
                    .filter(|c| c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')),
                xml_element(&text, "Message"),
            )
        }
    };
    // `__type` may be namespaced (`com.amazonaws.kms#NotFoundException`); the header form may
    // carry a suffix after ':'.
    let code = kind
        .as_deref()
        .map(|k| k.rsplit('#').next().unwrap_or(k))
        .or_else(|| error_type_header.and_then(|h| h.split(':').next()))
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match code {
        Some(code) => KmsError::Service {
            code: code.to_owned(),
            message: message
                .map(|m| m.chars().take(MAX_MESSAGE_CHARS).collect())
                .unwrap_or_default(),
        },
        None => KmsError::Malformed(format!(
            "{action} failed with HTTP {status} and no KMS error type"
        )),
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, if any.
fn xml_element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_owned())
}

fn context_is_empty(context: &&EncryptionContext) -> bool {
    context.is_empty()
}

fn zeroizing_string<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
    String::deserialize(d).map(Zeroizing::new)
}

fn decode_secret(encoded: &str, action: &str) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    // The decoder's error would quote a character of the plaintext: say only what failed.
    BASE64
        .decode(encoded)
        .map(Zeroizing::new)
        .map_err(|_| KmsError::Malformed(format!("the {action} Plaintext is not valid base64")))
}

fn decode_blob(encoded: &str, action: &str) -> Result<Vec<u8>, KmsError> {
    BASE64.decode(encoded).map_err(|_| {
        KmsError::Malformed(format!("the {action} CiphertextBlob is not valid base64"))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadataResponse {
    key_metadata: KeyMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadata {
    key_id: String,
    arn: String,
    enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>) -> AwsKmsSettings {
        AwsKmsSettings {
            endpoint: endpoint.map(|e| Url::parse(e).unwrap()),
            region: "eu-west-1".to_owned(),
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: Zeroizing::new("very-secret-key".to_owned()),
            session_token: Some(Zeroizing::new("very-secret-token".to_owned())),
        }
    }

    #[test]
    fn the_default_endpoint_is_regional() {
        let kms = AwsKms::new(settings(None)).unwrap();
        assert_eq!(
            kms.inner.endpoint.as_str(),
            "https://kms.eu-west-1.amazonaws.com/"
        );
        assert_eq!(kms.inner.host, "kms.eu-west-1.amazonaws.com");
    }

    #[test]
    fn the_host_header_carries_a_non_default_port() {
        let kms = AwsKms::new(settings(Some("http://127.0.0.1:39365"))).unwrap();
        assert_eq!(kms.inner.host, "127.0.0.1:39365");
        let kms = AwsKms::new(settings(Some("https://kms.example:443/"))).unwrap();
        assert_eq!(kms.inner.host, "kms.example");
        let kms = AwsKms::new(settings(Some("http://[::1]:8080"))).unwrap();
        assert_eq!(kms.inner.host, "[::1]:8080");
    }

    #[test]
    fn unusable_settings_are_refused() {
        for endpoint in [
            "http://kms.example.com",
            "ftp://127.0.0.1",
            "https://user:pw@kms.example.com",
            "https://kms.example.com/prefix",
            "https://kms.example.com/?a=b",
        ] {
            let error = AwsKms::new(settings(Some(endpoint))).unwrap_err();
            assert!(matches!(error, KmsError::Config(_)), "{endpoint}: {error}");
        }
        let mut bad_region = settings(None);
        bad_region.region = "eu-west-1.evil.example/".to_owned();
        assert!(matches!(AwsKms::new(bad_region), Err(KmsError::Config(_))));
        let mut no_secret = settings(None);
        no_secret.secret_access_key = Zeroizing::new(String::new());
        assert!(matches!(AwsKms::new(no_secret), Err(KmsError::Config(_))));
    }

    #[test]
    fn error_types_lose_their_namespace() {
        let status = reqwest::StatusCode::BAD_REQUEST;
        let error = service_error(
            "Decrypt",
            status,
            br#"{"__type":"com.amazonaws.kms#NotFoundException","Message":"no such key"}"#,
            None,
        );
        assert!(
            matches!(&error, KmsError::Service { code, message }
                if code == "NotFoundException" && message == "no such key"),
            "{error:?}"
        );
        let error = service_error(
            "Decrypt",
            status,
            b"not json",
            Some("AccessDeniedException:http://internal.amazon.com/"),
        );
        assert!(
            matches!(&error, KmsError::Service { code, .. } if code == "AccessDeniedException"),
            "{error:?}"
        );
        let error = service_error(
            "Decrypt",
            reqwest::StatusCode::FORBIDDEN,
            b"<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
              <Message>The signature does not match</Message></Error></Errors></ErrorResponse>",
            None,
        );
        assert!(
            matches!(&error, KmsError::Service { code, message }
                if code == "SignatureDoesNotMatch" && message == "The signature does not match"),
            "{error:?}"
        );
        let error = service_error("Decrypt", status, b"<html>", None);
        assert!(matches!(error, KmsError::Malformed(_)), "{error:?}");
    }
}
