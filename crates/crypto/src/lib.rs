//! Cryptographic building blocks for meetvault: RFC 9162 Merkle proofs, C2SP signed notes and checkpoints, and symmetric key handling; no I/O.

mod error;
pub mod keys;
pub mod merkle;
pub mod note;

pub use error::CryptoError;
