//! Synchronisation of a new export with the ledger already stored: what is already there is
//! skipped, what is new is appended, and what changed becomes an amendment effective on the
//! import date (or a warning when history cannot be amended, e.g. a changed amount).
//!
//! Documents, payments, customers, disputes and promises are matched by their identity;
//! allocations, actions and rates by content, counting repeats (two identical allocations in a
//! file are two allocations).

use crate::codec;
use crate::date::Day;
use crate::ledger::*;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Customer(String),
    Document(String),
    Payment(String),
    Dispute(String, Day),
    Promise(String, Day),
}

fn key(ev: &Event) -> Option<Key> {
    Some(match ev {
        Event::Customer(c) => Key::Customer(c.id.clone()),
        Event::Document(d) => Key::Document(d.id.clone()),
        Event::Payment(p) => Key::Payment(p.id.clone()),
        Event::Dispute(d) => Key::Dispute(d.invoice_id.clone(), d.opened_on),
        Event::Promise(p) => Key::Promise(p.invoice_id.clone(), p.promised_on),
        _ => return None,
    })
}

/// 128-bit content hash of an event's stored form (two FNV-1a lanes with distinct primes).
pub fn content_hash(ev: &Event) -> u128 {
    let (k, payload) = codec::encode(ev);
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &x in k.to_le_bytes().iter().chain(payload.as_bytes()) {
        a = (a ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ x as u64)
            .wrapping_mul(0x0000_0001_0000_0193)
            .rotate_left(5);
    }
    ((a as u128) << 64) | b as u128
}

/// What the ledger holds, as far as synchronisation needs it.
pub struct Ledger<'a> {
    events: &'a [Event],
    keyed: HashMap<Key, u32>,
    /// Current state of keyed events changed by amendments (or appended by this import).
    current: HashMap<Key, Event>,
    counts: HashMap<u128, u32>,
    /// Opening dates of each invoice's disputes.
    disputes: HashMap<String, Vec<Day>>,
}

impl<'a> Ledger<'a> {
    pub fn new(events: &'a [Event]) -> Ledger<'a> {
        let mut l = Ledger {
            events,
            keyed: HashMap::new(),
            current: HashMap::new(),
            counts: HashMap::new(),
            disputes: HashMap::new(),
        };
        for (i, ev) in events.iter().enumerate() {
            match key(ev) {
                Some(k) => {
                    l.note_dispute(&k);
                    l.keyed.insert(k, i as u32);
                }
                None => match ev {
                    Event::Amend(a) => l.apply(&a.change),
                    _ => *l.counts.entry(content_hash(ev)).or_default() += 1,
                },
            }
        }
        l
    }

    fn note_dispute(&mut self, k: &Key) {
        if let Key::Dispute(inv, day) = k {
            self.disputes.entry(inv.clone()).or_default().push(*day);
        }
    }

    fn get(&self, k: &Key) -> Option<&Event> {
        self.current
            .get(k)
            .or_else(|| self.keyed.get(k).map(|&i| &self.events[i as usize]))
    }

    fn apply(&mut self, change: &Change) {
        match change {
            Change::Customer(c) => {
                self.current
                    .insert(Key::Customer(c.id.clone()), Event::Customer(c.clone()));
            }
            Change::DueDate { document_id, due } => {
                self.edit_doc(document_id, |d| d.due = Some(*due));
            }
            Change::InLegal {
                document_id,
                in_legal,
            } => self.edit_doc(document_id, |d| d.in_legal = *in_legal),
            Change::DisputeResolved {
                invoice_id,
                resolved_on,
                ..
            } => {
                self.edit_doc(invoice_id, |d| d.disputed = false);
                let open: Vec<Key> = self
                    .disputes
                    .get(invoice_id)
                    .into_iter()
                    .flatten()
                    .map(|day| Key::Dispute(invoice_id.clone(), *day))
                    .collect();
                for k in open {
                    if let Some(Event::Dispute(mut d)) = self.get(&k).cloned()
                        && d.resolved_on.is_none()
                    {
                        d.resolved_on = Some(*resolved_on);
                        self.current.insert(k, Event::Dispute(d));
                    }
                }
            }
        }
    }

    fn edit_doc(&mut self, id: &str, f: impl FnOnce(&mut DocumentRec)) {
        let k = Key::Document(id.to_string());
        if let Some(Event::Document(mut d)) = self.get(&k).cloned() {
            f(&mut d);
            self.current.insert(k, Event::Document(d));
        }
    }
}

/// What an import appends, and what it found.
#[derive(Debug, Default)]
pub struct Plan {
    /// New events and amendments, in order. Kept apart from their origins so that a whole
    /// file of new events is planned without copying it (at 10 M invoices, 24 M events of
    /// 192 bytes).
    pub append: Vec<Event>,
    /// The index of the incoming event each of `append` comes from; empty when they are the
    /// incoming events themselves (see [`Plan::origin`]).
    pub origin: Vec<usize>,
    /// Incoming events already in the ledger.
    pub unchanged: usize,
    /// Amendments among `append`.
    pub amended: usize,
    /// Changes that cannot be applied to history, by incoming event.
    pub warnings: Vec<(usize, String)>,
}

impl Plan {
    /// Every incoming event, new.
    pub fn all_new(incoming: Vec<Event>) -> Plan {
        Plan {
            append: incoming,
            ..Plan::default()
        }
    }

    /// The index of the incoming event that `append[k]` comes from.
    pub fn origin(&self, k: usize) -> usize {
        self.origin.get(k).copied().unwrap_or(k)
    }

    fn push(&mut self, i: usize, ev: Event) {
        self.append.push(ev);
        self.origin.push(i);
    }
}

/// Compares incoming events with the ledger; amendments take effect on `effective`.
pub fn plan(ledger: &mut Ledger, incoming: Vec<Event>, effective: Day) -> Plan {
    let mut p = Plan::default();
    for (i, ev) in incoming.into_iter().enumerate() {
        let Some(k) = key(&ev) else {
            let h = content_hash(&ev);
            match ledger.counts.get_mut(&h) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    p.unchanged += 1;
                }
                _ => {
                    if let Event::Amend(a) = &ev {
                        ledger.apply(&a.change);
                    }
                    p.push(i, ev);
                }
            }
            continue;
        };
        let Some(old) = ledger.get(&k).cloned() else {
            ledger.note_dispute(&k);
            ledger.current.insert(k, ev.clone());
            p.push(i, ev);
            continue;
        };
        if old == ev {
            p.unchanged += 1;
            continue;
        }
        let before = p.append.len();
        let amend = |change: Change, p: &mut Plan| {
            p.push(i, Event::Amend(AmendRec { effective, change }));
        };
        match (&old, &ev) {
            (Event::Customer(_), Event::Customer(n)) => amend(Change::Customer(n.clone()), &mut p),
            (Event::Document(o), Event::Document(n)) => {
                let fixed = [
                    ("customer_id", o.customer_id != n.customer_id),
                    ("type", o.kind != n.kind),
                    ("issue_date", o.issue != n.issue),
                    ("amount", o.amount != n.amount),
                    ("currency", o.currency != n.currency),
                    (
                        "original_invoice_id",
                        o.original_invoice_id != n.original_invoice_id,
                    ),
                    ("attributes", o.attrs != n.attrs),
                ];
                for (what, changed) in fixed {
                    if changed {
                        p.warnings.push((
                            i,
                            format!(
                                "document {:?}: {what} changed since the last import; kept as first imported (record a credit note or a new document instead)",
                                n.id
                            ),
                        ));
                    }
                }
                // Amendments apply to an invoice that stays one.
                let invoice = n.kind == DocKind::Invoice && o.kind == DocKind::Invoice;
                if let Some(due) = n.due
                    && n.due != o.due
                    && invoice
                {
                    amend(
                        Change::DueDate {
                            document_id: n.id.clone(),
                            due,
                        },
                        &mut p,
                    );
                }
                if n.in_legal != o.in_legal && invoice {
                    amend(
                        Change::InLegal {
                            document_id: n.id.clone(),
                            in_legal: n.in_legal,
                        },
                        &mut p,
                    );
                }
                if n.disputed != o.disputed && invoice {
                    if n.disputed {
                        p.push(
                            i,
                            Event::Dispute(DisputeRec {
                                invoice_id: n.id.clone(),
                                opened_on: effective,
                                resolved_on: None,
                                reason: n.dispute_reason.clone(),
                                amount: None,
                                owner: None,
                            }),
                        );
                    } else {
                        amend(
                            Change::DisputeResolved {
                                invoice_id: n.id.clone(),
                                resolved_on: effective,
                                outcome: None,
                                comment: None,
                            },
                            &mut p,
                        );
                    }
                }
                // The document as now known, for the next import.
                let mut cur = o.clone();
                cur.due = n.due.or(o.due);
                cur.in_legal = n.in_legal;
                cur.disputed = n.disputed;
                ledger.current.insert(k, Event::Document(cur));
            }
            (Event::Dispute(o), Event::Dispute(n))
                if o.resolved_on.is_none()
                    && n.resolved_on.is_some()
                    && o.reason == n.reason
                    && o.amount == n.amount =>
            {
                amend(
                    Change::DisputeResolved {
                        invoice_id: n.invoice_id.clone(),
                        resolved_on: n.resolved_on.expect("checked"),
                        outcome: None,
                        comment: None,
                    },
                    &mut p,
                );
                ledger.current.insert(k, ev.clone());
            }
            _ => p.warnings.push((
                i,
                format!(
                    "{} changed since the last import; kept as first imported",
                    describe(&k)
                ),
            )),
        }
        if let Some(Event::Amend(a)) = p.append.get(before)
            && let Change::Customer(c) = &a.change
        {
            ledger
                .current
                .insert(Key::Customer(c.id.clone()), Event::Customer(c.clone()));
        }
        p.amended += p.append.len() - before;
    }
    p
}

fn describe(k: &Key) -> String {
    match k {
        Key::Customer(id) => format!("customer {id:?}"),
        Key::Document(id) => format!("document {id:?}"),
        Key::Payment(id) => format!("payment {id:?}"),
        Key::Dispute(id, d) => format!("dispute of {id:?} opened on {d}"),
        Key::Promise(id, d) => format!("promise on {id:?} made on {d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        Day::parse_iso(s).unwrap()
    }

    fn inv(id: &str, due: &str, amount: i64) -> Event {
        Event::Document(DocumentRec {
            due: Some(d(due)),
            ..DocumentRec::new(id, "C1", DocKind::Invoice, d("2024-01-01"), amount)
        })
    }

    fn alloc(amount: i64) -> Event {
        Event::Allocation(AllocationRec {
            source_id: "P1".into(),
            invoice_id: "F1".into(),
            date: d("2024-02-01"),
            amount,
        })
    }

    #[test]
    fn same_events_twice_append_nothing() {
        let stored = vec![inv("F1", "2024-01-31", 100), alloc(10), alloc(10)];
        let mut l = Ledger::new(&stored);
        let p = plan(&mut l, stored.clone(), d("2024-06-01"));
        assert!(p.append.is_empty());
        assert_eq!(p.unchanged, 3);
    }

    #[test]
    fn repeats_count_and_changes_amend() {
        let stored = vec![inv("F1", "2024-01-31", 100), alloc(10)];
        let mut l = Ledger::new(&stored);
        let incoming = vec![
            inv("F1", "2024-02-15", 120),
            alloc(10),
            alloc(10),
            inv("F2", "2024-03-01", 5),
        ];
        let p = plan(&mut l, incoming, d("2024-06-01"));
        let due = Event::Amend(AmendRec {
            effective: d("2024-06-01"),
            change: Change::DueDate {
                document_id: "F1".into(),
                due: d("2024-02-15"),
            },
        });
        assert_eq!(p.append, vec![due, alloc(10), inv("F2", "2024-03-01", 5)]);
        assert_eq!(p.origin, [0, 2, 3]);
        assert_eq!((p.unchanged, p.amended), (1, 1));
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].1.contains("amount changed"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn an_amended_document_imported_again_is_unchanged() {
        let stored = vec![
            inv("F1", "2024-01-31", 100),
            Event::Amend(AmendRec {
                effective: d("2024-06-01"),
                change: Change::DueDate {
                    document_id: "F1".into(),
                    due: d("2024-02-15"),
                },
            }),
        ];
        let mut l = Ledger::new(&stored);
        let p = plan(&mut l, vec![inv("F1", "2024-02-15", 100)], d("2024-07-01"));
        assert!(p.append.is_empty(), "{:?}", p.append);
        assert!(p.warnings.is_empty());
    }
}
