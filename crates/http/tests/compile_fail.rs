//! The permission check the compiler enforces: each `ui/fail/*.rs` must fail to build, with the
//! error in its `.stderr` beside it (a handler or caller proved one permission and calls a
//! service needing another; a `Scope` made outside `access`; reach asked of a proof that has
//! none; an untyped id). `ui/pass.rs`, the same calls with the right proofs, is compiled as part
//! of this test target, so it must build too. Regenerate the `.stderr` files after a deliberate
//! change with `TRYBUILD=overwrite cargo test -p meetvault-http --test compile_fail`.

// Not a trybuild `pass` case: those make trybuild build (not just check) a whole second copy of
// the dependency tree; compiled here, it reuses this target's.
#[allow(dead_code)]
#[path = "ui/pass.rs"]
mod pass;

#[test]
fn a_scope_opens_only_the_services_its_proof_names() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}
