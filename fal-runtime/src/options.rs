//! Per-request options: the `x-fal-*` headers and query parameters fal reads on
//! submit and run (spec 1.4, 3.1, 3.7, 7.6).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::error::{Error, Result};

/// Options for one submit, subscribe or direct run.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    start_timeout: Option<Duration>,
    client_timeout: Option<Duration>,
    priority: Option<Priority>,
    runner_hint: Option<String>,
    webhook_url: Option<String>,
    headers: HeaderMap,
    object_lifecycle: Option<ObjectLifecycle>,
    validate: Option<bool>,
}

/// Queue priority (`x-fal-queue-priority`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Priority {
    /// The default.
    #[default]
    Normal,
    /// Yields to normal-priority requests.
    Low,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl RequestOptions {
    /// Whether this call checks its input against the schema's rules before
    /// sending, overriding the client's default
    /// ([`crate::ClientBuilder::validate_inputs`], on unless switched off).
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = Some(on);
        self
    }

    /// This call's validation choice, if it made one.
    pub(crate) fn validate_choice(&self) -> Option<bool> {
        self.validate
    }

    /// No options: fal's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Server-side deadline for the request to *start* (queue wait, routing and
    /// retries, not execution), sent as `x-fal-request-timeout`. When it expires fal
    /// answers 504 with `x-fal-request-timeout-type: user`, which is never retried.
    /// fal requires more than 0.1 s.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// This client's own bound on one attempt of this call, replacing the
    /// client's [`Timeouts`](crate::Timeouts) for it: the whole submit
    /// (`submit`), the whole direct run (`run`), or the wait for a `/stream`
    /// call's response headers (`stream_headers`). Unlike
    /// [`start_timeout`](Self::start_timeout) it is not sent to fal; when it
    /// fires the call fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.client_timeout = Some(timeout);
        self
    }

    /// Queue priority; sent only when set (fal's default is normal).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// A routing hint for session affinity (`x-fal-runner-hint`).
    pub fn runner_hint(mut self, hint: impl Into<String>) -> Self {
        self.runner_hint = Some(hint.into());
        self
    }

    /// A URL fal calls when a queued request completes (`fal_webhook`; submit only,
    /// as in fal's clients: subscribe and run ignore it).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Any other header, e.g. `x-fal-no-retry: 1` or `x-fal-store-io: 0`. The
    /// options above win over a header of the same name set here.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// How long the objects the model produces live and who may read them
    /// (`x-fal-object-lifecycle-preference`).
    pub fn object_lifecycle(mut self, lifecycle: ObjectLifecycle) -> Self {
        self.object_lifecycle = Some(lifecycle);
        self
    }

    /// The same options without the webhook (subscribe and run never register one).
    #[cfg(feature = "subscribe")]
    pub(crate) fn without_webhook(mut self) -> Self {
        self.webhook_url = None;
        self
    }

    /// The webhook URL, if any.
    pub fn webhook(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }

    /// The start timeout, if any.
    pub fn start_timeout_value(&self) -> Option<Duration> {
        self.start_timeout
    }

    /// Puts the [`client_timeout`](Self::client_timeout), when set, on a
    /// request: the retry loop uses a request's own timeout as its bound.
    pub(crate) fn bound(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.client_timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        }
    }

    /// The headers these options put on a request (`priority` only on submit,
    /// as fal's direct run has no queue).
    pub(crate) fn headers(&self, with_priority: bool) -> Result<HeaderMap> {
        let mut headers = self.headers.clone();
        if let Some(timeout) = self.start_timeout {
            let secs = timeout.as_secs_f64();
            if secs <= 0.1 {
                return Err(Error::config(format!(
                    "start timeout {timeout:?} is too short: fal requires more than 0.1 s"
                )));
            }
            headers.insert(
                "x-fal-request-timeout",
                HeaderValue::from_str(&format_seconds(secs))
                    .map_err(|err| Error::config_because("start timeout", err))?,
            );
        }
        if let (true, Some(priority)) = (with_priority, self.priority) {
            headers.insert(
                "x-fal-queue-priority",
                HeaderValue::from_static(priority.as_str()),
            );
        }
        if let Some(hint) = &self.runner_hint {
            let value = HeaderValue::from_str(hint).map_err(|_| {
                Error::config(format!("runner hint {hint:?} is not a valid header value"))
            })?;
            headers.insert("x-fal-runner-hint", value);
        }
        if let Some(lifecycle) = self
            .object_lifecycle
            .as_ref()
            .and_then(ObjectLifecycle::to_json)
        {
            let value = HeaderValue::from_str(&lifecycle)
                .map_err(|err| Error::config_because("object lifecycle", err))?;
            headers.insert("x-fal-object-lifecycle-preference", value);
        }
        Ok(headers)
    }
}

/// Seconds as the shortest decimal string (`30`, `2.5`), as fal's JS client sends them.
fn format_seconds(secs: f64) -> String {
    let rounded = (secs * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

/// Lifetime and access of objects a request produces (spec 7.6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectLifecycle {
    #[serde(
        rename = "expiration_duration_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    expiration_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_acl: Option<Acl>,
}

/// How long produced objects live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiration {
    /// 60 seconds.
    Immediate,
    /// One hour.
    OneHour,
    /// One day.
    OneDay,
    /// Seven days.
    SevenDays,
    /// Thirty days.
    ThirtyDays,
    /// One year.
    OneYear,
    /// Never expire (the field is omitted).
    Never,
    /// Any number of seconds.
    Seconds(u64),
}

impl Expiration {
    fn seconds(self) -> Option<u64> {
        match self {
            Expiration::Immediate => Some(60),
            Expiration::OneHour => Some(3_600),
            Expiration::OneDay => Some(86_400),
            Expiration::SevenDays => Some(604_800),
            Expiration::ThirtyDays => Some(2_592_000),
            Expiration::OneYear => Some(31_536_000),
            Expiration::Never => None,
            Expiration::Seconds(s) => Some(s),
        }
    }
}

/// Who may read produced objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acl {
    /// The decision for everyone not named in `rules`.
    pub default: AclDecision,
    /// Per-user decisions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<AclRule>,
}

/// One user's access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AclRule {
    /// The fal user.
    pub user: String,
    /// Their access.
    pub decision: AclDecision,
}

/// An access decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AclDecision {
    /// Not listed, but readable by URL.
    Hide,
    /// Not readable.
    Forbid,
    /// Readable.
    Allow,
}

impl ObjectLifecycle {
    /// An empty preference (no header is sent).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the expiration.
    pub fn expiration(mut self, expiration: Expiration) -> Self {
        self.expiration_seconds = expiration.seconds();
        self
    }

    /// Sets the initial access list.
    pub fn initial_acl(mut self, acl: Acl) -> Self {
        self.initial_acl = Some(acl);
        self
    }

    /// Compact JSON, or `None` when empty (fal's clients omit the header then).
    pub(crate) fn to_json(&self) -> Option<String> {
        if self.expiration_seconds.is_none() && self.initial_acl.is_none() {
            return None;
        }
        serde_json::to_string(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_rendered_as_fal_expects() {
        let options = RequestOptions::new()
            .start_timeout(Duration::from_millis(2500))
            .priority(Priority::Low)
            .runner_hint("session-1")
            .header(
                HeaderName::from_static("x-fal-store-io"),
                HeaderValue::from_static("0"),
            )
            .object_lifecycle(ObjectLifecycle::new().expiration(Expiration::OneHour));
        let headers = options.headers(true).unwrap();
        assert_eq!(headers["x-fal-request-timeout"], "2.5");
        assert_eq!(headers["x-fal-queue-priority"], "low");
        assert_eq!(headers["x-fal-runner-hint"], "session-1");
        assert_eq!(headers["x-fal-store-io"], "0");
        assert_eq!(
            headers["x-fal-object-lifecycle-preference"],
            r#"{"expiration_duration_seconds":3600}"#
        );
        assert!(options
            .headers(false)
            .unwrap()
            .get("x-fal-queue-priority")
            .is_none());
        let whole = RequestOptions::new().start_timeout(Duration::from_secs(30));
        assert_eq!(whole.headers(false).unwrap()["x-fal-request-timeout"], "30");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(RequestOptions::new()
            .start_timeout(Duration::from_millis(100))
            .headers(true)
            .is_err());
        assert!(RequestOptions::new()
            .runner_hint("a\nb")
            .headers(true)
            .is_err());
        assert!(ObjectLifecycle::new()
            .expiration(Expiration::Never)
            .to_json()
            .is_none());
    }

    #[test]
    fn acl_json() {
        let lifecycle = ObjectLifecycle::new().initial_acl(Acl {
            default: AclDecision::Hide,
            rules: vec![AclRule {
                user: "u".into(),
                decision: AclDecision::Allow,
            }],
        });
        assert_eq!(
            lifecycle.to_json().unwrap(),
            r#"{"initial_acl":{"default":"hide","rules":[{"user":"u","decision":"allow"}]}}"#
        );
    }
}
