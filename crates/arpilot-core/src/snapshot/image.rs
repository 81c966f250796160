//! The snapshot's image: every column and index as it is in memory, so that a process starting
//! on a large ledger reads one file instead of every stored event and the passes that build from
//! them. What can be derived on demand (the per-day totals) is left out.
//!
//! The image says nothing of where it comes from; whoever keeps it (the application) writes
//! beside it which stored events it holds and checks that before using it.

use super::*;
use crate::codec;
use crate::col::Backing;
use crate::image::{Dec, Enc, ImageError};
use std::io::{Read, Write};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"ARPSNAP\0";
/// Bumped whenever the layout of a column or index changes.
// 2: columns start at multiples of 16 bytes from the image's start (`image::Enc::col`).
const FORMAT: u32 = 2;

type Io = std::io::Result<()>;

/// Bytes of a dispute, a promise and an action as written (their fields' sizes).
const DISPUTE_ROW: usize = 4 + 4 + 4 + 4 + 8 + 4 + 1;
const PROMISE_ROW: usize = 4 + 4 + 4 + 8;
const ACTION_ROW: usize = 4 + 4 + 4 + 4 + 4 + 1;

fn sorted<K: Copy + Ord, V, S>(m: &HashMap<K, V, S>) -> Vec<(K, &V)> {
    let mut v: Vec<(K, &V)> = m.iter().map(|(k, v)| (*k, v)).collect();
    v.sort_unstable_by_key(|x| x.0);
    v
}

fn put_event<W: Write>(e: &mut Enc<W>, ev: &Event) -> Io {
    let (kind, payload) = codec::encode(ev);
    e.put(kind)?;
    e.str(&payload)
}

fn get_event<R: Read>(d: &mut Dec<R>) -> Result<Event, ImageError> {
    let kind: i16 = d.get()?;
    let payload = d.string()?;
    codec::decode(kind, &payload).map_err(|e| ImageError::Format(e.message))
}

fn put_pairs<W: Write>(e: &mut Enc<W>, v: &[(u32, u32)]) -> Io {
    e.col(&v.iter().map(|p| p.0).collect::<Vec<_>>())?;
    e.col(&v.iter().map(|p| p.1).collect::<Vec<_>>())
}

fn get_pairs<R: Read>(d: &mut Dec<R>) -> Result<Vec<(u32, u32)>, ImageError> {
    let a: Vec<u32> = d.col()?;
    let b: Vec<u32> = d.col()?;
    d.check(a.len() == b.len(), "an index's columns differ in length")?;
    Ok(a.into_iter().zip(b).collect())
}

fn put_texts<W: Write>(e: &mut Enc<W>, m: &Map<u32, String>) -> Io {
    let v = sorted(m);
    e.col(&v.iter().map(|x| x.0).collect::<Vec<_>>())?;
    e.strs(v.iter().map(|x| x.1.as_str()))
}

fn get_texts<R: Read>(d: &mut Dec<R>) -> Result<Map<u32, String>, ImageError> {
    let keys: Vec<u32> = d.col()?;
    let values = d.strings()?;
    d.check(keys.len() == values.len(), "a text map's lengths differ")?;
    Ok(keys.into_iter().zip(values).collect())
}

impl Snapshot {
    /// Writes the snapshot's image (see [`Snapshot::read_image`]).
    pub fn write_image<W: Write>(&self, w: W) -> std::io::Result<W> {
        let mut e = Enc::new(w);
        for &b in MAGIC {
            e.put(b)?;
        }
        e.put(FORMAT)?;
        e.str(self.currency.code())?;

        let c = &self.customers;
        c.ids.write_image(&mut e)?;
        e.strs(c.names.iter().map(String::as_str))?;
        e.opt_col(&c.credit_limit)?;
        e.opt_col(&c.terms)?;
        c.dims.write_image(&mut e)?;

        let i = &self.invoices;
        i.ids.write_image(&mut e)?;
        e.col(&i.customer)?;
        e.col(&i.issue)?;
        e.col(&i.due)?;
        e.col(&i.amount)?;
        e.col(&i.settled)?;
        e.col(&i.flags)?;
        e.col(&i.alloc_end)?;
        i.dims.write_image(&mut e)?;

        let s = &self.sources;
        s.ids.write_image(&mut e)?;
        e.col(&s.kind)?;
        e.col(&s.customer)?;
        e.col(&s.day)?;
        e.col(&s.amount)?;
        e.col(&s.remaining.used_up)?;
        e.put(s.remaining.len as u64)?;
        let partial = sorted(&s.remaining.partial);
        e.col(&partial.iter().map(|x| x.0).collect::<Vec<_>>())?;
        e.col(&partial.iter().map(|x| *x.1).collect::<Vec<_>>())?;
        e.col(&s.last_alloc)?;
        s.dims.write_image(&mut e)?;

        let a = &self.allocs;
        e.col(&a.day)?;
        e.col(&a.amount)?;
        e.col(&a.src)?;
        e.col(&a.seq)?;
        let extra = sorted(&self.extra);
        e.put(extra.len() as u64)?;
        for (inv, list) in extra {
            e.put(inv)?;
            e.put(list.len() as u64)?;
            for x in list {
                e.put(x.day)?;
                e.put(x.amount)?;
                e.put(x.src)?;
                e.put(x.kind)?;
                e.put(x.seq)?;
            }
        }
        e.put(self.extra_len as u64)?;
        let capped = sorted(&self.capped);
        e.col(&capped.iter().map(|x| x.0).collect::<Vec<_>>())?;
        e.col(&capped.iter().map(|x| *x.1).collect::<Vec<_>>())?;

        e.put(self.disputes.len() as u64)?;
        for x in &self.disputes {
            e.put(x.invoice)?;
            e.put(x.opened)?;
            e.put(x.resolved)?;
            e.put(x.reason)?;
            e.put(x.amount)?;
            e.put(x.owner)?;
            e.put(x.outcome)?;
        }
        put_pairs(&mut e, &self.dispute_ix)?;
        e.put(self.promises.len() as u64)?;
        for x in &self.promises {
            e.put(x.invoice)?;
            e.put(x.promised_on)?;
            e.put(x.due_on)?;
            e.put(x.amount)?;
        }
        put_pairs(&mut e, &self.promise_ix)?;
        e.col(&self.promise_by_due)?;
        e.put(self.max_promise_span)?;
        e.col(&self.action_by_day)?;
        e.put(self.actions.len() as u64)?;
        for x in &self.actions {
            e.put(x.customer)?;
            e.put(x.day)?;
            e.put(x.kind)?;
            e.put(x.agent)?;
            e.put(x.invoice)?;
            e.put(x.outcome)?;
        }
        put_texts(&mut e, &self.action_notes)?;
        put_texts(&mut e, &self.dispute_comments)?;
        e.put(self.followups.len() as u64)?;
        for (row, f) in &self.followups {
            e.put(*row)?;
            put_event(&mut e, &Event::Followup(f.clone()))?;
        }
        self.reasons.write_image(&mut e)?;
        self.action_kinds.write_image(&mut e)?;
        self.agents.write_image(&mut e)?;
        e.put(self.rates.len() as u64)?;
        for r in &self.rates {
            put_event(&mut e, &Event::Rate(r.clone()))?;
        }

        let r = &self.receipts;
        r.ids.write_image(&mut e)?;
        e.col(&r.day)?;
        e.col(&r.amount)?;
        e.put(r.info.len() as u64)?;
        for x in &r.info {
            put_event(&mut e, &Event::Receipt(x.clone()))?;
        }
        e.col(&r.state)?;
        e.col(&r.decided)?;

        e.put(self.cash.len() as u64)?;
        for x in &self.cash {
            e.put(x.receipt)?;
            e.put(x.source)?;
            e.put(x.day)?;
            e.put(x.kind)?;
            e.put(x.rule)?;
            e.put(x.confidence)?;
            e.put(x.author)?;
            e.put(x.applied)?;
            e.put(x.write_off)?;
        }

        e.put(self.reminders.rows.len() as u64)?;
        for x in &self.reminders.rows {
            e.str(&x.id)?;
            e.put(x.customer)?;
            e.put(x.day)?;
            e.str(&x.scenario)?;
            e.put(x.step)?;
            e.put(x.channel)?;
            e.put(x.lines.len() as u64)?;
            for &(inv, open, step) in &x.lines {
                e.put(inv)?;
                e.put(open)?;
                e.put(step)?;
            }
            e.put(x.amount)?;
            e.put(x.author)?;
            e.opt_str(x.recipient.as_deref())?;
            e.put(x.status)?;
            e.put(x.status_day)?;
            e.opt_str(x.message_id.as_deref())?;
            e.put(x.attempts)?;
            e.opt_str(x.error.as_deref())?;
            e.opt_str(x.skip_reason.as_deref())?;
        }
        let ids: Vec<(&String, u32)> = {
            let mut v: Vec<(&String, u32)> =
                self.reminders.ids.iter().map(|(k, v)| (k, *v)).collect();
            v.sort_unstable();
            v
        };
        e.strs(ids.iter().map(|x| x.0.as_str()))?;
        e.col(&ids.iter().map(|x| x.1).collect::<Vec<_>>())?;

        e.put(self.next_seq)?;
        e.put(self.gross)?;
        e.finish()
    }

    /// Reads an image of `size` bytes written by [`Snapshot::write_image`] (of this build's
    /// format). Every length and row number is checked against the others, so a damaged or
    /// foreign image is an error rather than a snapshot that would panic later.
    pub fn read_image<R: Read>(r: R, size: u64) -> Result<Snapshot, ImageError> {
        Snapshot::read_from(Dec::new(r, size))
    }

    /// [`Snapshot::read_image`] of the `size` bytes at `start` of `map`, the large columns
    /// borrowed where they are rather than copied: a snapshot that costs next to nothing to
    /// read when only a small part of it is used (a column is copied when it is first changed).
    pub fn read_image_mapped(
        map: Arc<dyn Backing>,
        start: usize,
        size: u64,
    ) -> Result<Snapshot, ImageError> {
        Snapshot::read_from(Dec::mapped(map, start, size)?)
    }

    fn read_from<R: Read>(mut d: Dec<R>) -> Result<Snapshot, ImageError> {
        for &b in MAGIC {
            let got: u8 = d.get()?;
            d.check(got == b, "not a snapshot image")?;
        }
        let format: u32 = d.get()?;
        d.check(format == FORMAT, "written in another format")?;
        let currency = Currency::parse(&d.string()?)
            .map_err(|_| ImageError::Format("unknown currency".into()))?;
        let mut s = Snapshot::new(currency);

        s.customers = Customers {
            ids: IdIndex::read_image(&mut d)?,
            names: d.strings()?,
            credit_limit: d.opt_col()?,
            terms: d.opt_col()?,
            dims: Dims::read_image(&mut d)?,
        };
        let nc = s.customers.ids.len();
        let c = &s.customers;
        d.check(
            c.names.len() == nc && c.credit_limit.len() == nc && c.terms.len() == nc,
            "customer columns differ in length",
        )?;

        s.invoices = Invoices {
            ids: IdIndex::read_image(&mut d)?,
            customer: d.column()?,
            issue: d.column()?,
            due: d.column()?,
            amount: d.column()?,
            settled: d.column()?,
            flags: d.column()?,
            alloc_end: d.column()?,
            dims: Dims::read_image(&mut d)?,
        };
        let ni = s.invoices.ids.len();
        let i = &s.invoices;
        d.check(
            [
                i.customer.len(),
                i.issue.len(),
                i.due.len(),
                i.amount.len(),
                i.settled.len(),
                i.flags.len(),
                i.alloc_end.len(),
            ]
            .iter()
            .all(|&n| n == ni)
                && i.customer.iter().all(|&c| (c as usize) < nc),
            "invoice columns do not agree",
        )?;

        let ids = IdIndex::read_image(&mut d)?;
        let kind = d.column()?;
        let customer = d.column()?;
        let day = d.column()?;
        let amount = d.column()?;
        let used_up: Col<u64> = d.column()?;
        let len = d.get::<u64>()? as usize;
        let pk: Vec<u32> = d.col()?;
        let pv: Vec<i64> = d.col()?;
        d.check(pk.len() == pv.len(), "remainders differ in length")?;
        s.sources = Sources {
            ids,
            kind,
            customer,
            day,
            amount,
            remaining: Remaining {
                used_up,
                len,
                partial: pk.into_iter().zip(pv).collect(),
            },
            last_alloc: d.column()?,
            dims: Dims::read_image(&mut d)?,
        };
        let ns = s.sources.ids.len();
        let so = &s.sources;
        d.check(
            [
                so.kind.len(),
                so.customer.len(),
                so.day.len(),
                so.amount.len(),
                so.last_alloc.len(),
                so.remaining.len,
            ]
            .iter()
            .all(|&n| n == ns)
                && so.remaining.used_up.len() == ns.div_ceil(64)
                && so.customer.iter().all(|&c| (c as usize) < nc)
                && so.remaining.partial.keys().all(|&k| (k as usize) < ns),
            "source columns do not agree",
        )?;

        s.allocs = Allocs {
            day: d.column()?,
            amount: d.column()?,
            src: d.column()?,
            seq: d.column()?,
        };
        let a = &s.allocs;
        let na = a.day.len();
        d.check(
            a.amount.len() == na
                && a.src.len() == na
                && a.seq.len() == na
                && a.src.iter().all(|&x| ((x & SRC_MASK) as usize) < ns)
                && s.invoices.alloc_end.is_sorted()
                && s.invoices
                    .alloc_end
                    .last()
                    .is_none_or(|&e| e as usize == na),
            "allocation columns do not agree",
        )?;
        let n_extra = d.len(8)?;
        for _ in 0..n_extra {
            let inv: u32 = d.get()?;
            let k = d.len(21)?;
            let mut list = Vec::with_capacity(k);
            for _ in 0..k {
                list.push(Alloc {
                    day: d.get()?,
                    amount: d.get()?,
                    src: d.get()?,
                    kind: d.get()?,
                    seq: d.get()?,
                });
            }
            d.check(
                (inv as usize) < ni && list.iter().all(|x| (x.src as usize) < ns),
                "an appended allocation names an unknown row",
            )?;
            s.extra.insert(inv, list);
        }
        s.extra_len = d.get::<u64>()? as usize;
        let ck: Vec<u32> = d.col()?;
        let cv: Vec<i64> = d.col()?;
        d.check(ck.len() == cv.len(), "capped amounts differ in length")?;
        s.capped = ck.into_iter().zip(cv).collect();

        let n = d.len(DISPUTE_ROW)?;
        s.disputes = Vec::with_capacity(n);
        for _ in 0..n {
            let mut r = d.row(DISPUTE_ROW)?;
            s.disputes.push(Dispute {
                invoice: r.get(),
                opened: r.get(),
                resolved: r.get(),
                reason: r.get(),
                amount: r.get(),
                owner: r.get(),
                outcome: r.get(),
            });
            debug_assert!(r.is_done());
        }
        s.dispute_ix = get_pairs(&mut d)?;
        let n = d.len(PROMISE_ROW)?;
        s.promises = Vec::with_capacity(n);
        for _ in 0..n {
            let mut r = d.row(PROMISE_ROW)?;
            s.promises.push(Promise {
                invoice: r.get(),
                promised_on: r.get(),
                due_on: r.get(),
                amount: r.get(),
            });
            debug_assert!(r.is_done());
        }
        s.promise_ix = get_pairs(&mut d)?;
        s.promise_by_due = d.col()?;
        s.max_promise_span = d.get()?;
        s.action_by_day = d.col()?;
        let n = d.len(ACTION_ROW)?;
        s.actions = Vec::with_capacity(n);
        for _ in 0..n {
            let mut r = d.row(ACTION_ROW)?;
            s.actions.push(Action {
                customer: r.get(),
                day: r.get(),
                kind: r.get(),
                agent: r.get(),
                invoice: r.get(),
                outcome: r.get(),
            });
            debug_assert!(r.is_done());
        }
        s.action_notes = get_texts(&mut d)?;
        s.dispute_comments = get_texts(&mut d)?;
        let n = d.len(12)?;
        for _ in 0..n {
            let row: u32 = d.get()?;
            match get_event(&mut d)? {
                Event::Followup(f) if (row as usize) < nc => s.followups.push((row, f)),
                _ => return Err(ImageError::Format("a follow-up is not one".into())),
            }
        }
        s.reasons = Dict::read_image(&mut d)?;
        s.action_kinds = Dict::read_image(&mut d)?;
        s.agents = Dict::read_image(&mut d)?;
        let n = d.len(10)?;
        for _ in 0..n {
            match get_event(&mut d)? {
                Event::Rate(r) => s.rates.push(r),
                _ => return Err(ImageError::Format("a rate is not one".into())),
            }
        }

        let ids = IdIndex::read_image(&mut d)?;
        let day = d.col()?;
        let amount = d.col()?;
        let n = d.len(10)?;
        let mut info = Vec::with_capacity(n);
        for _ in 0..n {
            match get_event(&mut d)? {
                Event::Receipt(r) => info.push(r),
                _ => return Err(ImageError::Format("a receipt is not one".into())),
            }
        }
        s.receipts = Receipts {
            ids,
            day,
            amount,
            info,
            state: d.col()?,
            decided: d.col()?,
        };
        let r = &s.receipts;
        let nr = r.ids.len();
        d.check(
            [
                r.day.len(),
                r.amount.len(),
                r.info.len(),
                r.state.len(),
                r.decided.len(),
            ]
            .iter()
            .all(|&n| n == nr),
            "receipt columns do not agree",
        )?;

        let n = d.len(31)?;
        s.cash = Vec::with_capacity(n);
        for _ in 0..n {
            s.cash.push(CashRow {
                receipt: d.get()?,
                source: d.get()?,
                day: d.get()?,
                kind: d.get()?,
                rule: d.get()?,
                confidence: d.get()?,
                author: d.get()?,
                applied: d.get()?,
                write_off: d.get()?,
            });
        }

        let n = d.len(40)?;
        for _ in 0..n {
            let id = d.string()?;
            let customer = d.get()?;
            let day = d.get()?;
            let scenario = d.string()?;
            let step = d.get()?;
            let channel = d.get()?;
            let k = d.len(14)?;
            let mut lines = Vec::with_capacity(k);
            for _ in 0..k {
                lines.push((d.get()?, d.get()?, d.get()?));
            }
            s.reminders.rows.push(Reminder {
                id,
                customer,
                day,
                scenario,
                step,
                channel,
                lines,
                amount: d.get()?,
                author: d.get()?,
                recipient: d.opt_string()?,
                status: d.get()?,
                status_day: d.get()?,
                message_id: d.opt_string()?,
                attempts: d.get()?,
                error: d.opt_string()?,
                skip_reason: d.opt_string()?,
            });
        }
        let keys = d.strings()?;
        let rows: Vec<u32> = d.col()?;
        d.check(
            keys.len() == rows.len() && rows.iter().all(|&r| (r as usize) < s.reminders.rows.len()),
            "reminder ids do not agree",
        )?;
        s.reminders.ids = keys.into_iter().zip(rows).collect();

        s.next_seq = d.get()?;
        s.gross = d.get()?;
        d.finish()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;

    fn day(s: &str) -> Day {
        Day::parse_iso(s).unwrap()
    }

    /// A small ledger touching every part of the snapshot.
    fn ledger() -> Vec<Event> {
        let cust = |id: &str, collector: &str| {
            Event::Customer(CustomerRec {
                id: id.into(),
                name: format!("Client {id}"),
                credit_limit: Some(500_000),
                payment_terms_days: Some(30),
                attrs: vec![("collector".into(), collector.into())],
            })
        };
        let inv = |id: &str, c: &str, issue: &str, amount: i64| {
            Event::Document(DocumentRec {
                attrs: vec![("division".into(), "Nord".into())],
                ..DocumentRec::new(id, c, DocKind::Invoice, day(issue), amount)
            })
        };
        vec![
            cust("C1", "Anne"),
            cust("C2", "Paul"),
            inv("F1", "C1", "2026-01-10", 100_000),
            inv("F2", "C1", "2026-02-10", 50_000),
            inv("F3", "C2", "2026-03-01", 70_000),
            Event::Payment(PaymentRec {
                id: "P1".into(),
                customer_id: "C1".into(),
                date: day("2026-03-01"),
                amount: 120_000,
                currency: None,
                invoice_id: None,
                reference: Some("virement".into()),
            }),
            Event::Allocation(AllocationRec {
                source_id: "P1".into(),
                invoice_id: "F1".into(),
                date: day("2026-03-01"),
                amount: 100_000,
            }),
            Event::Allocation(AllocationRec {
                source_id: "P1".into(),
                invoice_id: "F2".into(),
                date: day("2026-03-02"),
                amount: 10_000,
            }),
            Event::Dispute(DisputeRec {
                invoice_id: "F3".into(),
                opened_on: day("2026-03-05"),
                resolved_on: None,
                reason: Some("prix".into()),
                amount: None,
                owner: Some("Anne".into()),
            }),
            Event::Promise(PromiseRec {
                invoice_id: "F2".into(),
                promised_on: day("2026-03-03"),
                due_on: day("2026-03-20"),
                amount: 40_000,
            }),
            Event::Action(ActionRec {
                customer_id: "C2".into(),
                date: day("2026-03-04"),
                kind: "call".into(),
                invoice_id: Some("F3".into()),
                agent: Some("Paul".into()),
                note: Some("rappeler".into()),
                outcome: Some("reached".into()),
            }),
            Event::Followup(FollowupRec {
                customer_id: "C2".into(),
                date: day("2026-03-04"),
                next_action: Some(day("2026-03-10")),
                contact_name: Some("M. Durand".into()),
                ..FollowupRec::default()
            }),
            Event::Receipt(ReceiptRec {
                id: "R1".into(),
                date: day("2026-03-06"),
                amount: 30_000,
                payer_name: Some("CLIENT C2".into()),
                ..ReceiptRec::default()
            }),
            Event::Reminder(ReminderRec {
                id: "RM1".into(),
                customer_id: "C1".into(),
                date: day("2026-03-07"),
                status: ReminderStatus::Queued(ReminderContent {
                    scenario: "standard".into(),
                    step: 1,
                    channel: "email".into(),
                    lines: vec![("F2".into(), 40_000, 1)],
                    author: None,
                    recipient: Some("compta@c1.example".into()),
                }),
            }),
        ]
    }

    fn image(s: &Snapshot) -> Vec<u8> {
        s.write_image(Vec::new()).unwrap()
    }

    #[test]
    fn an_image_reads_back_as_the_same_snapshot() {
        let s = Snapshot::build(Currency::EUR, ledger()).unwrap();
        let bytes = image(&s);
        let back = Snapshot::read_image(&bytes[..], bytes.len() as u64).unwrap();
        // Written again, the same bytes: nothing written was lost on the way.
        assert_eq!(image(&back), bytes);
        assert_eq!(back.invoices.ids.find("F3"), Some(2));
        assert_eq!(back.open_at(1, day("2026-03-31").0), 40_000);
        assert_eq!(
            back.followup_of(1, day("2026-03-31").0)
                .unwrap()
                .contact_name
                .as_deref(),
            Some("M. Durand")
        );
        assert_eq!(back.reminders.find("RM1").unwrap().amount, 40_000);

        // The same appends give the same snapshot (the state that only appends read included).
        let more = vec![
            Event::Allocation(AllocationRec {
                source_id: "P1".into(),
                invoice_id: "F2".into(),
                date: day("2026-03-08"),
                amount: 10_000,
            }),
            Event::Document(DocumentRec::new(
                "F4",
                "C2",
                DocKind::Invoice,
                day("2026-03-09"),
                9_900,
            )),
        ];
        let mut a = s.clone();
        let mut b = back;
        a.append(more.clone()).unwrap();
        b.append(more).unwrap();
        assert_eq!(image(&a), image(&b));
        assert_eq!(b.open_at(1, day("2026-03-31").0), 30_000);
        assert_eq!(b.invoices.ids.find("F4"), Some(3));
    }

    /// `bytes` at an offset of `start` modulo 16 in memory: the image and that offset.
    fn placed(bytes: &[u8], start: usize) -> (Arc<dyn Backing>, usize) {
        let mut v = vec![0u8; bytes.len() + 32];
        let at = (16 - v.as_ptr() as usize % 16) % 16 + start;
        v[at..at + bytes.len()].copy_from_slice(bytes);
        (Arc::new(v), at)
    }

    #[test]
    fn a_mapped_image_reads_as_the_copied_one_and_borrows_its_columns() {
        let s = Snapshot::build(Currency::EUR, ledger()).unwrap();
        let bytes = image(&s);
        let n = bytes.len() as u64;
        let more = vec![
            Event::Payment(PaymentRec {
                id: "P2".into(),
                customer_id: "C1".into(),
                date: day("2026-03-10"),
                amount: 5_000,
                currency: None,
                invoice_id: None,
                reference: None,
            }),
            Event::Allocation(AllocationRec {
                source_id: "P2".into(),
                invoice_id: "F2".into(),
                date: day("2026-03-10"),
                amount: 5_000,
            }),
        ];
        let unknown = Event::Allocation(AllocationRec {
            source_id: "P1".into(),
            invoice_id: "F9".into(),
            date: day("2026-03-10"),
            amount: 1,
        });
        let mut copied = Snapshot::read_image(&bytes[..], n).unwrap();
        assert!(
            copied
                .append(vec![more[0].clone(), unknown.clone()])
                .is_err()
        );
        copied.append(more.clone()).unwrap();
        // Aligned, the columns are borrowed; one byte off, they are copied: the same snapshot.
        for (start, borrowed) in [(0, true), (1, false)] {
            let (map, at) = placed(&bytes, start);
            let mut m = Snapshot::read_image_mapped(map, at, n).unwrap();
            assert_eq!(m.invoices.amount.is_borrowed(), borrowed);
            assert_eq!(m.sources.customer.is_borrowed(), borrowed);
            assert!(image(&m) == bytes);
            assert_eq!(m.open_at(1, day("2026-03-31").0), 40_000);
            let before = m.clone();
            // A refused batch leaves the rows as they were; an accepted one copies what it
            // changes.
            assert!(m.append(vec![more[0].clone(), unknown.clone()]).is_err());
            assert_eq!((m.sources.ids.len(), m.sources.amount.len()), (1, 1));
            assert_eq!(m.sources.ids.find("P2"), None);
            m.append(more.clone()).unwrap();
            assert!(!m.sources.customer.is_borrowed());
            assert!(image(&m) == image(&copied));
            assert_eq!(m.open_at(1, day("2026-03-31").0), 35_000);
            // A clone taken before still reads the image as it was.
            assert!(image(&before) == bytes);
        }
        // Damaged or cut, refused as from a reader.
        let mut b = bytes.clone();
        b[bytes.len() / 2] ^= 0x10;
        let (map, at) = placed(&b, 0);
        assert!(Snapshot::read_image_mapped(map.clone(), at, n).is_err());
        assert!(Snapshot::read_image_mapped(map, at + 40, n).is_err());
    }

    #[test]
    fn a_damaged_image_is_refused() {
        let s = Snapshot::build(Currency::EUR, ledger()).unwrap();
        let bytes = image(&s);
        for k in [0, 9, 40, bytes.len() / 2, bytes.len() - 9] {
            let mut b = bytes.clone();
            b[k] ^= 0x10;
            assert!(
                Snapshot::read_image(&b[..], b.len() as u64).is_err(),
                "byte {k}"
            );
        }
        assert!(Snapshot::read_image(&bytes[..100], 100).is_err());
    }
}
