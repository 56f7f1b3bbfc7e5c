//! Values that must never be printed: a `Secret` string and a `DatabaseUrl` whose password is masked.
//! Both print as `[redacted]` through `Debug`, `Display` and `Serialize`; only `expose()` reveals them.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// What every secret prints as, wherever it is printed.
pub const REDACTED: &str = "[redacted]";

/// A secret string from configuration (a key, a password). Zeroized on drop.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The secret itself: only for handing to the component that uses it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_string(d).map(Secret::new)
    }
}

/// A database connection URL: `sqlite://…` or `postgres://…`. Its password never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// Which relational backend a [`DatabaseUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        match url.scheme() {
            "sqlite" | "postgres" | "postgresql" => Ok(Self(raw.to_owned())),
            other => Err(format!(
                "unsupported scheme `{other}`: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
            )),
        }
    }

    /// A SQLite URL for a file path.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self(format!("sqlite://{}", path.display()))
    }

    pub fn kind(&self) -> DatabaseKind {
        if self.0.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else {
            DatabaseKind::Postgres
        }
    }

    /// The full URL, password included: only for the database driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Infallible for URLs with a host, which any URL carrying a password has.
                let _ = url.set_password(Some(REDACTED));
                url.to_string().replace("%5Bredacted%5D", REDACTED)
            }
            Ok(_) => self.0.clone(),
            Err(_) => REDACTED.to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = lenient_string(d)?;
        DatabaseUrl::parse(&raw).map_err(de::Error::custom)
    }
}

/// Environment values arrive parsed (`MEETVAULT_X=1234` is a number), so a string field accepts
/// numbers and booleans too and keeps their text.
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[redacted]\"");
        assert_eq!(s.expose(), "hunter2-hunter2");
    }

    #[test]
    fn database_url_masks_only_the_password() {
        let u = DatabaseUrl::parse("postgres://mv:s3cret@127.0.0.1:5432/mv").unwrap();
        assert_eq!(u.kind(), DatabaseKind::Postgres);
        assert_eq!(u.to_string(), "postgres://mv:[redacted]@127.0.0.1:5432/mv");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&u).unwrap().contains("s3cret"));
        assert!(u.expose().contains("s3cret"));
    }

    #[test]
    fn database_url_rejects_other_schemes() {
        let err = DatabaseUrl::parse("mysql://x@y/z").unwrap_err();
        assert!(err.contains("unsupported scheme `mysql`"), "{err}");
        assert!(DatabaseUrl::parse("not a url").is_err());
    }
}
