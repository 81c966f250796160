//! JSON Schemas of the values serialised by hand ([`Money`], [`Currency`], [`Day`]), so that the
//! schemas derived for the report's shapes describe the JSON as it is written: amounts and dates
//! are strings.

use crate::date::Day;
use crate::money::{Currency, Money};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// An ISO date from 1900-01-01 to 2199-12-31, the dates accepted from outside: exactly the strings
/// [`Day::parse_iso`] takes (month lengths and leap years included).
pub const DATE_PATTERN: &str = concat!(
    "^(?:(?:19|20|21)[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:0[048]|[2468][048]|[13579][26])",
    "|21(?:0[48]|[2468][048]|[13579][26]))-02-29)$"
);

/// An amount as serialised: a decimal string with the currency's decimals, `-` when negative.
pub const MONEY_PATTERN: &str = r"^-?[0-9]+(\.[0-9]{1,3})?$";

impl JsonSchema for Money {
    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": "An amount in the currency's minor-unit precision, as a decimal string (\"1234.50\"); negative with a leading '-'.",
            "examples": ["1234.50"]
        })
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "An ISO-4217 currency code.",
            "examples": ["EUR"]
        })
    }
}

impl JsonSchema for Day {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Day".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            "examples": ["2026-10-31"]
        })
    }
}
