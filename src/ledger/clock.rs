//! The ledger's notion of "now" and its timestamp format, `YYYY-MM-DDTHH:MM:SSZ`.
//!
//! `st` compares timestamps byte-wise (lease expiry), so every timestamp the ledger writes has
//! exactly this shape: UTC, second precision, `Z` suffix, four-digit year (clamped to 9999).

use std::time::{SystemTime, UNIX_EPOCH};

/// The last second a four-digit year can express (9999-12-31T23:59:59Z).
const MAX_SECS: i64 = 253_402_300_799;

/// Where "now" comes from: the wall clock, or a fixed instant for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A fixed instant, in seconds since the Unix epoch.
    Fixed(i64),
}

impl Clock {
    /// Now, in seconds since the Unix epoch.
    pub fn now_secs(self) -> i64 {
        match self {
            Clock::Fixed(secs) => secs,
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(MAX_SECS))
                .unwrap_or(0),
        }
    }

    /// Now, formatted.
    pub fn now_iso(self) -> String {
        format_secs(self.now_secs())
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (clamped to years 1970..=9999).
pub fn format_secs(secs: i64) -> String {
    let secs = secs.clamp(0, MAX_SECS);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_st() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_773_273_600, "2026-03-12T00:00:00Z"),
            (1_773_274_500, "2026-03-12T00:15:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (4_070_908_800, "2099-01-01T00:00:00Z"),
            (i64::MAX, "9999-12-31T23:59:59Z"),
            (-5, "1970-01-01T00:00:00Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_secs(secs), want, "{secs}");
        }
    }
}
