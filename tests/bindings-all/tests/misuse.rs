//! Misuse of generated bindings is a compile error, each listed with the
//! error it gets (the `.stderr` files, reviewed): a prompt and a file input
//! swapped, a bare `&str` given for a file input, a string turned into an enum
//! without saying so, a raw enum value built without `from_wire`, and a type
//! of another schema definition given for a field. Regenerate with
//! `TRYBUILD=overwrite cargo test -p fal-bindings-all --test misuse` and
//! review the diff.
//!
//! Not built with the `corpus` feature: trybuild compiles the cases in a
//! project of its own (target/tests/trybuild) with this crate's features, so
//! under `corpus` it would check the ~1,000 corpus endpoints a second time for
//! cases that only use the in-repo fixtures. `cargo test --workspace` runs it.
#![cfg(not(feature = "corpus"))]

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/misuse/*.rs");
}
