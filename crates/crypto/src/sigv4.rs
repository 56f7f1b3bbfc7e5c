//! AWS Signature Version 4 for the few S3 requests `object_store` does not make: listing a
//! bucket's multipart uploads in progress (so meetvault finds and aborts uploads of its own
//! that a crash left behind). <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
//!
//! Only what those requests need: a bodiless request, its query, and the `host`,
//! `x-amz-content-sha256`, `x-amz-date` (and `x-amz-security-token`) headers signed.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// SHA-256 of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Who signs, where.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

impl std::fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// One bodiless request to sign.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header's value (with `:port` when not the scheme's default).
    pub host: &'a str,
    /// The path as sent (each segment already percent-encoded; S3 encodes it once).
    pub path: &'a str,
    /// Query parameters, unencoded (`("uploads", "")` for `?uploads`).
    pub query: &'a [(&'a str, &'a str)],
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` (uppercase).
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string as sent (and signed): names sorted, names and values encoded.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

impl Signer<'_> {
    /// The headers to send with `req`: `x-amz-date`, `x-amz-content-sha256`, the session
    /// token if any, and `authorization`.
    pub fn sign(&self, req: &Request<'_>) -> Vec<(&'static str, String)> {
        let date = req.amz_date.get(..8).unwrap_or_default();
        let mut headers: Vec<(&'static str, String)> = vec![
            ("host", req.host.to_owned()),
            ("x-amz-content-sha256", EMPTY_SHA256.to_owned()),
            ("x-amz-date", req.amz_date.to_owned()),
        ];
        if let Some(token) = self.session_token {
            headers.push(("x-amz-security-token", token.to_owned()));
        }
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let canonical = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{EMPTY_SHA256}",
            req.method,
            req.path,
            canonical_query(req.query),
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            req.amz_date,
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let secret = Zeroizing::new(format!("AWS4{}", self.secret_access_key));
        let k_date = hmac(secret.as_bytes(), date.as_bytes());
        let k_region = hmac(k_date.as_ref(), self.region.as_bytes());
        let k_service = hmac(k_region.as_ref(), self.service.as_bytes());
        let k_signing = hmac(k_service.as_ref(), b"aws4_request");
        let signature = hex::encode(hmac(k_signing.as_ref(), to_sign.as_bytes()).as_ref());
        headers.remove(0);
        headers.push((
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
                self.access_key_id
            ),
        ));
        headers
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_sorted_and_encoded() {
        assert_eq!(
            canonical_query(&[("uploads", ""), ("prefix", "a b/c~d")]),
            "prefix=a%20b%2Fc~d&uploads="
        );
    }

    /// AWS's published example: GET Bucket (List Objects) with `?max-keys=2&prefix=J` on
    /// `examplebucket` (the S3 Signature Version 4 documentation's header-based examples);
    /// other requests are checked against botocore in `tests/sigv4_botocore.rs`.
    #[test]
    fn awss_published_list_objects_example_signs_the_same() {
        let s = Signer {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            service: "s3",
        };
        let h = s.sign(&Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/",
            query: &[("max-keys", "2"), ("prefix", "J")],
            amz_date: "20130524T000000Z",
        });
        let auth = &h.iter().find(|(k, _)| *k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
        assert!(!format!("{s:?}").contains("wJalr"));
    }
}
