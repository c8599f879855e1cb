//! Object lifecycle on uploads (spec 7.6): the header names, and fal's
//! expiration names (`1h`, `7d`, …) as accepted on the command line.
//!
//! The settings themselves are [`ObjectLifecycle`](crate::ObjectLifecycle),
//! shared with request options (where they govern the objects a model
//! produces); on an upload they govern the uploaded object.

use std::str::FromStr;

use crate::options::Expiration;

/// The header fal's JS client sends on uploads (and fal's CDN reads).
pub const LIFECYCLE_HEADER: &str = "x-fal-object-lifecycle";
/// The header fal's Python client adds because storage initiation reads it.
/// Uploads send both so either service sees the setting.
pub const LIFECYCLE_PREFERENCE_HEADER: &str = "x-fal-object-lifecycle-preference";

/// Why a string is not an expiration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidExpiration(pub String);

impl std::fmt::Display for InvalidExpiration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid expiration {:?}: expected immediate, 1h, 1d, 7d, 30d, 1y, never or a positive number of seconds",
            self.0
        )
    }
}

impl std::error::Error for InvalidExpiration {}

impl FromStr for Expiration {
    type Err = InvalidExpiration;

    /// fal's names (`immediate`, `1h`, `1d`, `7d`, `30d`, `1y`, `never`) or
    /// a positive number of seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "immediate" => Self::Immediate,
            "1h" => Self::OneHour,
            "1d" => Self::OneDay,
            "7d" => Self::SevenDays,
            "30d" => Self::ThirtyDays,
            "1y" => Self::OneYear,
            "never" => Self::Never,
            other => match other.parse::<u64>() {
                Ok(seconds) if seconds > 0 => Self::Seconds(seconds),
                _ => return Err(InvalidExpiration(s.to_owned())),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectLifecycle;

    #[test]
    fn names_map_to_fal_seconds() {
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
            let expiration: Expiration = name.parse().unwrap();
            let json = ObjectLifecycle::new().expiration(expiration).to_json();
            let expected = seconds.map(|s| format!(r#"{{"expiration_duration_seconds":{s}}}"#));
            assert_eq!(json, expected, "{name}");
        }
        for bad in ["0", "-1", "2w", ""] {
            assert!(bad.parse::<Expiration>().is_err(), "{bad}");
        }
    }
}
