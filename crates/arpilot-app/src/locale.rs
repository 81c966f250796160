//! The two languages of arpilot and how each writes amounts, numbers and dates.

use arpilot_core::Money;

/// French or English: words, numbers (1 234,56 / 1,234.56) and dates (31/10/2026 / 2026-10-31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The user's setting, else the browser's first preference, else English.
    pub fn pick(user: &str, accept: Option<&str>) -> Lang {
        match user {
            "fr" => return Lang::Fr,
            "en" => return Lang::En,
            _ => {}
        }
        let first = accept
            .and_then(|a| a.split(',').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if first.starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    pub fn t(self, en: &'static str, fr: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    pub fn code(self) -> &'static str {
        self.t("en", "fr")
    }

    /// An amount without its currency: `1,234.50`, `1 234,50` (narrow no-break space, as French
    /// typography and Excel's fr-FR format use).
    pub fn amount(self, m: Money) -> String {
        match self {
            Lang::En => m.grouped(',', '.'),
            Lang::Fr => m.grouped('\u{202f}', ','),
        }
    }

    pub fn money(self, m: Money) -> String {
        let n = self.amount(m);
        match self {
            Lang::En => format!("{} {n}", m.currency),
            Lang::Fr => format!("{n}\u{a0}{}", m.currency),
        }
    }

    /// A short amount for chart labels: 46.5 M, 812 k, 950.
    pub fn compact(self, m: Money) -> String {
        let v = m.units();
        let (x, unit) = match v.abs() {
            a if a >= 1e6 => (v / 1e6, " M"),
            a if a >= 1e3 => (v / 1e3, " k"),
            _ => (v, ""),
        };
        let s = if unit.is_empty() {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        };
        let s = if self == Lang::Fr {
            s.replace('.', ",")
        } else {
            s
        };
        format!("{s}{unit}")
    }

    /// A date as French or English readers write it: 31/10/2026, 2026-10-31.
    pub fn date(self, d: arpilot_core::Day) -> String {
        match self {
            Lang::En => d.to_string(),
            Lang::Fr => {
                let (y, m, day) = d.ymd();
                format!("{day:02}/{m:02}/{y}")
            }
        }
    }

    /// A month's short name: `oct.`, `Oct` (`m` from 1 to 12).
    pub fn month_abbr(self, m: u32) -> &'static str {
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        let k = (m.clamp(1, 12) - 1) as usize;
        match self {
            Lang::En => EN[k],
            Lang::Fr => FR[k],
        }
    }

    /// The month of `d` as a reader names it: `oct. 2026`, `Oct 2026`.
    pub fn month(self, d: arpilot_core::Day) -> String {
        let (y, m, _) = d.ymd();
        format!("{} {y}", self.month_abbr(m))
    }

    /// A `YYYY-MM` month key (as the JSON writes months) in words, `None` when `key` is not one.
    pub fn month_key(self, key: &str) -> Option<String> {
        let (y, m) = key.split_once('-')?;
        let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
        (y > 0 && (1..=12).contains(&m) && key.len() == 7)
            .then(|| format!("{} {y}", self.month_abbr(m)))
    }

    pub fn num(self, v: Option<f64>, unit: &str) -> String {
        match v {
            None => "—".into(),
            Some(v) => {
                let s = format!("{v:.1}");
                let s = if self == Lang::Fr {
                    s.replace('.', ",")
                } else {
                    s
                };
                format!("{s}{unit}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_words() {
        let d = arpilot_core::Day::from_ymd(2026, 10, 31).unwrap();
        assert_eq!(Lang::Fr.month(d), "oct. 2026");
        assert_eq!(Lang::En.month(d), "Oct 2026");
        assert_eq!(Lang::Fr.month_key("2027-02").as_deref(), Some("févr. 2027"));
        assert_eq!(Lang::En.month_key("2027-13"), None);
        assert_eq!(Lang::En.month_key("later"), None);
    }
}
