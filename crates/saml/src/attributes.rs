//! Turning a validated assertion into a user: which attribute names carry the email, display
//! name and role, and the replay cache contract the caller fulfils.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::SamlError;
use crate::metadata::NAMEID_EMAIL;
use crate::response::Assertion;

/// Which attribute names to read the user's email, name and roles from, first match wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMap {
    /// Attribute names for the email address.
    pub email: Vec<String>,
    /// Attribute names for the display name.
    pub name: Vec<String>,
    /// Attribute names for roles or groups (all values are returned).
    pub role: Vec<String>,
}

impl Default for AttributeMap {
    /// The names common IdPs use (plain, LDAP OIDs, and the Microsoft claim URIs).
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect();
        AttributeMap {
            email: v(&[
                "email",
                "mail",
                "emailAddress",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "urn:oid:0.9.2342.19200300.100.1.3",
            ]),
            name: v(&[
                "displayName",
                "name",
                "http://schemas.microsoft.com/identity/claims/displayname",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "urn:oid:2.16.840.1.113730.3.1.241",
                "cn",
                "urn:oid:2.5.4.3",
            ]),
            role: v(&[
                "role",
                "roles",
                "groups",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            ]),
        }
    }
}

/// The user as the attributes describe them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappedUser {
    /// From the first email attribute present, else the NameID when its format is emailAddress.
    pub email: Option<String>,
    /// From the first name attribute present.
    pub name: Option<String>,
    /// Every value of the first role attribute present.
    pub roles: Vec<String>,
}

impl AttributeMap {
    /// Reads email, name and roles from `assertion`.
    pub fn extract(&self, assertion: &Assertion) -> MappedUser {
        let values = |names: &[String]| {
            names.iter().find_map(|name| {
                assertion
                    .attributes
                    .iter()
                    .find(|(n, vals)| n == name && !vals.is_empty())
                    .map(|(_, vals)| vals.clone())
            })
        };
        let first = |names: &[String]| {
            values(names).and_then(|v| {
                v.into_iter()
                    .map(|s| s.trim().to_owned())
                    .find(|s| !s.is_empty())
            })
        };
        let email = first(&self.email).or_else(|| {
            (assertion.name_id_format.as_deref() == Some(NAMEID_EMAIL))
                .then(|| assertion.name_id.clone())
        });
        MappedUser {
            email,
            name: first(&self.name),
            roles: values(&self.role).unwrap_or_default(),
        }
    }
}

/// Remembers assertion ids until they expire, so each assertion is accepted once. The
/// production implementation is a database table (id primary key, expiry); an insert that
/// hits an existing id is a replay.
pub trait ReplayCache {
    /// Records `assertion_id` until `not_on_or_after`; fails with [`SamlError::Replay`] if it
    /// is already recorded and not yet expired.
    fn check_and_store(
        &mut self,
        assertion_id: &str,
        not_on_or_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), SamlError>;
}

/// A [`ReplayCache`] in memory, for tests and single-process use.
#[derive(Debug, Default)]
pub struct InMemoryReplayCache {
    seen: HashMap<String, DateTime<Utc>>,
}

impl ReplayCache for InMemoryReplayCache {
    fn check_and_store(
        &mut self,
        assertion_id: &str,
        not_on_or_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), SamlError> {
        self.seen.retain(|_, expiry| *expiry > now);
        if self.seen.contains_key(assertion_id) {
            return Err(SamlError::Replay);
        }
        self.seen.insert(assertion_id.to_owned(), not_on_or_after);
        Ok(())
    }
}
