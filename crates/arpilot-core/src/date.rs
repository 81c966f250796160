//! Civil dates as day numbers.
//!
//! The engine stores dates as `i32` days since 1970-01-01 so that columns stay small and
//! "days overdue" is a subtraction. Conversions use Howard Hinnant's civil-calendar algorithms
//! (proleptic Gregorian calendar).

use std::fmt;

/// A calendar date (no time of day), stored as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Day(pub i32);

/// Why a text is not a date arpilot takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("expected a date as YYYY-MM-DD, found {found:?}")]
    Format { found: String },
    #[error("expected a date from 1900-01-01 to 2199-12-31, found {found:?}")]
    Range { found: String },
}

impl Day {
    pub const MIN: Day = Day(i32::MIN);
    pub const MAX: Day = Day(i32::MAX);
    /// The first and last dates accepted from outside (files, pushes, parameters): date
    /// arithmetic inside (month ends, terms, horizons) then stays far from the calendar's limits
    /// and cannot fail.
    pub const FIRST_SUPPORTED: Day = Day(-25_567);
    pub const LAST_SUPPORTED: Day = Day(84_005);

    /// True from 1900-01-01 to 2199-12-31.
    pub fn is_supported(self) -> bool {
        (Day::FIRST_SUPPORTED..=Day::LAST_SUPPORTED).contains(&self)
    }

    /// A date read from outside: `None` when the month or day does not exist or the date is
    /// outside 1900-01-01..=2199-12-31.
    pub fn from_ymd_supported(y: i32, m: u32, d: u32) -> Option<Day> {
        Day::from_ymd(y, m, d).filter(|d| d.is_supported())
    }

    /// `None` when the month or day does not exist.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
            return None;
        }
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day(era * 146_097 + doe - 719_468))
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// Parses `YYYY-MM-DD` strictly (four-digit year, two-digit month and day), from 1900-01-01
    /// to 2199-12-31.
    pub fn parse_iso(s: &str) -> Result<Day, DateError> {
        let err = || DateError::Format {
            found: s.to_string(),
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
            })
        };
        let (y, m, d) = (num(0..4), num(5..7), num(8..10));
        match (y, m, d) {
            (Some(y), Some(m), Some(d)) => {
                let day = Day::from_ymd(y as i32, m, d).ok_or_else(err)?;
                if day.is_supported() {
                    Ok(day)
                } else {
                    Err(DateError::Range {
                        found: s.to_string(),
                    })
                }
            }
            _ => Err(err()),
        }
    }

    pub fn year(self) -> i32 {
        self.ymd().0
    }

    pub fn add_days(self, n: i32) -> Day {
        Day(self.0 + n)
    }

    /// First day of this date's month.
    pub fn month_start(self) -> Day {
        let (y, m, _) = self.ymd();
        Day::from_ymd(y, m, 1).expect("valid month")
    }

    /// Last day of this date's month.
    pub fn month_end(self) -> Day {
        let (y, m, _) = self.ymd();
        Day::from_ymd(y, m, days_in_month(y, m)).expect("valid month")
    }

    /// Last day of the month `n` months after (or before, when negative) this date's month.
    pub fn month_end_offset(self, n: i32) -> Day {
        let (y, m, _) = self.ymd();
        let idx = y * 12 + (m as i32 - 1) + n;
        let (y2, m2) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
        Day::from_ymd(y2, m2, days_in_month(y2, m2)).expect("valid month")
    }

    /// Months since year 0, handy as a dense month index.
    pub fn month_index(self) -> i32 {
        let (y, m, _) = self.ymd();
        y * 12 + m as i32 - 1
    }

    /// `YYYY-MM`.
    pub fn month_label(self) -> String {
        let (y, m, _) = self.ymd();
        format!("{y:04}-{m:02}")
    }
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl std::str::FromStr for Day {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Day::parse_iso(s)
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_from_outside_are_bounded() {
        assert_eq!(Day::parse_iso("1900-01-01"), Ok(Day::FIRST_SUPPORTED));
        assert_eq!(Day::parse_iso("2199-12-31"), Ok(Day::LAST_SUPPORTED));
        assert_eq!(
            Day::parse_iso("9999-12-31").unwrap_err().to_string(),
            "expected a date from 1900-01-01 to 2199-12-31, found \"9999-12-31\""
        );
        assert!(Day::parse_iso("1899-12-31").is_err());
        assert!(Day::from_ymd_supported(2200, 1, 1).is_none());
        // The arithmetic the kernels do around a supported date stays valid.
        let last = Day::LAST_SUPPORTED;
        assert_eq!(last.month_end_offset(24).to_string(), "2201-12-31");
        assert_eq!(
            Day::FIRST_SUPPORTED.month_end_offset(-24).to_string(),
            "1898-01-31"
        );
    }

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(Day::from_ymd(2000, 3, 1).unwrap().0, 11_017);
        assert_eq!(
            Day::parse_iso("2024-02-29").unwrap().to_string(),
            "2024-02-29"
        );
        assert!(Day::parse_iso("2023-02-29").is_err());
        assert!(Day::parse_iso("2023-2-01").is_err());
        assert!(Day::parse_iso("2023-13-01").is_err());
        assert!(Day::parse_iso("20230101").is_err());
    }

    #[test]
    fn month_arithmetic() {
        let d = Day::parse_iso("2024-03-31").unwrap();
        assert_eq!(d.month_end_offset(-1).to_string(), "2024-02-29");
        assert_eq!(d.month_end_offset(-13).to_string(), "2023-02-28");
        assert_eq!(d.month_end_offset(10).to_string(), "2025-01-31");
        assert_eq!(d.month_start().to_string(), "2024-03-01");
    }

    proptest! {
        #[test]
        fn roundtrip(n in -700_000i32..2_900_000) {
            let d = Day(n);
            let (y, m, dd) = d.ymd();
            prop_assume!((1..=9999).contains(&y));
            prop_assert_eq!(Day::from_ymd(y, m, dd), Some(d));
            // Parsing takes the supported range only.
            let parsed = Day::parse_iso(&d.to_string());
            if d.is_supported() {
                prop_assert_eq!(parsed, Ok(d));
            } else {
                let out_of_range = matches!(parsed, Err(DateError::Range { .. }));
                prop_assert!(out_of_range, "{:?}", parsed);
            }
        }
    }
}
