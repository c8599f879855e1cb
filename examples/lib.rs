//! What every example shares: how a failure reaches the person who ran it.
//!
//! An example's `main` returns [`std::process::ExitCode`] through [`exit_code`]
//! instead of returning `Result` itself, because Rust prints a `main` error with
//! its `Debug` form (`Error: Api(ApiError { status: 401, … })`), a dump meant for
//! programmers, and says nothing of the causes behind it. Errors here are shown
//! the way the `fal` command line shows them: the message, then every cause in
//! the error's source chain, on stderr, with a non-zero exit status.

use std::error::Error;
use std::fmt::Write as _;
use std::process::ExitCode;

/// The exit status of an example that ran to `outcome`: success, or, after
/// printing [`report`] of the error on stderr, failure (1).
pub fn exit_code(outcome: Result<(), Box<dyn Error>>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", report(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// `error: MESSAGE`, then one `  caused by: CAUSE` line per error in the source
/// chain. A cause whose text the lines above already hold is left out: some
/// errors repeat their cause in their own message, and saying it twice would
/// only make the report longer.
pub fn report(error: &(dyn Error + 'static)) -> String {
    let mut text = format!("error: {error}");
    let mut next = error.source();
    while let Some(cause) = next {
        let line = cause.to_string();
        if !text.contains(&line) {
            // Writing to a String cannot fail.
            let _ = write!(text, "\n  caused by: {line}");
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);

    impl std::fmt::Display for Level {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Level {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1
                .as_deref()
                .map(|level| level as &(dyn Error + 'static))
        }
    }

    #[test]
    fn every_cause_is_shown_once_in_order() {
        let error = Level(
            "upload of photo.png failed (part 2)",
            Some(Box::new(Level(
                "connection reset",
                Some(Box::new(Level("connection reset", None))),
            ))),
        );
        assert_eq!(
            report(&error),
            "error: upload of photo.png failed (part 2)\n  caused by: connection reset"
        );
    }

    /// The error a real call returns: the client cannot reach its queue host.
    #[tokio::test]
    async fn a_client_error_is_shown_with_its_transport_cause() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = fal_runtime::Client::builder()
            .ignore_env()
            .key("id:secret")
            .queue_url(format!("http://127.0.0.1:{port}/queue"))
            .retry(fal_runtime::RetryPolicy::none())
            .build()
            .unwrap();
        let error = client
            .endpoint("fal-ai/flux/dev")
            .submit(serde_json::json!({ "prompt": "a lighthouse" }))
            .await
            .unwrap_err();
        let text = report(&error);
        assert!(text.starts_with("error: "), "{text}");
        assert!(text.contains("\n  caused by: "), "{text}");
        assert!(!text.contains("Transport {"), "a Debug dump: {text}");
    }
}
