//! `fal`: the command line for fal.ai.
fn main() {}
