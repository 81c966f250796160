//! arpilot's functional core: money, dates, the ledger model and the KPI engine.
//!
//! Pure: no I/O, no async, no database. Importers turn files into [`ledger::Event`]s, the
//! [`snapshot::Snapshot`] keeps them as columns, and the kernels in [`report`], [`customers`]
//! and [`trend`] compute every figure of the KPI specification as of any date.

pub mod analytics;
pub mod bounds;
pub mod cash;
pub mod codec;
pub mod col;
pub mod columns;
pub mod customers;
pub mod daily;
pub mod date;
pub mod dso;
pub mod dunning;
pub mod forecast;
pub mod image;
pub mod invoices;
pub mod ledger;
pub mod money;
pub mod par;
pub mod report;
pub mod risk;
pub mod schema;
pub mod scope;
pub mod select;
pub mod snapshot;
pub mod sync;
pub mod trend;
pub mod view;
pub mod work;
pub mod worklist;

pub use date::Day;
pub use ledger::{DocKind, Event, LedgerError};
pub use money::{Currency, Money};
pub use report::{AgingConfig, Basis, GroupBy, ReportParams};
pub use select::{Filter, Selection};
pub use snapshot::{EventError, Snapshot};
