//! Which fal a calling verb talks to: fal.ai (the default, with the key from the
//! environment), or an embedded testkit when asked with `--testkit` or
//! `FAL_TESTKIT=1`.
//!
//! There is no silent fallback: a script that lost its `FAL_KEY` must fail
//! (exit 2) rather than receive synthesized images whose URLs die with the
//! process. The examples keep their no-key default
//! (`fal_testkit::client_from_env_or_testkit`) because they are demos.

use std::time::Duration;

use clap::Args;
use fal_runtime::Client;

use crate::Failure;

/// The variable that asks for the embedded testkit without the flag.
const TESTKIT_ENV: &str = "FAL_TESTKIT";

/// `--testkit` and `--timeout`, shared by every verb that calls fal.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct CallArgs {
    /// Run against an embedded local testkit instead of fal.ai (also FAL_TESTKIT=1).
    /// Its outputs are synthesized and its URLs stop working when the command exits.
    #[arg(long)]
    pub testkit: bool,
    /// Give up after this long overall (e.g. 90s, 10m): a queued request is
    /// cancelled and its id printed.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(err) => Err(format!("{err} (e.g. 90s, 10m, 1h)")),
    }
}

/// A client, and the embedded testkit it points at when one was asked for.
/// Keep the value alive while the client is used: dropping it stops the testkit.
#[derive(Debug)]
pub struct Target {
    /// The client to call through.
    pub client: Client,
    /// The embedded testkit, when `--testkit` / `FAL_TESTKIT` asked for it.
    pub embedded: Option<fal_testkit::Testkit>,
}

impl CallArgs {
    /// Whether the flag or the environment asks for the embedded testkit.
    pub fn wants_testkit(&self) -> Result<bool, Failure> {
        if self.testkit {
            return Ok(true);
        }
        match std::env::var(TESTKIT_ENV) {
            Ok(value) => parse_switch(&value).ok_or_else(|| {
                Failure::Usage(format!(
                    "{TESTKIT_ENV}={value:?} is not a switch: use 1, true, yes or on \
                     (0, false, no, off or empty to call fal.ai)"
                ))
            }),
            Err(std::env::VarError::NotPresent) => Ok(false),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Failure::Usage(format!("{TESTKIT_ENV} is not valid UTF-8")))
            }
        }
    }

    /// The client for this invocation. `embedded` configures the testkit when
    /// one is asked for (delays that let a progress display show something).
    pub async fn connect(&self, embedded: fal_testkit::TestkitBuilder) -> Result<Target, Failure> {
        if !self.wants_testkit()? {
            let client = Client::from_env().map_err(Failure::from)?;
            if !client.has_key() {
                return Err(missing_key());
            }
            return Ok(Target {
                client,
                embedded: None,
            });
        }
        let kit = embedded
            .start()
            .await
            .map_err(|err| Failure::Api(format!("cannot start the embedded testkit: {err}")))?;
        eprintln!(
            "note: running against an embedded fal testkit at {} (--testkit / {TESTKIT_ENV}): \
             outputs are synthesized and their URLs stop working when this command exits",
            kit.base_url()
        );
        let client = kit.client_builder().build().map_err(Failure::from)?;
        Ok(Target {
            client,
            embedded: Some(kit),
        })
    }
}

/// The usage error for a missing key, with both ways out.
fn missing_key() -> Failure {
    Failure::Usage(
        "FAL_KEY is not set: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) to call fal.ai, \
         or pass --testkit (or set FAL_TESTKIT=1) to run against an embedded local testkit \
         whose outputs are synthesized"
            .to_owned(),
    )
}

/// `1/true/yes/on` and `0/false/no/off/""`, any case; anything else is `None`.
fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse_both_ways_and_refuse_the_rest() {
        for on in ["1", "true", "TRUE", " yes ", "On"] {
            assert_eq!(parse_switch(on), Some(true), "{on}");
        }
        for off in ["", "0", "false", "No", "off"] {
            assert_eq!(parse_switch(off), Some(false), "{off}");
        }
        for bad in ["2", "enabled", "y"] {
            assert_eq!(parse_switch(bad), None, "{bad}");
        }
    }
}
