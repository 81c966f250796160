//! Reminders (relances): scenarios of steps, and which customers are due a reminder on a date.
//!
//! One reminder per customer covers all its overdue invoices; each invoice moves through the
//! steps of its customer's scenario by its own due date, and the reminder is at the highest step
//! its invoices reached. Disputed invoices and invoices in legal collection are left out; a
//! promise pauses the customer until its date plus a grace period; a "do not contact until"
//! blocks it; a minimum amount and a minimum interval between two reminders apply. What was
//! already sent is read from the ledger's reminders, so the scenario in force decides on every
//! run: a changed scenario applies to open invoices the next day.

use crate::date::Day;
use crate::ledger::CHANNELS;
use crate::money::Money;
use crate::select::Selection;
use crate::snapshot::{REMINDER_SKIPPED, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A message template in one language: merge fields in braces (see docs/reminders.md).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// One step of a scenario.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Days after the due date (negative: a courtesy reminder before it).
    pub offset: i32,
    /// One of `email`, `letter`, `call`, `formal_notice`, `legal`.
    pub channel: String,
    /// Templates by language (`fr`, `en`); the built-in text of the channel when absent.
    #[serde(default)]
    pub templates: BTreeMap<String, Template>,
}

/// A scenario (politique de relance): who it is for and its steps.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub id: String,
    pub name: String,
    /// Customer dimensions that must all hold (`size` = `GE`, `region` = `Nord`…); empty: everyone.
    /// The first scenario that fits a customer applies, unless the customer's `scenario`
    /// attribute names one.
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

/// Rules that apply to every scenario.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Days after a promised date before a customer whose promise is not kept is reminded.
    pub grace_days: i32,
    /// No reminder for less than this overdue, minor units.
    pub min_amount: i64,
    /// Days that must separate two reminders of a customer.
    pub min_interval_days: i32,
    /// Late-payment interest per year in basis points when the customer's terms set none
    /// (France, L441-10: the ECB refinancing rate plus 10 points).
    pub late_rate_bp: i64,
    /// The fixed recovery indemnity per invoice, minor units (40 € in France).
    pub indemnity: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            grace_days: 3,
            min_amount: 5_000,
            min_interval_days: 7,
            // ECB main refinancing rate 2.15 % (since 11 June 2025) + 10 points.
            late_rate_bp: 1_215,
            indemnity: 4_000,
        }
    }
}

/// The scenarios and rules in force.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub scenarios: Vec<Scenario>,
    pub rules: Rules,
}

/// Most steps a scenario may have, and the offsets allowed.
pub const MAX_STEPS: usize = 12;
pub const OFFSETS: std::ops::RangeInclusive<i32> = -90..=730;

impl Policy {
    /// The scenarios arpilot starts with: a standard sequence, and a gentler one for large
    /// companies (customers whose `size` is `GE`, grande entreprise).
    pub fn standard() -> Policy {
        let step = |offset: i32, channel: &str| Step {
            offset,
            channel: channel.into(),
            templates: BTreeMap::new(),
        };
        Policy {
            scenarios: vec![
                Scenario {
                    id: "grands-comptes".into(),
                    name: "Grands comptes".into(),
                    when: BTreeMap::from([("size".into(), "GE".into())]),
                    steps: vec![
                        step(10, "email"),
                        step(25, "call"),
                        step(45, "letter"),
                        step(60, "formal_notice"),
                    ],
                },
                Scenario {
                    id: "standard".into(),
                    name: "Standard".into(),
                    when: BTreeMap::new(),
                    steps: vec![
                        step(-5, "email"),
                        step(7, "email"),
                        step(20, "call"),
                        step(30, "letter"),
                        step(45, "formal_notice"),
                        step(75, "legal"),
                    ],
                },
            ],
            rules: Rules::default(),
        }
    }

    /// Checks the policy; the error names what is wrong and what was expected.
    pub fn check(&self) -> Result<(), String> {
        if self.scenarios.is_empty() {
            return Err("scenarios: expected at least one scenario".into());
        }
        let mut ids = std::collections::HashSet::new();
        for s in &self.scenarios {
            let id = s.id.trim();
            if id.is_empty() || id.len() > 64 || !ids.insert(id) {
                return Err(format!(
                    "scenario {:?}: expected a unique id of 1 to 64 characters",
                    s.id
                ));
            }
            if s.steps.is_empty() || s.steps.len() > MAX_STEPS {
                return Err(format!(
                    "scenario {:?}: expected 1 to {MAX_STEPS} steps, found {}",
                    s.id,
                    s.steps.len()
                ));
            }
            for (k, st) in s.steps.iter().enumerate() {
                if !OFFSETS.contains(&st.offset) {
                    return Err(format!(
                        "scenario {:?} step {}: offset {} (expected {} to {} days from the due date)",
                        s.id,
                        k + 1,
                        st.offset,
                        OFFSETS.start(),
                        OFFSETS.end()
                    ));
                }
                if k > 0 && st.offset <= s.steps[k - 1].offset {
                    return Err(format!(
                        "scenario {:?} step {}: offset {} (expected more than the previous step's {})",
                        s.id,
                        k + 1,
                        st.offset,
                        s.steps[k - 1].offset
                    ));
                }
                if !CHANNELS.contains(&st.channel.as_str()) {
                    return Err(format!(
                        "scenario {:?} step {}: channel {:?} (expected one of {})",
                        s.id,
                        k + 1,
                        st.channel,
                        CHANNELS.join(", ")
                    ));
                }
                for (lang, t) in &st.templates {
                    if !["fr", "en"].contains(&lang.as_str()) {
                        return Err(format!(
                            "scenario {:?} step {}: language {lang:?} (expected fr or en)",
                            s.id,
                            k + 1
                        ));
                    }
                    if t.subject.chars().count() > 300 || t.body.chars().count() > 20_000 {
                        return Err(format!(
                            "scenario {:?} step {} ({lang}): expected a subject of at most 300 characters and a body of at most 20 000",
                            s.id,
                            k + 1
                        ));
                    }
                }
            }
        }
        let r = &self.rules;
        if !(0..=90).contains(&r.grace_days) {
            return Err(format!("grace_days {}: expected 0 to 90", r.grace_days));
        }
        if !(0..=365).contains(&r.min_interval_days) {
            return Err(format!(
                "min_interval_days {}: expected 0 to 365",
                r.min_interval_days
            ));
        }
        if !(0..=crate::money::MAX_AMOUNT).contains(&r.min_amount) {
            return Err(format!("min_amount {}: expected 0 or more", r.min_amount));
        }
        if !(0..=10_000).contains(&r.late_rate_bp) {
            return Err(format!(
                "late_rate_bp {}: expected 0 to 10 000 (100 %)",
                r.late_rate_bp
            ));
        }
        if !(0..=100_000).contains(&r.indemnity) {
            return Err(format!("indemnity {}: expected 0 to 100 000", r.indemnity));
        }
        Ok(())
    }

    /// The scenario of customer row `c`: the one its `scenario` attribute names, else the first
    /// whose conditions its dimensions meet (case and accents as written, spaces trimmed).
    pub fn scenario_of(&self, snap: &Snapshot, c: u32) -> Option<usize> {
        let dims = &snap.customers.dims;
        if let Some(col) = dims.get("scenario") {
            let v = col.value(c).trim();
            if !v.is_empty() {
                return self.scenarios.iter().position(|s| s.id == v);
            }
        }
        self.scenarios.iter().position(|s| {
            s.when.iter().all(|(k, want)| {
                dims.get(k).is_some_and(|col| {
                    col.value(c).trim().to_lowercase() == want.trim().to_lowercase()
                })
            })
        })
    }
}

/// A customer due a reminder today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub customer: u32,
    /// Index in [`Policy::scenarios`].
    pub scenario: usize,
    /// The reminder's step, from 1: the highest its invoices reached.
    pub step: u16,
    /// Invoice rows, open amount and the step each reached, oldest due first.
    pub lines: Vec<(u32, i64, u16)>,
    pub amount: i64,
}

/// Why a customer that has invoices at a new step gets no reminder today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// "Do not contact until" this date.
    Hold(Day),
    /// A promise runs until this date (promised date plus the grace period).
    Promise(Day),
    /// The previous reminder was too recent: not before this date.
    Interval(Day),
    /// Less overdue than the minimum.
    BelowMinimum,
    /// A reminder was already decided (or skipped) today.
    Today,
}

/// What a run on a date would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selected {
    /// By customer row.
    pub due: Vec<Due>,
    pub waiting: Vec<(u32, Wait)>,
}

/// The highest step each invoice reached through reminders dated up to `d` and not skipped,
/// and each customer's latest reminder day and whether one is dated `d`.
struct History {
    reached: HashMap<u32, u16>,
    last: HashMap<u32, i32>,
    today: std::collections::HashSet<u32>,
}

fn history(snap: &Snapshot, d: i32) -> History {
    let mut h = History {
        reached: HashMap::new(),
        last: HashMap::new(),
        today: Default::default(),
    };
    for r in &snap.reminders.rows {
        if r.day > d {
            continue;
        }
        if r.day == d {
            h.today.insert(r.customer);
        }
        if r.status == REMINDER_SKIPPED {
            continue;
        }
        let l = h.last.entry(r.customer).or_insert(r.day);
        *l = (*l).max(r.day);
        for &(i, _, step) in &r.lines {
            let e = h.reached.entry(i).or_insert(0);
            *e = (*e).max(step);
        }
    }
    h
}

/// An open invoice at a step of its customer's scenario.
struct Hit {
    c: u32,
    i: u32,
    open: i64,
    step: u16,
    scenario: u16,
    promise_until: i32,
}

#[derive(Default)]
struct Acc {
    scenario: u16,
    lines: Vec<(u32, i64, u16)>,
    step: u16,
    /// An invoice reached a step not reminded yet.
    new_step: bool,
    /// Latest day a running promise pauses the customer to.
    promise_until: i32,
}

/// Which customers of `sel` a run on `as_of` reminds, and which wait (and why). One pass over
/// the invoices; customers in order of their row.
pub fn select(snap: &Snapshot, sel: &Selection, policy: &Policy, as_of: Day) -> Selected {
    let d = as_of.0;
    let hist = history(snap, d);
    let grace = policy.rules.grace_days;
    let ncust = snap.customers.names.len();
    let inv = &snap.invoices;
    // The invoices at a step, found in parallel over row ranges (in row order).
    let parts = crate::par::chunked(inv.customer.len(), |rows| {
        // Scenario per customer, computed when first needed: u16::MAX unknown, u16::MAX-1 none.
        let mut scen: Vec<u16> = vec![u16::MAX; ncust];
        let mut hits: Vec<Hit> = Vec::new();
        for i in rows {
            // Settled or not yet issued: the cheap tests first.
            if inv.settled[i] <= d || inv.issue[i] > d {
                continue;
            }
            let c = inv.customer[i];
            if !sel.customer(c) || !sel.invoice(snap, i) {
                continue;
            }
            let sc = match scen[c as usize] {
                u16::MAX => {
                    let v = policy
                        .scenario_of(snap, c)
                        .map_or(u16::MAX - 1, |k| k as u16);
                    scen[c as usize] = v;
                    v
                }
                v => v,
            };
            if sc == u16::MAX - 1 {
                continue;
            }
            let steps = &policy.scenarios[sc as usize].steps;
            let due = inv.due[i];
            let step = steps.iter().take_while(|s| due + s.offset <= d).count() as u16;
            if step == 0 || snap.in_legal(i) || snap.disputed_on(i as u32, d) {
                continue;
            }
            let open = snap.open_at(i, d);
            if open <= 0 {
                continue;
            }
            let mut promise_until = i32::MIN;
            for r in snap.promises_of(i as u32) {
                let p = &snap.promises[r];
                if p.promised_on <= d && d <= p.due_on + grace {
                    promise_until = promise_until.max(p.due_on + grace);
                }
            }
            hits.push(Hit {
                c,
                i: i as u32,
                open,
                step,
                scenario: sc,
                promise_until,
            });
        }
        hits
    });
    // Per customer row: the index of its accumulator in `accs` (u32::MAX: none yet).
    let mut slot: Vec<u32> = vec![u32::MAX; ncust];
    let mut accs: Vec<(u32, Acc)> = Vec::new();
    for h in parts.into_iter().flatten() {
        if slot[h.c as usize] == u32::MAX {
            slot[h.c as usize] = accs.len() as u32;
            accs.push((
                h.c,
                Acc {
                    scenario: h.scenario,
                    promise_until: i32::MIN,
                    ..Acc::default()
                },
            ));
        }
        let a = &mut accs[slot[h.c as usize] as usize].1;
        a.promise_until = a.promise_until.max(h.promise_until);
        a.lines.push((h.i, h.open, h.step));
        a.step = a.step.max(h.step);
        if h.step > hist.reached.get(&h.i).copied().unwrap_or(0) {
            a.new_step = true;
        }
    }
    let holds = if accs.iter().any(|a| a.1.new_step) {
        snap.followups_on(d)
    } else {
        HashMap::new()
    };
    accs.sort_unstable_by_key(|a| a.0);
    let mut out = Selected::default();
    for (c, mut a) in accs {
        if !a.new_step {
            continue;
        }
        let wait = if hist.today.contains(&c) {
            Some(Wait::Today)
        } else if let Some(h) = holds.get(&c).and_then(|f| f.hold_until).filter(|h| h.0 > d) {
            Some(Wait::Hold(h))
        } else if a.promise_until >= d {
            Some(Wait::Promise(Day(a.promise_until)))
        } else if let Some(last) = hist
            .last
            .get(&c)
            .filter(|&&l| d - l < policy.rules.min_interval_days)
        {
            Some(Wait::Interval(Day(last + policy.rules.min_interval_days)))
        } else if a.lines.iter().map(|l| l.1).sum::<i64>() < policy.rules.min_amount {
            Some(Wait::BelowMinimum)
        } else {
            None
        };
        if let Some(w) = wait {
            out.waiting.push((c, w));
            continue;
        }
        // Oldest due first, then as issued (the row order).
        a.lines
            .sort_unstable_by_key(|&(i, _, _)| (inv.due[i as usize], i));
        let amount = a.lines.iter().map(|l| l.1).sum();
        out.due.push(Due {
            customer: c,
            scenario: a.scenario as usize,
            step: a.step,
            lines: a.lines,
            amount,
        });
    }
    out
}

/// French late-payment terms of one invoice (Code de commerce, L441-10): interest from the day
/// after the due date to `as_of` at `rate_bp` a year (simple interest on 365 days, rounded half
/// up to the minor unit), and the fixed recovery indemnity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LateTerms {
    pub days: i32,
    pub interest: i64,
    pub indemnity: i64,
}

pub fn late_terms(open: i64, due: Day, as_of: Day, rate_bp: i64, indemnity: i64) -> LateTerms {
    let days = (as_of.0 - due.0).max(0);
    let num = i128::from(open) * i128::from(rate_bp) * i128::from(days);
    let den = 365_i128 * 10_000;
    let interest = ((num + den / 2) / den) as i64;
    LateTerms {
        days,
        interest,
        indemnity: if days > 0 { indemnity } else { 0 },
    }
}

/// Reminder KPIs of one group (a scenario, step, channel or collector).
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ReminderRow {
    pub key: String,
    /// Reminders sent in the period (e-mails sent, letters printed, tasks created).
    pub sent: u64,
    /// Customers reminded.
    pub customers: u64,
    /// Open amount the reminders covered.
    pub amount: Money,
    /// Share of reminders after which the customer paid some of the reminded invoices within
    /// 7, 15 and 30 days, in % (of the reminders old enough for the window to have ended).
    pub activation_7: Option<f64>,
    pub activation_15: Option<f64>,
    pub activation_30: Option<f64>,
    /// The same share in amount: paid within 30 days over reminded, in %.
    pub activation_amount_30: Option<f64>,
    /// Paid on the reminded invoices within 30 days after the reminder (up to the date).
    pub collected: Money,
    /// Reminded invoices fully paid within 30 days.
    pub invoices_recovered: u64,
    /// Cost of the reminders (cost per channel), and per recovered invoice.
    pub cost: Money,
    pub cost_per_recovered: Option<Money>,
}

/// The action kind of a customer's satisfaction answer (from the portal), and its note.
pub const SURVEY_KIND: &str = "survey";

pub fn satisfaction_note(score: u8) -> String {
    format!("satisfaction {score}/5")
}

/// The score of a [`satisfaction_note`].
pub fn parse_satisfaction(note: &str) -> Option<u8> {
    let n: u8 = note
        .strip_prefix("satisfaction ")?
        .strip_suffix("/5")?
        .parse()
        .ok()?;
    (1..=5).contains(&n).then_some(n)
}

#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ReminderKpis {
    pub from: Day,
    pub to: Day,
    pub by_scenario: Vec<ReminderRow>,
    pub by_step: Vec<ReminderRow>,
    pub by_channel: Vec<ReminderRow>,
    pub by_collector: Vec<ReminderRow>,
    pub total: ReminderRow,
    /// Reminders waiting to leave (queued or failed) on the date.
    pub pending: u64,
    pub failed: u64,
    /// Countback DSO and CEI of the month of the customers reminded in the period, the day
    /// before it starts and on its last day: did the reminded pay faster?
    pub reminded_dso_before: Option<f64>,
    pub reminded_dso_after: Option<f64>,
    pub reminded_cei_before: Option<f64>,
    pub reminded_cei_after: Option<f64>,
    /// Satisfaction answers (1–5) customers gave on the portal in the period, and their mean.
    pub satisfaction_answers: u64,
    pub satisfaction: Option<f64>,
}

#[derive(Default, Clone)]
struct KAcc {
    sent: u64,
    customers: std::collections::HashSet<u32>,
    amount: i64,
    /// (windows ended, paid within) for 7, 15, 30 days.
    act: [(u64, u64); 3],
    amount_30: (i64, i64),
    collected: i64,
    recovered: u64,
    cost: i64,
}

/// Reminder KPIs of the reminders sent in `[from, to]` to customers of `sel`; `cost` gives a
/// reminder's cost by channel index (minor units).
pub fn kpis(snap: &Snapshot, sel: &Selection, from: Day, to: Day, cost: &[i64; 5]) -> ReminderKpis {
    use crate::snapshot::{REMINDER_FAILED, REMINDER_QUEUED, REMINDER_SENT};
    let t = to.0;
    let cur = snap.currency;
    let collector = snap.customers.dims.get("collector");
    let mut groups: [BTreeMap<String, KAcc>; 4] = Default::default();
    let mut total = KAcc::default();
    let (mut pending, mut failed) = (0, 0);
    for r in &snap.reminders.rows {
        if !sel.customer(r.customer) {
            continue;
        }
        if r.day <= t && (r.status == REMINDER_QUEUED || r.status == REMINDER_FAILED) {
            pending += 1;
            failed += u64::from(r.status == REMINDER_FAILED);
        }
        // Sent by the date (a reminder sent after it was still pending then).
        if r.status != REMINDER_SENT || r.day < from.0 || r.day > t || r.status_day > t {
            continue;
        }
        // Paid on its invoices after the reminder, within each window (and by the date).
        let mut paid = [0i64; 3];
        let mut recovered = 0;
        for &(i, open, _) in &r.lines {
            let mut p = [0i64; 3];
            for a in snap.allocs_of(i as usize) {
                if a.day <= r.day || a.day > t {
                    continue;
                }
                for (k, w) in [7, 15, 30].iter().enumerate() {
                    if a.day <= r.day + w {
                        p[k] += a.amount;
                    }
                }
            }
            for k in 0..3 {
                paid[k] += p[k].min(open);
            }
            if p[2] >= open {
                recovered += 1;
            }
        }
        let keys = [
            r.scenario.clone(),
            r.step.to_string(),
            CHANNELS[r.channel as usize].to_string(),
            collector.map_or(String::new(), |c| c.value(r.customer).to_string()),
        ];
        let add = |a: &mut KAcc| {
            a.sent += 1;
            a.customers.insert(r.customer);
            a.amount += r.amount;
            for (k, w) in [7, 15, 30].iter().enumerate() {
                if r.day + w <= t {
                    a.act[k].0 += 1;
                    a.act[k].1 += u64::from(paid[k] > 0);
                }
            }
            if r.day + 30 <= t {
                a.amount_30.0 += r.amount;
                a.amount_30.1 += paid[2];
            }
            a.collected += paid[2];
            a.recovered += recovered;
            a.cost += cost[r.channel as usize];
        };
        for (g, k) in groups.iter_mut().zip(keys) {
            add(g.entry(k).or_default());
        }
        add(&mut total);
    }
    let pct = |n: u64, d: u64| (d > 0).then(|| crate::report::r2(n as f64 * 100.0 / d as f64));
    let row = |key: String, a: &KAcc| ReminderRow {
        key,
        sent: a.sent,
        customers: a.customers.len() as u64,
        amount: Money::new(a.amount, cur),
        activation_7: pct(a.act[0].1, a.act[0].0),
        activation_15: pct(a.act[1].1, a.act[1].0),
        activation_30: pct(a.act[2].1, a.act[2].0),
        activation_amount_30: (a.amount_30.0 > 0)
            .then(|| crate::report::r2(a.amount_30.1 as f64 * 100.0 / a.amount_30.0 as f64)),
        collected: Money::new(a.collected, cur),
        invoices_recovered: a.recovered,
        cost: Money::new(a.cost, cur),
        cost_per_recovered: (a.recovered > 0)
            .then(|| Money::new((a.cost as f64 / a.recovered as f64).round() as i64, cur)),
    };
    let (mut answers, mut score) = (0u64, 0u64);
    if let Some(kind) = snap.action_kinds.find(SURVEY_KIND) {
        for (k, a) in snap.actions.iter().enumerate() {
            if a.kind == kind
                && a.day >= from.0
                && a.day <= t
                && sel.customer(a.customer)
                && let Some(n) = snap
                    .action_notes
                    .get(&(k as u32))
                    .and_then(|n| parse_satisfaction(n))
            {
                answers += 1;
                score += u64::from(n);
            }
        }
    }
    let reminded = Selection::of_customers(snap, |c| total.customers.contains(&c)).and(sel.clone());
    let figures = |d: Day| {
        if total.customers.is_empty() {
            return (None, None);
        }
        crate::report::report(snap, &reminded, &crate::report::ReportParams::new(d))
            .map_or((None, None), |r| (Some(r.dso.countback), r.cei.month))
    };
    let (dso_before, cei_before) = figures(Day(from.0 - 1));
    let (dso_after, cei_after) = figures(to);
    let [s, st, ch, co] = groups;
    let rows = |g: BTreeMap<String, KAcc>| g.iter().map(|(k, a)| row(k.clone(), a)).collect();
    ReminderKpis {
        from,
        to,
        by_scenario: rows(s),
        by_step: rows(st),
        by_channel: rows(ch),
        by_collector: rows(co),
        total: row(String::new(), &total),
        pending,
        failed,
        reminded_dso_before: dso_before,
        reminded_dso_after: dso_after,
        reminded_cei_before: cei_before,
        reminded_cei_after: cei_after,
        satisfaction_answers: answers,
        satisfaction: (answers > 0).then(|| crate::report::r2(score as f64 / answers as f64)),
    }
}
