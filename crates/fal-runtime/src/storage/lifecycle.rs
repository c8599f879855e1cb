//! Object lifecycle settings for uploads (spec 7.6): how long fal keeps an
//! uploaded object and who may read it.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{json, Map, Value};

/// The header fal's JS client sends on uploads (and fal's CDN reads).
pub const LIFECYCLE_HEADER: &str = "x-fal-object-lifecycle";
/// The header fal's Python client adds because storage initiation reads it.
/// Uploads send both so either service sees the setting.
pub const LIFECYCLE_PREFERENCE_HEADER: &str = "x-fal-object-lifecycle-preference";

/// How long fal keeps an uploaded object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiration {
    /// About a minute (60 s): for inputs consumed right away.
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
    /// Keep it (no expiration is sent).
    Never,
    /// This many seconds.
    Seconds(NonZeroU64),
}

impl Expiration {
    /// Seconds to send as `expiration_duration_seconds`; `None` for [`Never`](Self::Never).
    pub fn seconds(self) -> Option<u64> {
        match self {
            Self::Immediate => Some(60),
            Self::OneHour => Some(3_600),
            Self::OneDay => Some(86_400),
            Self::SevenDays => Some(604_800),
            Self::ThirtyDays => Some(2_592_000),
            Self::OneYear => Some(31_536_000),
            Self::Never => None,
            Self::Seconds(seconds) => Some(seconds.get()),
        }
    }
}

/// Why a string is not an expiration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid expiration {0:?}: expected immediate, 1h, 1d, 7d, 30d, 1y, never or a positive number of seconds")]
pub struct InvalidExpiration(pub String);

impl FromStr for Expiration {
    type Err = InvalidExpiration;

    /// fal's names (`immediate`, `1h`, `1d`, `7d`, `30d`, `1y`, `never`) or seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "immediate" => Self::Immediate,
            "1h" => Self::OneHour,
            "1d" => Self::OneDay,
            "7d" => Self::SevenDays,
            "30d" => Self::ThirtyDays,
            "1y" => Self::OneYear,
            "never" => Self::Never,
            other => other
                .parse::<NonZeroU64>()
                .map(Self::Seconds)
                .map_err(|_| InvalidExpiration(s.to_owned()))?,
        })
    }
}

/// What an access rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AclDecision {
    /// Answer as if the object did not exist.
    Hide,
    /// Refuse access.
    Forbid,
    /// Allow access.
    Allow,
}

impl fmt::Display for AclDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hide => "hide",
            Self::Forbid => "forbid",
            Self::Allow => "allow",
        })
    }
}

/// One per-user access rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AclRule {
    /// The fal user the rule is about.
    pub user: String,
    /// What that user gets.
    pub decision: AclDecision,
}

/// Who may read the object when it is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InitialAcl {
    /// The decision for everyone no rule names.
    pub default: AclDecision,
    /// Per-user exceptions.
    pub rules: Vec<AclRule>,
}

/// Lifecycle settings for an upload; the default sends nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectLifecycle {
    /// How long the object is kept; `None` leaves it to fal.
    pub expiration: Option<Expiration>,
    /// Initial access control; `None` leaves it to fal.
    pub initial_acl: Option<InitialAcl>,
}

impl ObjectLifecycle {
    /// Settings that only set the expiration.
    pub fn expiring(expiration: Expiration) -> Self {
        Self {
            expiration: Some(expiration),
            initial_acl: None,
        }
    }

    /// The JSON object fal expects, or `None` when it would be empty (fal's
    /// clients then omit the header).
    pub fn to_json(&self) -> Option<Value> {
        let mut object = Map::new();
        if let Some(seconds) = self.expiration.and_then(Expiration::seconds) {
            object.insert("expiration_duration_seconds".into(), json!(seconds));
        }
        if let Some(acl) = &self.initial_acl {
            object.insert("initial_acl".into(), json!(acl));
        }
        (!object.is_empty()).then_some(Value::Object(object))
    }

    /// The compact header value, or `None` when nothing is set.
    pub fn header_value(&self) -> Option<String> {
        self.to_json().map(|value| value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_seconds() {
        let cases = [
            ("immediate", Some(60)),
            ("1h", Some(3600)),
            ("1d", Some(86400)),
            ("7d", Some(604800)),
            ("30d", Some(2592000)),
            ("1y", Some(31536000)),
            ("never", None),
            ("42", Some(42)),
        ];
        for (name, seconds) in cases {
            assert_eq!(name.parse::<Expiration>().unwrap().seconds(), seconds, "{name}");
        }
        for bad in ["0", "-1", "2w", ""] {
            assert!(bad.parse::<Expiration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn header_is_compact_and_omitted_when_empty() {
        assert_eq!(ObjectLifecycle::default().header_value(), None);
        assert_eq!(
            ObjectLifecycle::expiring(Expiration::Never).header_value(),
            None
        );
        let lifecycle = ObjectLifecycle {
            expiration: Some(Expiration::OneHour),
            initial_acl: Some(InitialAcl {
                default: AclDecision::Hide,
                rules: vec![AclRule {
                    user: "alice".into(),
                    decision: AclDecision::Allow,
                }],
            }),
        };
        assert_eq!(
            lifecycle.header_value().unwrap(),
            r#"{"expiration_duration_seconds":3600,"initial_acl":{"default":"hide","rules":[{"user":"alice","decision":"allow"}]}}"#
        );
    }
}
