//! Credential primitives for meetvault: password policy and Argon2id hashing, checksummed
//! token formats, TOTP and recovery codes. Pure functions and CPU work only: no database,
//! no network, so every rule here can be tested in isolation.

pub mod password;
pub mod recovery;
pub mod token;
pub mod totp;

mod base32;
