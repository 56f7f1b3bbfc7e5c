//! AWS Signature Version 4 for header-signed requests, as a pure function: the same input always
//! gives the same `Authorization` value, so it is checked against AWS's published examples.
//!
//! Only what a JSON API such as KMS needs, and the bodiless S3 requests `object_store` does not
//! make (listing a bucket's multipart uploads, for the customer's bucket): the payload is hashed
//! (never `UNSIGNED-PAYLOAD`), the path is encoded once (for S3 as for KMS, whose path is `/`),
//! and no presigned URLs. Checked against AWS's published examples here and against botocore in
//! `tests/sigv4_botocore.rs`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The `X-Amz-Date` format (`20150830T123600Z`); the header must carry `time` in this format.
pub const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// One request to sign. Field values are taken as they are; nothing is read from the clock or
/// the environment.
#[derive(Clone, Copy)]
pub struct SigningInput<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The absolute path, not percent-encoded (`/` for KMS); it is encoded here.
    pub path: &'a str,
    /// The query parameters, not percent-encoded, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Every header to sign, with `Host` and `X-Amz-Date` among them; names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body, exactly as sent.
    pub payload: &'a [u8],
    /// The access key id, which is not secret and appears in the result.
    pub access_key_id: &'a str,
    /// The secret access key, which never appears in the result.
    pub secret_access_key: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The signing name of the service, e.g. `kms`.
    pub service: &'a str,
    /// The signing time: the date of the credential scope and the `X-Amz-Date` header's value.
    pub time: DateTime<Utc>,
}

impl std::fmt::Debug for SigningInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningInput")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .finish()
    }
}

/// Returns the `Authorization` header value for `input`:
/// `AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request,
/// SignedHeaders=<names>, Signature=<hex>`.
pub fn sign(input: &SigningInput<'_>) -> String {
    let (signed_headers, canonical_request) = canonical_request(input);
    let date = input.time.format("%Y%m%d").to_string();
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.time.format(AMZ_DATE_FORMAT),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );

    let mut secret = Zeroizing::new(String::with_capacity(4 + input.secret_access_key.len()));
    secret.push_str("AWS4");
    secret.push_str(input.secret_access_key);
    let mut key = hmac_sha256(secret.as_bytes(), date.as_bytes());
    for part in [input.region, input.service, "aws4_request"] {
        key = hmac_sha256(key.as_slice(), part.as_bytes());
    }
    let signature = hex::encode(*hmac_sha256(key.as_slice(), string_to_sign.as_bytes()));

    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
         Signature={signature}",
        input.access_key_id
    )
}

/// The signed header names (`a;b;c`) and the canonical request.
fn canonical_request(input: &SigningInput<'_>) -> (String, String) {
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in input.headers {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        headers
            .entry(name.trim().to_ascii_lowercase())
            .or_default()
            .push(value);
    }
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect();

    let canonical_query = canonical_query(input.query);

    let path = if input.path.is_empty() {
        "/".to_owned()
    } else {
        uri_encode(input.path, false)
    };

    let request = format!(
        "{}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        input.method,
        hex::encode(Sha256::digest(input.payload))
    );
    (signed_headers, request)
}

/// The query string as signed — names sorted, names and values percent-encoded — which is also
/// how to send it (`?uploads` is `("uploads", "")`, sent as `uploads=`).
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but the unreserved characters (`A-Z a-z 0-9 - _ . ~`), and `/` too when
/// `encode_slash`.
fn uri_encode(raw: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn example_time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()
    }

    fn signature(authorization: &str) -> &str {
        authorization.rsplit("Signature=").next().unwrap()
    }

    /// The example on AWS's "Create a signed AWS API request" page (IAM ListUsers).
    #[test]
    fn reproduces_the_published_iam_example() {
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let input = SigningInput {
            method: "GET",
            path: "/",
            query: &[("Action", "ListUsers"), ("Version", "2010-05-08")],
            headers: &headers,
            payload: b"",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "iam",
            time: example_time(),
        };
        let (signed, canonical) = canonical_request(&input);
        assert_eq!(signed, "content-type;host;x-amz-date");
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
            "canonical request:\n{canonical}"
        );
        assert_eq!(
            sign(&input),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    /// S3's published header-signing example "GET Bucket (List Objects)": `?max-keys=2&prefix=J`
    /// on `examplebucket`, with the empty payload's hash in `x-amz-content-sha256`.
    #[test]
    fn reproduces_the_published_s3_list_objects_example() {
        let empty = hex::encode(Sha256::digest(b""));
        let headers = [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", empty.as_str()),
        ];
        let input = SigningInput {
            method: "GET",
            path: "/",
            query: &[("max-keys", "2"), ("prefix", "J")],
            headers: &headers,
            payload: b"",
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
            time: Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap(),
        };
        assert_eq!(
            signature(&sign(&input)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
        assert_eq!(
            canonical_query(&[("uploads", ""), ("prefix", "a b/c~d")]),
            "prefix=a%20b%2Fc~d&uploads="
        );
    }

    /// Vectors from AWS's SigV4 test suite (service `service`, same key, date and region).
    #[test]
    fn reproduces_the_test_suite_vectors() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        /// Method, path, query, expected signature.
        type Vector<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Vector<'_>; 5] = [
            (
                "GET",
                "/",
                &[],
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "GET",
                "/",
                &[("Param2", "value2"), ("Param1", "value1")],
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "GET",
                "/\u{1234}",
                &[],
                "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
            ),
            (
                "POST",
                "/",
                &[],
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                "POST",
                "/",
                &[("Param1", "value1")],
                "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
            ),
        ];
        for (method, path, query, expected) in cases {
            let input = SigningInput {
                method,
                path,
                query,
                headers: &headers,
                payload: b"",
                access_key_id: "AKIDEXAMPLE",
                secret_access_key: SECRET,
                region: "us-east-1",
                service: "service",
                time: example_time(),
            };
            assert_eq!(
                signature(&sign(&input)),
                expected,
                "{method} {path} {query:?}"
            );
        }
    }

    #[test]
    fn header_names_are_lowercased_sorted_and_values_trimmed() {
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: &[],
            headers: &[
                ("X-Amz-Target", "  TrentService.Encrypt "),
                ("host", "127.0.0.1:39365"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Date", "20150830T123600Z"),
                ("X-Amz-Meta", "a   b"),
            ],
            payload: b"{}",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "eu-west-1",
            service: "kms",
            time: example_time(),
        };
        let (signed, canonical) = canonical_request(&input);
        assert_eq!(
            signed,
            "content-type;host;x-amz-date;x-amz-meta;x-amz-target"
        );
        assert!(
            canonical.contains("\nhost:127.0.0.1:39365\n"),
            "{canonical}"
        );
        assert!(canonical.contains("\nx-amz-meta:a b\n"), "{canonical}");
        assert!(
            canonical.ends_with(&hex::encode(Sha256::digest(b"{}"))),
            "{canonical}"
        );
        let authorization = sign(&input);
        assert!(authorization.contains("/20150830/eu-west-1/kms/aws4_request, "));
        assert!(!authorization.contains(SECRET));
    }

    #[test]
    fn the_signature_covers_the_payload_and_the_time() {
        let headers = [("Host", "kms.us-east-1.amazonaws.com")];
        let base = SigningInput {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            payload: b"{\"KeyId\":\"a\"}",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "kms",
            time: example_time(),
        };
        let original = sign(&base);
        let other_payload = SigningInput {
            payload: b"{\"KeyId\":\"b\"}",
            ..base
        };
        let later = SigningInput {
            time: example_time() + chrono::Duration::seconds(1),
            ..base
        };
        assert_ne!(signature(&original), signature(&sign(&other_payload)));
        assert_ne!(signature(&original), signature(&sign(&later)));
    }

    #[test]
    fn debug_hides_the_secret() {
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: &[],
            headers: &[],
            payload: b"secret payload",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "kms",
            time: example_time(),
        };
        let debug = format!("{input:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains("secret payload"), "{debug}");
    }
}
