//! The current time, passed in like the environment (`config::Environment`), so that everything
//! that depends on dates (expiry, days left, chain validity in the diagnosis) can be tested at a
//! fixed one.

use rustls::pki_types::UnixTime;

/// A moment, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    unix: i64,
}

impl Clock {
    /// The system clock, now.
    pub fn system() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Clock { unix }
    }

    /// A fixed moment.
    pub fn at(unix: i64) -> Self {
        Clock { unix }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.unix
    }

    /// The day, as `YYYY-MM-DD` in UTC.
    pub fn date(self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.unix).map_or_else(
            |_| "1970-01-01".into(),
            |t| {
                let d = t.date();
                format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
            },
        )
    }

    /// The moment as webpki takes it.
    pub fn webpki(self) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(self.unix.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn the_date_is_the_utc_day_as_year_month_day() {
        let cases = [
            (0, "1970-01-01"),
            (1_796_169_599, "2026-12-01"),
            (1_796_169_600, "2026-12-02"),
            (1_803_945_600, "2027-03-02"),
        ];
        for (unix, date) in cases {
            assert_eq!(Clock::at(unix).date(), date, "{unix}");
        }
    }
}
