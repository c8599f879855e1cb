//! Every misuse of `#[fal_endpoint]` is a compile error at the offending
//! token. The `.stderr` files are the reviewed expected diagnostics;
//! regenerate with `TRYBUILD=overwrite cargo test -p fal-macros --test ui`
//! and review the diff.

#[test]
fn misuse_is_a_spanned_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
