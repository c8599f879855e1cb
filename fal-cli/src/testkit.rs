//! `fal testkit`: serve the local fal-compatible server until Ctrl-C.
//!
//! stdout carries one line, the base URL (scripts read it); stderr carries the
//! banner: every variable a client needs, how auth and retention are set, and
//! which schema documents were loaded or refused, and why.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::call::block_on;
use crate::Failure;

/// `fal testkit`.
#[derive(Args, Debug)]
pub struct TestkitArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Directory of endpoint schemas to validate inputs and synthesize outputs from.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// The credential clients must send (`Authorization: Key ID:SECRET`).
    #[arg(long, value_name = "ID:SECRET", conflicts_with = "no_auth")]
    pub key: Option<String>,
    /// Accept every request, with or without a key.
    #[arg(long)]
    pub no_auth: bool,
    /// How long finished requests stay answerable before they are forgotten
    /// (e.g. 30s, 10m, 1h).
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    pub retention: Duration,
    /// Time each request spends IN_QUEUE (e.g. 50ms, 2s).
    #[arg(long, value_parser = parse_duration, default_value = "50ms")]
    pub queue_delay: Duration,
    /// Time each request spends IN_PROGRESS, and each direct run takes.
    #[arg(long, value_parser = parse_duration, default_value = "100ms")]
    pub run_duration: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (e.g. 500ms, 30s, 1h)"))
}

/// `ID:SECRET` with both halves non-empty and nothing a header cannot carry.
fn check_key(key: &str) -> Result<(), Failure> {
    let usable = key
        .split_once(':')
        .is_some_and(|(id, secret)| !id.is_empty() && !secret.is_empty())
        && key.chars().all(|c| c.is_ascii_graphic());
    if usable {
        Ok(())
    } else {
        Err(Failure::Usage(
            "--key must be ID:SECRET: two non-empty halves of visible ASCII, no spaces".to_owned(),
        ))
    }
}

/// Starts the testkit, prints its base URL on stdout and the banner on stderr,
/// then serves until Ctrl-C.
pub fn serve(args: TestkitArgs) -> Result<(), Failure> {
    if let Some(dir) = &args.schemas {
        if !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "--schemas: {} is not a directory",
                dir.display()
            )));
        }
    }
    if let Some(key) = &args.key {
        check_key(key)?;
    }
    block_on(async move {
        let mut builder = fal_testkit::Testkit::builder()
            .port(args.port)
            .require_auth(!args.no_auth)
            .retention(args.retention)
            .queue_delay(args.queue_delay)
            .run_duration(args.run_duration);
        if let Some(key) = args.key {
            builder = builder.key(key);
        }
        if let Some(dir) = &args.schemas {
            builder = builder.schemas_dir(dir);
        }
        let testkit = builder.start().await.map_err(|err| match err {
            // A schema directory that cannot be indexed is the user's input.
            fal_testkit::TestkitError::Schemas(err) => Failure::Usage(format!("--schemas: {err}")),
            other => Failure::Api(format!("cannot start the testkit: {other}")),
        })?;
        crate::output::print_line(&testkit.base_url())?;
        eprint!("{}", banner(&testkit, args.schemas.as_deref()));
        tokio::signal::ctrl_c()
            .await
            .map_err(|err| Failure::Api(format!("cannot wait for Ctrl-C: {err}")))?;
        drop(testkit);
        Ok(())
    })
}

/// What `fal testkit` says on stderr once it listens.
fn banner(kit: &fal_testkit::Testkit, schemas: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    let auth = if kit.requires_auth() {
        "calls need Authorization: Key <FAL_KEY>"
    } else {
        "auth is off: any key, or none, is accepted"
    };
    let _ = writeln!(out, "fal testkit listening on {} ({auth})", kit.base_url());
    let _ = writeln!(out, "point a client at it with:");
    for (name, value) in [
        ("FAL_QUEUE_URL", kit.queue_url()),
        ("FAL_RUN_URL", kit.run_url()),
        ("FAL_REST_URL", kit.rest_url()),
        ("FAL_WEB_URL", kit.web_url()),
        ("FAL_API_URL", kit.api_url()),
    ] {
        let _ = writeln!(out, "  export {name}={value}");
    }
    if kit.requires_auth() {
        let _ = writeln!(out, "  export FAL_KEY={}", kit.key());
    } else {
        // fal's own clients refuse to start without some key.
        let _ = writeln!(out, "  export FAL_KEY=any:key  # not checked");
    }
    let _ = writeln!(
        out,
        "finished requests are forgotten {} after they end (--retention)",
        humantime::format_duration(kit.retention())
    );
    if let Some(dir) = schemas {
        let report = kit.schema_report();
        let _ = writeln!(
            out,
            "schemas from {}: {} loaded, {} rejected",
            dir.display(),
            report.loaded.len(),
            report.rejected.len()
        );
        for loaded in &report.loaded {
            let outputs = if loaded.has_output {
                "validated and synthesized"
            } else {
                "validated; no output schema, so outputs are FLUX-like"
            };
            let _ = writeln!(out, "  loaded   {} ({outputs})", loaded.endpoint_id);
        }
        for rejected in &report.rejected {
            let _ = writeln!(
                out,
                "  rejected {} (served for discovery, answers FLUX-like): {}",
                rejected.endpoint_id,
                one_line(&rejected.reason)
            );
        }
    } else {
        let _ = writeln!(
            out,
            "no --schemas: every endpoint answers FLUX-like (text to image)"
        );
    }
    let _ = writeln!(out, "Ctrl-C stops it.");
    out
}

/// A message on one banner line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_need_two_visible_halves() {
        assert!(check_key("id:secret").is_ok());
        for bad in ["nocolon", ":secret", "id:", "id:se cret", "id:sé", ""] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
