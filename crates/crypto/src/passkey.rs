//! Keys derived from a password, for zero-access mode: Argon2id with parameters stored beside
//! the wrapped key, so they can be raised later without locking anyone out.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

use crate::CryptoError;
use crate::keys::SymmetricKey;

/// Argon2id parameters and salt for one wrapped key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: [u8; 16],
}

impl KdfParams {
    /// RFC 9106 section 4, second recommended option: 64 MiB, t=3, p=4; fresh salt.
    pub const RFC9106_MEMORY_KIB: u32 = 64 * 1024;
    pub const RFC9106_ITERATIONS: u32 = 3;
    pub const RFC9106_PARALLELISM: u32 = 4;

    pub fn recommended() -> Self {
        Self::with_cost(
            Self::RFC9106_MEMORY_KIB,
            Self::RFC9106_ITERATIONS,
            Self::RFC9106_PARALLELISM,
        )
    }

    /// Fresh salt with the given cost (never below the RFC 9106 option; see [`Self::check`]).
    pub fn with_cost(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self {
            memory_kib,
            iterations,
            parallelism,
            salt,
        }
    }

    /// Refuses parameters weaker than RFC 9106's second recommendation.
    pub fn check(&self) -> Result<(), CryptoError> {
        if self.memory_kib < Self::RFC9106_MEMORY_KIB
            || self.iterations < Self::RFC9106_ITERATIONS
            || self.parallelism < Self::RFC9106_PARALLELISM
        {
            return Err(CryptoError::Malformed(
                "Argon2id parameters below RFC 9106 (64 MiB, t=3, p=4)",
            ));
        }
        Ok(())
    }
}

/// Derives the 256-bit wrapping key from `password`. Slow by design (tens to hundreds of ms):
/// call it off the async executor.
pub fn derive(password: &[u8], params: &KdfParams) -> Result<SymmetricKey, CryptoError> {
    params.check()?;
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| CryptoError::Malformed("invalid Argon2id parameters"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password, &params.salt, &mut out)
        .map_err(|_| CryptoError::Malformed("Argon2id derivation failed"))?;
    let key = SymmetricKey::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_password_and_salt_give_the_same_key() {
        let params = KdfParams::recommended();
        let a = derive(b"correct horse battery", &params).unwrap();
        let b = derive(b"correct horse battery", &params).unwrap();
        let c = derive(b"correct horse batterz", &params).unwrap();
        let d = derive(b"correct horse battery", &KdfParams::recommended()).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
        assert_ne!(a.expose(), d.expose(), "a fresh salt gives another key");
    }

    #[test]
    fn weak_parameters_are_refused() {
        let weak = KdfParams::with_cost(19 * 1024, 2, 1);
        assert!(derive(b"pw", &weak).is_err());
        assert!(KdfParams::recommended().check().is_ok());
    }
}
