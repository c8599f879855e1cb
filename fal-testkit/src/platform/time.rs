//! Times as the Platform APIs write and read them: RFC 3339 in UTC, dates
//! (`2025-01-01`), and the start of a `timeframe` bucket.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2025-01-01T00:00:05.123Z`.
pub(super) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// An RFC 3339 time in UTC (`2025-01-01T00:00:00Z`, fractions allowed) or a
/// date (`2025-01-01`, its midnight UTC).
pub(super) fn parse(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        return humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok();
    }
    humantime::parse_rfc3339_weak(text).ok()
}

/// The aggregation step of usage and analytics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timeframe {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Timeframe {
    pub(super) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "minute" => Timeframe::Minute,
            "hour" => Timeframe::Hour,
            "day" => Timeframe::Day,
            "week" => Timeframe::Week,
            "month" => Timeframe::Month,
            _ => return None,
        })
    }

    /// The start of the bucket holding `at`, as RFC 3339 (weeks start on Monday).
    pub(super) fn bucket(self, at: SystemTime) -> String {
        let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let start = match self {
            Timeframe::Minute => secs - secs % 60,
            Timeframe::Hour => secs - secs % 3_600,
            Timeframe::Day => secs - secs % 86_400,
            Timeframe::Week => {
                let day = secs / 86_400;
                // 1970-01-01 was a Thursday: three days after a Monday.
                (day - (day + 3) % 7) * 86_400
            }
            Timeframe::Month => {
                let day = rfc3339(UNIX_EPOCH + Duration::from_secs(secs - secs % 86_400));
                return format!("{}-01T00:00:00Z", &day[..7]);
            }
        };
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(start)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_parsing() {
        let at = parse("2025-03-05T14:37:21Z").unwrap_or(UNIX_EPOCH);
        assert_eq!(Timeframe::Minute.bucket(at), "2025-03-05T14:37:00Z");
        assert_eq!(Timeframe::Hour.bucket(at), "2025-03-05T14:00:00Z");
        assert_eq!(Timeframe::Day.bucket(at), "2025-03-05T00:00:00Z");
        // 2025-03-05 is a Wednesday.
        assert_eq!(Timeframe::Week.bucket(at), "2025-03-03T00:00:00Z");
        assert_eq!(Timeframe::Month.bucket(at), "2025-03-01T00:00:00Z");
        assert_eq!(parse("2025-03-05"), parse("2025-03-05T00:00:00Z"));
        assert!(parse("yesterday").is_none());
        assert_eq!(rfc3339(at), "2025-03-05T14:37:21.000Z");
    }
}
