//! The use cases of arpilot, written once for every shell (the web server and the command line):
//! importing files and pushed events, report requests parsed once, the views of the ledger as of
//! any date, exports and the words of both languages. The shells parse their input, call these
//! and render the result; the figures themselves come from `arpilot-core`.

pub mod cash;
pub mod customer;
pub mod dunning;
pub mod export;
pub mod help;
pub mod image;
pub mod import;
pub mod list;
pub mod locale;
pub mod management;
pub mod portal;
pub mod request;
pub mod statement;
pub mod subscriptions;
pub mod users;
pub mod view;
pub mod views;
pub mod work;
pub mod worklist;

pub use import::{Author, FileOutcome, Refused};

/// The value of setting `key`, trimmed; `None` when absent or blank.
pub(crate) fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}
pub use locale::Lang;
pub use request::{Defaults, ParamError, ReportRequest, Status};
pub use view::{View, Views};
