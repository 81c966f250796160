//! Filters on dimensions, resolved once into masks that kernels test per row.

use crate::columns::{DimCol, Dims};
use crate::snapshot::Snapshot;

/// `NAME=VALUE`: keep the customers or documents whose dimension `NAME` equals `VALUE`.
/// Filters on the same dimension are alternatives (OR); different dimensions must all hold (AND).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub value: String,
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, SelectError> {
        match s.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => Ok(Filter {
                name: n.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(SelectError::Syntax(s.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("expected a filter as NAME=VALUE, found {0:?}")]
    Syntax(String),
    #[error("unknown dimension {name:?} (expected one of: {known})")]
    UnknownDimension { name: String, known: String },
}

/// Which rows a report looks at.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `None`: every customer.
    cust: Option<Vec<bool>>,
    /// Document-level conditions: (dimension column index, allowed codes).
    inv: Vec<(usize, Vec<bool>)>,
    src: Vec<(usize, Vec<bool>)>,
    /// True when a document-level dimension is filtered: unapplied cash can then only be
    /// attributed through the documents that carry the dimension.
    pub doc_level: bool,
    /// Invoices kept by a condition computed outside (status at a date, issue period).
    inv_mask: Option<std::sync::Arc<Vec<bool>>>,
}

/// Dimension names that designate the customer itself.
const CUSTOMER_KEYS: [&str; 2] = ["customer_id", "customer"];

impl Selection {
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Rows selected by both: unlike repeated filters on one name (any of the values), this
    /// can only narrow, which is what a portfolio restriction needs.
    pub fn and(mut self, other: Selection) -> Selection {
        self.cust = match (self.cust, other.cust) {
            (None, x) | (x, None) => x,
            (Some(mut a), Some(b)) => {
                a.iter_mut().zip(b).for_each(|(x, y)| *x &= y);
                Some(a)
            }
        };
        self.inv.extend(other.inv);
        self.src.extend(other.src);
        self.doc_level |= other.doc_level;
        if let Some(m) = other.inv_mask {
            self.inv_mask = Some(match self.inv_mask {
                None => m,
                Some(a) => {
                    std::sync::Arc::new(a.iter().zip(m.iter()).map(|(x, y)| *x && *y).collect())
                }
            });
        }
        self
    }

    /// Keeps only the snapshot's invoices for which `keep(row)` holds (a document-level
    /// condition computed outside, such as a status at a date or an issue period).
    pub fn with_invoices_of(mut self, snap: &Snapshot, keep: impl Fn(usize) -> bool) -> Selection {
        let mask: Vec<bool> = (0..snap.invoice_count())
            .map(|i| self.inv_mask.as_ref().is_none_or(|m| m[i]) && keep(i))
            .collect();
        self.inv_mask = Some(std::sync::Arc::new(mask));
        self.doc_level = true;
        self
    }

    /// The customers and documents of a portfolio's conditions (none: everything); a condition
    /// on a dimension the ledger lacks holds no customer.
    pub fn portfolio(snap: &Snapshot, filters: &[Filter]) -> Selection {
        Selection::resolve(snap, filters).unwrap_or_else(|_| Selection::none(snap))
    }

    /// Only the customers for which `keep(row)` holds (a set computed outside).
    pub fn of_customers(snap: &Snapshot, keep: impl Fn(u32) -> bool) -> Selection {
        Selection {
            cust: Some((0..snap.customers.names.len() as u32).map(keep).collect()),
            ..Selection::default()
        }
    }

    /// No row at all.
    pub fn none(snap: &Snapshot) -> Selection {
        Selection {
            cust: Some(vec![false; snap.customers.names.len()]),
            ..Selection::default()
        }
    }

    pub fn is_all(&self) -> bool {
        self.cust.is_none() && !self.doc_level
    }

    /// True when only customers are selected (every document and payment of a kept customer
    /// is kept): per-customer figures of the whole ledger then hold for the selection.
    pub fn customers_only(&self) -> bool {
        self.inv.is_empty() && self.src.is_empty() && !self.doc_level && self.inv_mask.is_none()
    }

    pub fn resolve(snap: &Snapshot, filters: &[Filter]) -> Result<Selection, SelectError> {
        let mut sel = Selection::default();
        let mut names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let nc = snap.customers.names.len();
        for name in names {
            let values: Vec<&str> = filters
                .iter()
                .filter(|f| f.name == name)
                .map(|f| f.value.as_str())
                .collect();
            if CUSTOMER_KEYS.contains(&name) {
                let mask = sel.cust.get_or_insert_with(|| vec![true; nc]);
                let mut hit = vec![false; nc];
                for v in &values {
                    if let Some(r) = snap.customers.ids.find(v) {
                        hit[r as usize] = true;
                    }
                }
                mask.iter_mut().zip(hit).for_each(|(m, h)| *m &= h);
            } else if let Some(col) = snap.customers.dims.get(name) {
                let allowed = allowed_codes(col, &values);
                let mask = sel.cust.get_or_insert_with(|| vec![true; nc]);
                for (r, m) in mask.iter_mut().enumerate() {
                    *m &= allowed[col.code(r as u32) as usize];
                }
            } else {
                let ic = position(&snap.invoices.dims, name);
                let sc = position(&snap.sources.dims, name);
                if ic.is_none() && sc.is_none() {
                    return Err(SelectError::UnknownDimension {
                        name: name.to_string(),
                        known: known_dimensions(snap).join(", "),
                    });
                }
                sel.doc_level = true;
                // A table without the column has only empty values.
                push_doc_cond(&mut sel.inv, &snap.invoices.dims, ic, &values);
                push_doc_cond(&mut sel.src, &snap.sources.dims, sc, &values);
            }
        }
        Ok(sel)
    }

    #[inline]
    pub fn customer(&self, c: u32) -> bool {
        self.cust.as_ref().is_none_or(|m| m[c as usize])
    }

    #[inline]
    pub fn invoice(&self, snap: &Snapshot, i: usize) -> bool {
        self.inv_mask
            .as_ref()
            .is_none_or(|m| m.get(i).copied().unwrap_or(false))
            && self.customer(snap.invoices.customer[i])
            && self
                .inv
                .iter()
                .all(|(col, ok)| doc_ok(&snap.invoices.dims, *col, ok, i))
    }

    #[inline]
    pub fn source(&self, snap: &Snapshot, s: usize) -> bool {
        self.customer(snap.sources.customer[s])
            && self
                .src
                .iter()
                .all(|(col, ok)| doc_ok(&snap.sources.dims, *col, ok, s))
    }
}

#[inline]
fn doc_ok(dims: &Dims, col: usize, ok: &[bool], row: usize) -> bool {
    if col == usize::MAX {
        return ok[0];
    }
    ok[dims.cols[col].code(row as u32) as usize]
}

fn position(dims: &Dims, name: &str) -> Option<usize> {
    dims.cols.iter().position(|c| c.name == name)
}

fn allowed_codes(col: &DimCol, values: &[&str]) -> Vec<bool> {
    let mut ok = vec![false; col.dict.len()];
    for v in values {
        if let Some(c) = col.dict.find(v) {
            ok[c as usize] = true;
        }
    }
    ok
}

fn push_doc_cond(
    conds: &mut Vec<(usize, Vec<bool>)>,
    dims: &Dims,
    col: Option<usize>,
    values: &[&str],
) {
    match col {
        Some(c) => conds.push((c, allowed_codes(&dims.cols[c], values))),
        None => conds.push((usize::MAX, vec![values.contains(&"")])),
    }
}

/// Every dimension a filter or a grouping can name.
pub fn known_dimensions(snap: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = CUSTOMER_KEYS.iter().map(|s| s.to_string()).collect();
    for dims in [
        &snap.customers.dims,
        &snap.invoices.dims,
        &snap.sources.dims,
    ] {
        for c in &dims.cols {
            if !v.contains(&c.name) {
                v.push(c.name.clone());
            }
        }
    }
    v
}
