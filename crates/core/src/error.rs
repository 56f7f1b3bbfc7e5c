//! The domain's errors. Variants name what went wrong in domain terms; `http` maps each one.

use meetvault_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A storage failure the caller cannot fix (database down, disk error, corrupt row).
    #[error("storage failure")]
    Storage(#[from] StoreError),
}
