//! Tests against peers this crate did not write: pysaml2 as the identity provider (signing with
//! xmlsec1) and lxml as the reference canonicalizer. One binary; each module is one concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod c14n_lxml;
mod pysaml2_idp;
mod tools;
