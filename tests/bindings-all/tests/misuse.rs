//! Misuse of generated bindings is a compile error, each listed with the
//! error it gets (the `.stderr` files, reviewed): a prompt and a file input
//! swapped, a bare `&str` given for a file input, a string turned into an enum
//! without saying so, a raw enum value built without `from_wire`, and a type
//! of another schema definition given for a field. Regenerate with
//! `TRYBUILD=overwrite cargo test -p fal-bindings-all --test misuse` and
//! review the diff.

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/misuse/*.rs");
}
