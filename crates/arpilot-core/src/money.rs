//! Money as integer minor units of an ISO-4217 currency. No floating point touches an amount.

use std::fmt;

/// An ISO-4217 currency code (three upper-case ASCII letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("expected a currency code of three letters (e.g. EUR), found {0:?}")]
    Currency(String),
    #[error(
        "expected a positive decimal amount with '.' as separator and at most {decimals} decimals, found {found:?}"
    )]
    Amount { found: String, decimals: u8 },
    #[error(
        "amount {0:?} is too large (expected at most 10^13 minor units: 100000000000.00 in a currency of 2 decimals)"
    )]
    Overflow(String),
}

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(s: &str) -> Result<Currency, MoneyError> {
        let b = s.trim().as_bytes();
        if b.len() == 3 && b.iter().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(MoneyError::Currency(s.to_string()))
        }
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ascii")
    }

    /// Number of decimals of the currency's minor unit (ISO-4217).
    pub fn decimals(&self) -> u8 {
        match &self.0 {
            b"JPY" | b"KRW" | b"CLP" | b"ISK" | b"VND" | b"XOF" | b"XAF" | b"XPF" | b"PYG"
            | b"UGX" | b"RWF" | b"KMF" | b"GNF" | b"DJF" | b"VUV" | b"BIF" => 0,
            b"BHD" | b"KWD" | b"JOD" | b"OMR" | b"TND" | b"LYD" | b"IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Largest amount of one document, payment, allocation, promise, dispute or credit limit: 10^13
/// minor units (100 billion euros). See [`crate::bounds`].
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;

/// Parses a non-negative decimal such as `1234.5` into minor units with `decimals` decimals, at
/// most [`MAX_AMOUNT`]. Refuses signs, exponents, thousands separators and more decimals than the
/// currency has.
pub fn parse_minor(s: &str, decimals: u8) -> Result<i64, MoneyError> {
    let v = parse_scaled(s, decimals)?;
    if v > MAX_AMOUNT {
        return Err(MoneyError::Overflow(s.to_string()));
    }
    Ok(v)
}

/// [`parse_minor`] without the amount bound, for other scaled decimals (rates in 10^-9).
pub fn parse_scaled(s: &str, decimals: u8) -> Result<i64, MoneyError> {
    let bad = || MoneyError::Amount {
        found: s.to_string(),
        decimals,
    };
    let t = s.trim();
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || (t.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    // Trailing zeros beyond the currency's decimals are harmless ("10.500" EUR).
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals as usize {
        return Err(bad());
    }
    let mut v: i64 = 0;
    let overflow = || MoneyError::Overflow(s.to_string());
    for c in int.bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as i64))
            .ok_or_else(overflow)?;
    }
    for i in 0..decimals as usize {
        let digit = frac.as_bytes().get(i).map_or(0, |c| (c - b'0') as i64);
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(overflow)?;
    }
    Ok(v)
}

/// Formats minor units as a decimal string: `123450, 2` → `"1234.50"`, negative with a leading `-`.
pub fn format_minor(v: i64, decimals: u8) -> String {
    let mut out = String::with_capacity(24);
    write_minor(&mut out, v, decimals, None);
    out
}

/// Like [`format_minor`] with a thousands separator and a chosen decimal mark, for people.
pub fn format_minor_grouped(v: i64, decimals: u8, thousands: char, mark: char) -> String {
    let mut out = String::with_capacity(28);
    write_minor(&mut out, v, decimals, Some((thousands, mark)));
    out
}

fn write_minor(out: &mut String, v: i64, decimals: u8, grouping: Option<(char, char)>) {
    let neg = v < 0;
    let abs = v.unsigned_abs();
    let p = 10u64.pow(decimals as u32);
    let (int, frac) = (abs / p, abs % p);
    if neg {
        out.push('-');
    }
    let digits = int.to_string();
    match grouping {
        None => out.push_str(&digits),
        Some((sep, _)) => {
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(sep);
                }
                out.push(c);
            }
        }
    }
    if decimals > 0 {
        out.push(grouping.map_or('.', |g| g.1));
        out.push_str(&format!("{frac:0width$}", width = decimals as usize));
    }
}

/// An amount in a currency: what a serialised report carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// The amount with its currency's decimals, digits grouped by three with `thousands` and the
    /// decimal `mark` (`1,234.50`, `1 234,50`), without the currency.
    pub fn grouped(self, thousands: char, mark: char) -> String {
        format_minor_grouped(self.minor, self.currency.decimals(), thousands, mark)
    }

    /// The amount in units of its currency (1234.5 for 1 234,50 EUR), for charts and
    /// spreadsheet cells: display only, never for sums.
    pub fn units(self) -> f64 {
        self.minor as f64 / 10f64.powi(self.currency.decimals() as i32)
    }

    /// The sum of amounts in `currency`, added in 128 bits (and held at the bounds of 64 bits,
    /// far beyond any bounded input), so no sum wraps around.
    pub fn sum(currency: Currency, items: impl IntoIterator<Item = Money>) -> Money {
        let total: i128 = items
            .into_iter()
            .map(|m| {
                debug_assert_eq!(m.currency, currency, "amounts of one currency");
                m.minor as i128
            })
            .sum();
        Money::new(
            total.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            currency,
        )
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money::sum(self.currency, [self, o])
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money::sum(
            self.currency,
            [self, Money::new(o.minor.saturating_neg(), o.currency)],
        )
    }
}

/// Amounts compare by value (of one currency; then by currency code, for a total order).
impl Ord for Money {
    fn cmp(&self, o: &Money) -> std::cmp::Ordering {
        self.minor
            .cmp(&o.minor)
            .then_with(|| self.currency.cmp(&o.currency))
    }
}

impl PartialOrd for Money {
    fn partial_cmp(&self, o: &Money) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.minor, self.currency.decimals()))
    }
}

/// Serialises as the decimal string the report contract asks for (`"1234.50"`).
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_adds_without_wrapping() {
        let e = |v| Money::new(v, Currency::EUR);
        assert_eq!(e(150) + e(250), e(400));
        assert_eq!(e(150) - e(250), e(-100));
        assert_eq!(Money::sum(Currency::EUR, [e(i64::MAX), e(1)]), e(i64::MAX));
        assert_eq!(
            Money::sum(Currency::EUR, [e(i64::MAX), e(1), e(-2)]),
            e(i64::MAX - 1)
        );
        assert_eq!(e(123_456).units(), 1234.56);
        assert!(e(-1) < e(0) && e(0).is_zero() && e(1).is_positive());
    }
    use proptest::prelude::*;

    #[test]
    fn parses_amounts() {
        assert_eq!(parse_minor("1234.5", 2), Ok(123_450));
        assert_eq!(parse_minor("0.07", 2), Ok(7));
        assert_eq!(parse_minor("12", 2), Ok(1200));
        assert_eq!(parse_minor(".5", 2), Ok(50));
        assert_eq!(parse_minor("10.500", 2), Ok(1050));
        assert_eq!(parse_minor("5", 0), Ok(5));
        for bad in ["", "-1", "1,5", "1.234", "1e3", "1.", "1 000", "+3", "."] {
            assert!(parse_minor(bad, 2).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_minor("99999999999999999999", 2),
            Err(MoneyError::Overflow(_))
        ));
        // The bound: 10^13 minor units, whatever the decimals.
        assert_eq!(parse_minor("100000000000.00", 2), Ok(MAX_AMOUNT));
        assert!(matches!(
            parse_minor("100000000000.01", 2),
            Err(MoneyError::Overflow(_))
        ));
        assert!(matches!(
            parse_minor("92233720368547758.07", 2),
            Err(MoneyError::Overflow(_))
        ));
        assert_eq!(parse_minor("10000000000000", 0), Ok(MAX_AMOUNT));
        assert_eq!(parse_scaled("17000.5", 9), Ok(17_000_500_000_000));
    }

    #[test]
    fn formats_amounts() {
        assert_eq!(format_minor(123_450, 2), "1234.50");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(7, 0), "7");
        assert_eq!(format_minor(1_234_567, 3), "1234.567");
        assert_eq!(
            format_minor_grouped(-123_456_789, 2, ' ', ','),
            "-1 234 567,89"
        );
        assert_eq!(format_minor_grouped(100_000, 2, ',', '.'), "1,000.00");
    }

    proptest! {
        #[test]
        fn format_parse_roundtrip(v in 0i64..i64::MAX / 10, dec in 0u8..4) {
            prop_assert_eq!(parse_scaled(&format_minor(v, dec), dec), Ok(v));
            let bounded = parse_minor(&format_minor(v, dec), dec);
            if v <= MAX_AMOUNT {
                prop_assert_eq!(bounded, Ok(v));
            } else {
                prop_assert!(matches!(bounded, Err(MoneyError::Overflow(_))));
            }
        }
    }
}
