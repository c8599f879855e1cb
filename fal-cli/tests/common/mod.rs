//! What the `fal` end-to-end tests share.

use std::process::{Command, Output};

/// The variables that point `fal` somewhere: a key, hosts, the testkit switch.
const FAL_VARIABLES: [&str; 8] = [
    "FAL_KEY",
    "FAL_API_URL",
    "FAL_KEY_ID",
    "FAL_KEY_SECRET",
    "FAL_QUEUE_URL",
    "FAL_RUN_URL",
    "FAL_REST_URL",
    "FAL_TESTKIT",
];

/// Runs `fal ARGS` with none of [`FAL_VARIABLES`] from the test's environment,
/// only those in `env`.
pub fn fal_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fal"));
    command.args(args);
    for name in FAL_VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("fal runs")
}
