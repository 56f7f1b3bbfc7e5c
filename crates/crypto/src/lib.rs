//! Cryptographic building blocks for meetvault: RFC 9162 Merkle proofs, C2SP signed notes and checkpoints, symmetric key handling, and the encryption-at-rest layer (field envelopes, blob streams, HPKE
//! sealing, password-derived keys, the master-key trait); no I/O.

pub mod age;
pub mod envelope;
mod error;
pub mod jcs;
pub mod kek;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod passkey;
pub mod recipient;
pub mod stream;
pub mod webhook;

pub use error::CryptoError;
