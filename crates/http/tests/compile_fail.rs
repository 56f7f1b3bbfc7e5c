//! The permission check the compiler enforces: each `ui/fail/*.rs` must fail to build, with the
//! error in its `.stderr` beside it (a handler or caller proved one permission and calls a
//! service needing another; a `Scope` made outside `access`; an untyped id), and each
//! `ui/pass/*.rs` must build and run. Regenerate the `.stderr` files after a deliberate change
//! with `TRYBUILD=overwrite cargo test -p meetvault-http --test compile_fail`.

#[test]
fn a_scope_opens_only_the_services_its_proof_names() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
