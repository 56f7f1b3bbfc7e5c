//! Passwords: the policy a new password must pass and the Argon2id hasher that stores and
//! verifies them.

mod hasher;
mod policy;

pub use hasher::{Argon2Params, HashError, PasswordHasher, Verification};
pub use policy::{MAX_CHARS, MIN_CHARS, NewPassword, PolicyError};
