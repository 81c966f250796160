//! What a report is asked for: the date, aging buckets and basis, provision rates, grouping.

use crate::date::Day;

/// Which date the aging counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Basis {
    #[default]
    Due,
    Issue,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::Due => "due",
            Basis::Issue => "issue",
        }
    }
}

/// Aging buckets: `not_due` (≤ 0 days), then one bucket per upper bound (inclusive), then one
/// open-ended bucket beyond the last bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingConfig {
    bounds: Vec<i32>,
    pub basis: Basis,
    /// bucket index for day counts 1..=last bound (index 0 unused).
    lut: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "expected an increasing list of positive bucket bounds such as 30,60,90,120, found {0:?}"
    )]
    Buckets(String),
    #[error("expected {expected} provision rates (one per bucket), found {found}")]
    Provisions { expected: usize, found: usize },
    #[error("unknown grouping {name:?} (expected customer, invoice or one of: {known})")]
    Group { name: String, known: String },
}

impl Default for AgingConfig {
    fn default() -> Self {
        AgingConfig::new(vec![30, 60, 90, 120], Basis::Due).expect("valid default")
    }
}

impl AgingConfig {
    pub fn new(bounds: Vec<i32>, basis: Basis) -> Result<AgingConfig, ConfigError> {
        let ok = !bounds.is_empty()
            && bounds[0] > 0
            && bounds.windows(2).all(|w| w[0] < w[1])
            && bounds.len() < 250
            && *bounds.last().unwrap() <= 100_000;
        if !ok {
            return Err(ConfigError::Buckets(format!("{bounds:?}")));
        }
        let last = *bounds.last().unwrap() as usize;
        let mut lut = vec![0u8; last + 1];
        let mut b = 0;
        for (d, slot) in lut.iter_mut().enumerate().skip(1) {
            while d as i32 > bounds[b] {
                b += 1;
            }
            *slot = (b + 1) as u8;
        }
        Ok(AgingConfig { bounds, basis, lut })
    }

    /// Parses `30,60,90,120`.
    pub fn parse_bounds(s: &str) -> Result<Vec<i32>, ConfigError> {
        s.split(',')
            .map(|p| p.trim().parse::<i32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ConfigError::Buckets(s.to_string()))
    }

    pub fn bucket_count(&self) -> usize {
        self.bounds.len() + 2
    }

    #[inline]
    pub fn bucket(&self, days: i32) -> usize {
        if days <= 0 {
            0
        } else if days as usize >= self.lut.len() {
            self.bounds.len() + 1
        } else {
            self.lut[days as usize] as usize
        }
    }

    pub fn labels(&self) -> Vec<String> {
        let mut v = vec!["not_due".to_string()];
        let mut lo = 1;
        for &b in &self.bounds {
            v.push(format!("{lo}-{b}"));
            lo = b + 1;
        }
        v.push(format!("{}+", self.bounds.last().unwrap()));
        v
    }

    /// Lowest day count of each bucket (not_due: 0).
    fn lower_bounds(&self) -> Vec<i32> {
        let mut v = vec![0, 1];
        v.extend(self.bounds.iter().map(|b| b + 1));
        v
    }
}

/// Provision rates in basis points (1 % = 100).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRates {
    pub buckets: Vec<i64>,
    pub disputed: Option<i64>,
    pub in_legal: Option<i64>,
}

impl ProvisionRates {
    /// 0 % not due and up to 30 days, 25 % to 60, 50 % to 90, 75 % to 120, 100 % beyond,
    /// applied to each bucket by its lowest day count.
    pub fn default_for(aging: &AgingConfig) -> ProvisionRates {
        let rate = |lo: i32| match lo {
            ..=30 => 0,
            31..=60 => 2500,
            61..=90 => 5000,
            91..=120 => 7500,
            _ => 10_000,
        };
        ProvisionRates {
            buckets: aging.lower_bounds().into_iter().map(rate).collect(),
            disputed: None,
            in_legal: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Customer,
    Invoice,
    Dim(String),
}

impl GroupBy {
    pub fn parse(s: &str) -> GroupBy {
        match s {
            "customer" | "customer_id" => GroupBy::Customer,
            "invoice" | "document" | "document_id" => GroupBy::Invoice,
            other => GroupBy::Dim(other.to_string()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReportParams {
    pub as_of: Day,
    pub aging: AgingConfig,
    pub top: usize,
    pub by: Option<GroupBy>,
    pub provisions: ProvisionRates,
}

impl ReportParams {
    pub fn new(as_of: Day) -> ReportParams {
        let aging = AgingConfig::default();
        ReportParams {
            as_of,
            provisions: ProvisionRates::default_for(&aging),
            aging,
            top: 6,
            by: None,
        }
    }
}
