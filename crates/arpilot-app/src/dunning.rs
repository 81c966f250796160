//! Reminders that run themselves: the scenarios in the settings, today's selection, the messages
//! and letters, and the run that writes each reminder to the ledger (the outbox) before it
//! leaves and marks it sent after, so that nothing is sent twice and nothing is lost.

use crate::import::Author;
use crate::statement::Company;
use crate::view::{FastError, Views};
use crate::{Lang, portal};
use arpilot_core::dunning::{Due, Policy, Selected, Wait};
use arpilot_core::ledger::*;
use arpilot_core::select::Selection;
use arpilot_core::snapshot::{REMINDER_FAILED, REMINDER_QUEUED, REMINDER_SENT, REMINDER_SKIPPED};
use arpilot_core::{Day, Filter, Money, Snapshot};
use arpilot_store::{LedgerStore, NewBatch, StoreError, UserStore};
use std::collections::BTreeSet;

/// Settings keys.
pub const POLICY_KEY: &str = "dunning.policy";
pub const HOUR_KEY: &str = "dunning.hour";
pub const APPROVAL_KEY: &str = "dunning.approval";
pub const SMTP_KEY: &str = "smtp.url";
pub const FROM_KEY: &str = "smtp.from";
pub const PORTAL_URL_KEY: &str = "portal.url";
/// The cost of a reminder by channel, `dunning.cost.email` … (decimal, ledger currency).
pub const COST_PREFIX: &str = "dunning.cost.";
/// Attempts before a failing e-mail stops being retried (it stays shown as failed).
pub const MAX_ATTEMPTS: u16 = 8;

#[derive(Debug, thiserror::Error)]
pub enum DunningError {
    /// A setting or an input is wrong: which, and what was expected.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the ledger refused the reminders: {0}")]
    Refused(String),
}

/// Reminder settings as stored (`dunning.*`, `smtp.*`, `portal.*`).
#[derive(Clone, Debug)]
pub struct DunningSettings {
    pub policy: Policy,
    /// Hour of the scheduled run in `arpilot serve` (local time), none: no scheduled run.
    pub hour: Option<u8>,
    /// The scheduled run only prepares: a person approves on the preview page.
    pub approval: bool,
    /// Cost of one reminder by channel index, minor units.
    pub cost: [i64; 5],
    pub smtp_url: Option<String>,
    pub from: String,
    pub portal_url: String,
    pub portal_secret: String,
    /// Days a portal link stays valid.
    pub portal_days: i32,
    pub company: Company,
    settings: Vec<(String, String)>,
}

impl DunningSettings {
    /// Reads the settings; a wrong value is an error naming its key. `ARPILOT_SMTP_URL`, when
    /// set, gives the SMTP server.
    pub fn from_settings(
        settings: &[(String, String)],
        decimals: u8,
    ) -> Result<DunningSettings, DunningError> {
        let get = |k: &str| crate::setting(settings, k).map(str::to_string);
        let policy = match get(POLICY_KEY) {
            None => Policy::standard(),
            Some(json) => {
                let p: Policy = serde_json::from_str(&json)
                    .map_err(|e| DunningError::Invalid(format!("{POLICY_KEY}: {e}")))?;
                p.check()
                    .map_err(|e| DunningError::Invalid(format!("{POLICY_KEY}: {e}")))?;
                p
            }
        };
        let hour = match get(HOUR_KEY) {
            None => None,
            Some(h) => Some(h.parse::<u8>().ok().filter(|h| *h < 24).ok_or_else(|| {
                DunningError::Invalid(format!("{HOUR_KEY} {h:?}: expected an hour from 0 to 23"))
            })?),
        };
        let mut cost = [50, 250, 300, 900, 5_000];
        for (k, ch) in CHANNELS.iter().enumerate() {
            if let Some(v) = get(&format!("{COST_PREFIX}{ch}")) {
                cost[k] = crate::cash::parse_amount(&v, decimals)
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| {
                        DunningError::Invalid(format!(
                            "{COST_PREFIX}{ch} {v:?}: expected an amount of 0 or more"
                        ))
                    })?;
            }
        }
        let smtp_url = std::env::var("ARPILOT_SMTP_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| get(SMTP_KEY));
        let company = Company::from_settings(settings);
        Ok(DunningSettings {
            policy,
            hour,
            approval: get(APPROVAL_KEY).is_some_and(|v| v == "manual"),
            cost,
            smtp_url,
            from: get(FROM_KEY).unwrap_or_else(|| "relances@arpilot.invalid".into()),
            portal_url: get(PORTAL_URL_KEY)
                .unwrap_or_else(|| "http://127.0.0.1:8080".into())
                .trim_end_matches('/')
                .to_string(),
            portal_secret: get(portal::SECRET_KEY).unwrap_or_default(),
            portal_days: 45,
            company,
            settings: settings.to_vec(),
        })
    }

    /// The settings of `store`, the portal's secret created on first use.
    pub async fn load(
        store: &(impl UserStore + Sync),
        decimals: u8,
    ) -> Result<DunningSettings, DunningError> {
        let mut settings = store.settings().await?;
        if !settings
            .iter()
            .any(|(k, v)| k == portal::SECRET_KEY && !v.is_empty())
        {
            let s = portal::new_secret();
            store.set_setting(portal::SECRET_KEY, &s).await?;
            settings.push((portal::SECRET_KEY.into(), s));
        }
        DunningSettings::from_settings(&settings, decimals)
    }

    fn setting(&self, k: &str) -> Option<&str> {
        crate::setting(&self.settings, k)
    }

    /// The link to customer `id`'s portal from a reminder dated `day`.
    pub fn portal_link(&self, id: &str, day: Day) -> String {
        let t = portal::token(&self.portal_secret, id, Day(day.0 + self.portal_days));
        format!("{}/portal/{t}", self.portal_url)
    }
}

/// Checks a policy given as JSON and stores it.
pub async fn save_policy(
    store: &(impl UserStore + Sync),
    json: &str,
) -> Result<Policy, DunningError> {
    let p: Policy = serde_json::from_str(json)
        .map_err(|e| DunningError::Invalid(format!("{POLICY_KEY}: {e}")))?;
    p.check()
        .map_err(|e| DunningError::Invalid(format!("{POLICY_KEY}: {e}")))?;
    let text = serde_json::to_string_pretty(&p).expect("a policy serialises");
    store.set_setting(POLICY_KEY, &text).await?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// What a run would do

/// One invoice of a reminder.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PlannedLine {
    pub invoice_id: String,
    pub due: Day,
    pub days_overdue: i32,
    pub open: Money,
    /// The step the invoice reached.
    pub step: u16,
}

/// A reminder a run sends (or would send).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Planned {
    pub customer_id: String,
    pub customer_name: String,
    pub scenario: String,
    pub step: u16,
    /// `email`, `letter`, `call`, `formal_notice` or `legal`.
    pub channel: String,
    /// The invoices covered (ids), oldest due first.
    pub invoices: Vec<String>,
    pub amount: Money,
    pub currency: String,
    pub lines: Vec<PlannedLine>,
    /// Where an e-mail goes (the contact's address); an e-mail without one goes as a letter.
    pub recipient: Option<String>,
    /// `fr` or `en` (the customer's `language`, French by default).
    pub language: String,
}

/// A customer with invoices at a new step that a run leaves alone today, and why.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Waiting {
    pub customer_id: String,
    pub customer_name: String,
    /// `hold`, `promise`, `interval`, `below_minimum` or `today`.
    pub reason: String,
    /// Until when (hold, promise, interval).
    pub until: Option<Day>,
}

#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Preview {
    pub as_of: Day,
    pub reminders: Vec<Planned>,
    pub waiting: Vec<Waiting>,
}

fn attr<'a>(snap: &'a Snapshot, c: u32, name: &str) -> Option<&'a str> {
    snap.customers
        .dims
        .get(name)
        .map(|col| col.value(c).trim())
        .filter(|v| !v.is_empty())
}

/// A customer's language: its `language` attribute (`en…` is English), French otherwise.
pub fn language_of(snap: &Snapshot, c: u32) -> Lang {
    match attr(snap, c, "language") {
        Some(l) if l.to_ascii_lowercase().starts_with("en") => Lang::En,
        _ => Lang::Fr,
    }
}

/// What a run on `as_of` would send to the customers of `filters`.
pub fn preview(
    snap: &Snapshot,
    filters: &[Filter],
    settings: &DunningSettings,
    as_of: Day,
) -> Preview {
    let sel = Selection::portfolio(snap, filters);
    let Selected { due, waiting } =
        arpilot_core::dunning::select(snap, &sel, &settings.policy, as_of);
    let contacts = snap.followups_on(as_of.0);
    let reminders = due
        .iter()
        .map(|d| planned(snap, settings, &contacts, d, as_of))
        .collect();
    let waiting = waiting
        .into_iter()
        .map(|(c, w)| {
            let (reason, until) = match w {
                Wait::Hold(d) => ("hold", Some(d)),
                Wait::Promise(d) => ("promise", Some(d)),
                Wait::Interval(d) => ("interval", Some(d)),
                Wait::BelowMinimum => ("below_minimum", None),
                Wait::Today => ("today", None),
            };
            Waiting {
                customer_id: snap.customers.ids.get(c).to_string(),
                customer_name: snap.customers.names[c as usize].clone(),
                reason: reason.into(),
                until,
            }
        })
        .collect();
    Preview {
        as_of,
        reminders,
        waiting,
    }
}

fn planned(
    snap: &Snapshot,
    settings: &DunningSettings,
    contacts: &std::collections::HashMap<u32, FollowupRec>,
    d: &Due,
    as_of: Day,
) -> Planned {
    let cur = snap.currency;
    let sc = &settings.policy.scenarios[d.scenario];
    let recipient = contacts
        .get(&d.customer)
        .and_then(|f| f.contact_email.clone())
        .or_else(|| attr(snap, d.customer, "email").map(str::to_string))
        .filter(|e| e.contains('@'));
    let mut channel = sc.steps[d.step as usize - 1].channel.clone();
    if channel == "email" && recipient.is_none() {
        channel = "letter".into();
    }
    let lines = line_rows(snap, &d.lines, as_of);
    Planned {
        customer_id: snap.customers.ids.get(d.customer).to_string(),
        customer_name: snap.customers.names[d.customer as usize].clone(),
        scenario: sc.id.clone(),
        step: d.step,
        channel,
        invoices: lines.iter().map(|l| l.invoice_id.clone()).collect(),
        amount: Money::new(d.amount, cur),
        currency: cur.code().to_string(),
        lines,
        recipient,
        language: language_of(snap, d.customer).code().into(),
    }
}

/// A reminder's invoices (row, open amount, step) as shown on `day`.
fn line_rows(snap: &Snapshot, lines: &[(u32, i64, u16)], day: Day) -> Vec<PlannedLine> {
    lines
        .iter()
        .map(|&(i, open, step)| {
            let due = Day(snap.invoices.due[i as usize]);
            PlannedLine {
                invoice_id: snap.invoices.ids.get(i).to_string(),
                due,
                days_overdue: (day.0 - due.0).max(0),
                open: Money::new(open, snap.currency),
                step,
            }
        })
        .collect()
}

/// The id of customer `customer_id`'s reminder of `day`: one a day.
pub fn reminder_id(customer_id: &str, day: Day) -> String {
    let d = day.to_string().replace('-', "");
    let id = format!("R{d}-{customer_id}");
    if id.chars().count() <= arpilot_core::bounds::MAX_ID_CHARS {
        id
    } else {
        use sha2::Digest;
        let h = sha2::Sha256::digest(customer_id.as_bytes());
        let hex: String = h[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("R{d}-{hex}")
    }
}

/// The ledger events that decide `p` (dated `as_of`, by `author`): the queued reminder, and for
/// what needs no sending the end of it (a call task for the worklist, the invoices put in
/// legal collection, a letter to print).
pub fn events(p: &Planned, as_of: Day, author: Option<&str>) -> Vec<Event> {
    let id = reminder_id(&p.customer_id, as_of);
    let mut out = vec![Event::Reminder(ReminderRec {
        id: id.clone(),
        customer_id: p.customer_id.clone(),
        date: as_of,
        status: ReminderStatus::Queued(ReminderContent {
            scenario: p.scenario.clone(),
            step: p.step,
            channel: p.channel.clone(),
            lines: p
                .lines
                .iter()
                .map(|l| (l.invoice_id.clone(), l.open.minor, l.step))
                .collect(),
            author: author.map(str::to_string),
            recipient: p.recipient.clone().filter(|_| p.channel == "email"),
        }),
    })];
    let done = |what: &str| {
        Event::Reminder(ReminderRec {
            id: id.clone(),
            customer_id: p.customer_id.clone(),
            date: as_of,
            status: ReminderStatus::Sent {
                message_id: format!("{what}:{id}"),
            },
        })
    };
    match p.channel.as_str() {
        "call" => {
            out.push(done("task"));
            out.push(Event::Followup(FollowupRec {
                customer_id: p.customer_id.clone(),
                date: as_of,
                next_action: Some(as_of),
                ..FollowupRec::default()
            }));
        }
        "legal" => {
            out.push(done("legal"));
            for l in &p.lines {
                out.push(Event::Amend(AmendRec {
                    effective: as_of,
                    change: Change::InLegal {
                        document_id: l.invoice_id.clone(),
                        in_legal: true,
                    },
                }));
            }
        }
        "letter" | "formal_notice" => out.push(done("letter")),
        _ => {}
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The run

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize, schemars::JsonSchema)]
pub struct RunOutcome {
    pub as_of: Option<Day>,
    /// Reminders decided by this run (written to the ledger before anything left).
    pub queued: usize,
    pub emails_sent: usize,
    pub letters: usize,
    pub call_tasks: usize,
    pub legal: usize,
    /// E-mails that failed this time (retried by the next run, with back-off in the server).
    pub failed: Vec<Failure>,
    /// E-mails of earlier runs sent now (a run interrupted, a failure retried).
    pub resumed: usize,
}

#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Failure {
    pub reminder_id: String,
    pub customer_id: String,
    pub attempt: u16,
    pub error: String,
}

/// Something that delivers e-mails: SMTP, or nothing for a run without e-mails.
#[allow(async_fn_in_trait)]
pub trait Mailer {
    /// Sends `m`; the error says why not.
    async fn send(&self, m: &Outgoing) -> Result<(), String>;
}

/// An e-mail ready to leave.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message_id: String,
    pub from: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// File name and PDF.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// Serialises delivery within the process: two runs never send the same reminder at once.
static DELIVERING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Decides today's reminders of `filters` (all, or the customers `only`), writes them to the
/// ledger in one batch, then sends every e-mail waiting (these and any an earlier run left).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    views: &Views,
    store: &impl LedgerStore,
    settings: &DunningSettings,
    mailer: &impl Mailer,
    as_of: Day,
    filters: &[Filter],
    only: Option<&BTreeSet<String>>,
    author: &Author,
    source: &str,
) -> Result<RunOutcome, DunningError> {
    let _one = DELIVERING.lock().await;
    let snap = views.at(store, Some(as_of)).await?;
    let mut pv = preview(&snap, filters, settings, as_of);
    drop(snap);
    if let Some(only) = only {
        pv.reminders.retain(|p| only.contains(&p.customer_id));
    }
    let mut out = RunOutcome {
        as_of: Some(as_of),
        ..RunOutcome::default()
    };
    if pv.reminders.iter().any(|p| p.channel == "email") && settings.smtp_url.is_none() {
        return Err(DunningError::Invalid(format!(
            "no SMTP server to send e-mails: set {SMTP_KEY} in the settings or ARPILOT_SMTP_URL (smtp://host:port)"
        )));
    }
    let mut evs = Vec::new();
    for p in &pv.reminders {
        match p.channel.as_str() {
            "call" => out.call_tasks += 1,
            "legal" => out.legal += 1,
            "letter" | "formal_notice" => out.letters += 1,
            _ => {}
        }
        evs.extend(events(
            p,
            as_of,
            Some(author.user.as_str()).filter(|u| !u.is_empty()),
        ));
    }
    out.queued = pv.reminders.len();
    if !evs.is_empty() {
        append(views, store, source, author, evs).await?;
    }
    let sent_now: BTreeSet<String> = pv
        .reminders
        .iter()
        .map(|p| reminder_id(&p.customer_id, as_of))
        .collect();
    let d = deliver_locked(views, store, settings, mailer, author, |_| true).await?;
    out.emails_sent = d.sent;
    out.resumed = d.sent_ids.iter().filter(|i| !sent_now.contains(*i)).count();
    out.failed = d.failed;
    Ok(out)
}

async fn append(
    views: &Views,
    store: &impl LedgerStore,
    source: &str,
    author: &Author,
    events: Vec<Event>,
) -> Result<(), DunningError> {
    let batch = NewBatch::for_import(
        source.to_string(),
        String::new(),
        "dunning",
        None,
        author.user.clone(),
    );
    match views.append_exact(store, &batch, events).await {
        Ok(_) => Ok(()),
        Err(FastError::Refused { error, .. }) => Err(DunningError::Refused(error.to_string())),
        Err(FastError::Store(e)) => Err(DunningError::Store(e)),
    }
}

/// What a delivery did.
#[derive(Default)]
pub struct Delivered {
    pub sent: usize,
    pub sent_ids: Vec<String>,
    pub failed: Vec<Failure>,
}

/// Sends the e-mails waiting in the ledger (queued, or failed fewer than [`MAX_ATTEMPTS`]
/// times) that `due` accepts (the server's back-off), each marked sent or failed right after.
pub async fn deliver(
    views: &Views,
    store: &impl LedgerStore,
    settings: &DunningSettings,
    mailer: &impl Mailer,
    author: &Author,
    due: impl Fn(&str) -> bool,
) -> Result<Delivered, DunningError> {
    let _one = DELIVERING.lock().await;
    deliver_locked(views, store, settings, mailer, author, due).await
}

async fn deliver_locked(
    views: &Views,
    store: &impl LedgerStore,
    settings: &DunningSettings,
    mailer: &impl Mailer,
    author: &Author,
    due: impl Fn(&str) -> bool,
) -> Result<Delivered, DunningError> {
    views.refresh(store).await?;
    let email = CHANNELS.iter().position(|c| *c == "email").unwrap_or(0) as u8;
    let waiting = |r: &arpilot_core::snapshot::Reminder| {
        r.channel == email
            && (r.status == REMINDER_QUEUED
                || (r.status == REMINDER_FAILED && r.attempts < MAX_ATTEMPTS))
    };
    let ids: Vec<String> = views
        .current()
        .reminders
        .rows
        .iter()
        .filter(|r| waiting(r) && due(&r.id))
        .map(|r| r.id.clone())
        .collect();
    let mut out = Delivered::default();
    for id in ids {
        // The view is not held across the append: appending to a view still shared would copy
        // the whole ledger.
        let (msg, cid, attempts, day) = {
            let snap = views.current();
            let Some(&k) = snap.reminders.ids.get(&id) else {
                continue;
            };
            let r = &snap.reminders.rows[k as usize];
            if !waiting(r) {
                continue;
            }
            (
                outgoing(&snap, settings, k as usize),
                snap.customers.ids.get(r.customer).to_string(),
                r.attempts,
                r.day,
            )
        };
        let result = match msg {
            Some(m) => mailer.send(&m).await.map(|_| m.message_id),
            None => Err("no e-mail address".to_string()),
        };
        let status = match &result {
            Ok(mid) => ReminderStatus::Sent {
                message_id: mid.clone(),
            },
            Err(e) => ReminderStatus::Failed {
                attempt: attempts + 1,
                error: e.chars().take(1_000).collect(),
            },
        };
        let ev = Event::Reminder(ReminderRec {
            id: id.clone(),
            customer_id: cid.clone(),
            date: Day(day),
            status,
        });
        append(views, store, "dunning", author, vec![ev]).await?;
        match result {
            Ok(_) => {
                out.sent += 1;
                out.sent_ids.push(id);
            }
            Err(error) => out.failed.push(Failure {
                reminder_id: id,
                customer_id: cid,
                attempt: attempts + 1,
                error,
            }),
        }
    }
    Ok(out)
}

/// Skips customer `customer_id`'s reminder of `as_of` (preview page): it is not sent today.
pub async fn skip(
    views: &Views,
    store: &impl LedgerStore,
    customer_id: &str,
    as_of: Day,
    reason: Option<String>,
    author: &Author,
) -> Result<(), DunningError> {
    let ev = Event::Reminder(ReminderRec {
        id: reminder_id(customer_id, as_of),
        customer_id: customer_id.to_string(),
        date: as_of,
        status: ReminderStatus::Skipped { reason },
    });
    append(views, store, "page", author, vec![ev]).await
}

// ---------------------------------------------------------------------------------------------
// Messages

/// Merge fields a template may use.
pub const FIELDS: [&str; 11] = [
    "customer",
    "customer_id",
    "contact",
    "invoices",
    "total",
    "collector",
    "portal",
    "payment",
    "company",
    "date",
    "penalties",
];

/// The built-in subject and body of a channel's message in `lang`.
pub fn default_template(channel: &str, courtesy: bool, lang: Lang) -> (String, String) {
    let (s, b) = match (channel, lang, courtesy) {
        ("email", Lang::Fr, true) => (
            "Rappel : échéance prochaine – {customer}",
            "Bonjour {contact},\n\nNous vous rappelons que les factures ci-dessous arrivent à échéance prochainement :\n\n{invoices}\n\nTotal : {total}\n\n{payment}\n\nVotre relevé et vos factures : {portal}\n\nCordialement,\n{collector}\n{company}",
        ),
        ("email", Lang::En, true) => (
            "Reminder: invoices falling due – {customer}",
            "Hello {contact},\n\nThis is a friendly reminder that the invoices below fall due soon:\n\n{invoices}\n\nTotal: {total}\n\n{payment}\n\nYour statement and invoices: {portal}\n\nKind regards,\n{collector}\n{company}",
        ),
        ("formal_notice", Lang::Fr, _) => (
            "Mise en demeure de payer – {customer}",
            "Madame, Monsieur,\n\nMalgré nos relances, les factures ci-dessous restent impayées à ce jour :\n\n{invoices}\n\nTotal dû : {total}\n\nNous vous mettons en demeure de régler cette somme sous huit jours. À défaut, nous engagerons une procédure de recouvrement sans autre avis. Conformément à l'article L441-10 du Code de commerce, des pénalités de retard et une indemnité forfaitaire de 40 € par facture pour frais de recouvrement sont dues :\n\n{penalties}\n\n{payment}\n\n{collector}\n{company}",
        ),
        ("formal_notice", Lang::En, _) => (
            "Formal notice to pay – {customer}",
            "Dear Sir or Madam,\n\nDespite our reminders, the invoices below remain unpaid:\n\n{invoices}\n\nTotal due: {total}\n\nWe formally request payment of this sum within eight days, failing which we will start recovery proceedings without further notice. Under article L441-10 of the French Commercial Code, late-payment interest and a fixed recovery indemnity of €40 per invoice are due:\n\n{penalties}\n\n{payment}\n\n{collector}\n{company}",
        ),
        (_, Lang::Fr, _) => (
            "Relance : factures échues – {customer}",
            "Bonjour {contact},\n\nSauf erreur de notre part, les factures ci-dessous restent impayées à ce jour :\n\n{invoices}\n\nTotal dû : {total}\n\n{payment}\n\nVous pouvez consulter votre relevé, nous indiquer une date de paiement ou signaler un litige ici : {portal}\n\nSi votre règlement est en cours, merci de ne pas tenir compte de ce message.\n\nCordialement,\n{collector}\n{company}",
        ),
        (_, Lang::En, _) => (
            "Reminder: overdue invoices – {customer}",
            "Hello {contact},\n\nAccording to our records, the invoices below are still unpaid:\n\n{invoices}\n\nTotal due: {total}\n\n{payment}\n\nYou can see your statement, tell us when you will pay or dispute an invoice here: {portal}\n\nIf your payment is on its way, please disregard this message.\n\nKind regards,\n{collector}\n{company}",
        ),
    };
    (s.to_string(), b.to_string())
}

/// A reminder's content, ready to render: from the ledger's record, so that what leaves is
/// what was decided.
#[derive(Clone, Debug)]
pub struct Letter {
    pub id: String,
    pub lang: Lang,
    pub channel: String,
    pub step: u16,
    pub day: Day,
    pub customer_id: String,
    pub customer_name: String,
    pub contact: Option<String>,
    pub collector: Option<String>,
    pub lines: Vec<PlannedLine>,
    pub total: Money,
    /// L441-10 per invoice (formal notices): interest and indemnity.
    pub penalties: Vec<arpilot_core::dunning::LateTerms>,
    pub rate_bp: i64,
    pub subject: String,
    pub body: String,
    pub portal: String,
    pub company: Company,
    pub reference: Option<String>,
}

/// The late-payment rate of customer `c`: its `late_rate` attribute (percent a year), else the
/// policy's.
fn late_rate(snap: &Snapshot, c: u32, settings: &DunningSettings) -> i64 {
    attr(snap, c, "late_rate")
        .and_then(|v| crate::cash::parse_amount(v, 2).ok())
        .filter(|v| (0..=10_000).contains(v))
        .unwrap_or(settings.policy.rules.late_rate_bp)
}

/// The content of reminder row `k`.
pub fn letter(snap: &Snapshot, settings: &DunningSettings, k: usize) -> Letter {
    let r = &snap.reminders.rows[k];
    let c = r.customer;
    let cur = snap.currency;
    let lang = language_of(snap, c);
    let day = Day(r.day);
    let channel = CHANNELS[r.channel as usize].to_string();
    let lines = line_rows(snap, &r.lines, day);
    let rate_bp = late_rate(snap, c, settings);
    let indemnity = if cur.code() == "EUR" {
        settings.policy.rules.indemnity
    } else {
        0
    };
    let penalties = if channel == "formal_notice" {
        lines
            .iter()
            .map(|l| {
                arpilot_core::dunning::late_terms(l.open.minor, l.due, day, rate_bp, indemnity)
            })
            .collect()
    } else {
        Vec::new()
    };
    let scenario = settings
        .policy
        .scenarios
        .iter()
        .find(|s| s.id == r.scenario);
    let step = scenario.and_then(|s| s.steps.get(r.step as usize - 1));
    let courtesy = step.is_some_and(|s| s.offset < 0);
    let (subject, body) = step
        .and_then(|s| s.templates.get(lang.code()))
        .map(|t| (t.subject.clone(), t.body.clone()))
        .unwrap_or_else(|| default_template(&channel, courtesy, lang));
    let customer_id = snap.customers.ids.get(c).to_string();
    Letter {
        id: r.id.clone(),
        lang,
        channel,
        step: r.step,
        day,
        customer_name: snap.customers.names[c as usize].clone(),
        contact: snap.followup_of(c, r.day).and_then(|f| f.contact_name),
        collector: attr(snap, c, "collector").map(str::to_string),
        total: Money::new(r.amount, cur),
        penalties,
        rate_bp,
        lines,
        subject,
        body,
        portal: settings.portal_link(&customer_id, day),
        company: settings.company.clone(),
        reference: arpilot_core::cash::customer_reference(&customer_id),
        customer_id,
    }
}

impl Letter {
    /// The table of invoices as text lines.
    fn invoice_lines(&self) -> Vec<String> {
        let l = self.lang;
        self.lines
            .iter()
            .map(|x| {
                if x.days_overdue > 0 {
                    format!(
                        "{}  {} {}  {} {}  {}",
                        x.invoice_id,
                        l.t("due", "échéance"),
                        l.date(x.due),
                        x.days_overdue,
                        l.t("days late", "j de retard"),
                        l.money(x.open)
                    )
                } else {
                    format!(
                        "{}  {} {}  {}",
                        x.invoice_id,
                        l.t("due", "échéance"),
                        l.date(x.due),
                        l.money(x.open)
                    )
                }
            })
            .collect()
    }

    fn penalty_lines(&self) -> Vec<String> {
        let l = self.lang;
        let cur = self.total.currency;
        let mut out: Vec<String> = self
            .lines
            .iter()
            .zip(&self.penalties)
            .map(|(x, p)| {
                format!(
                    "{}  {} {}  {} {}  {} {}",
                    x.invoice_id,
                    p.days,
                    l.t("days", "jours"),
                    l.t("interest", "intérêts"),
                    l.money(Money::new(p.interest, cur)),
                    l.t("indemnity", "indemnité"),
                    l.money(Money::new(p.indemnity, cur))
                )
            })
            .collect();
        if !self.penalties.is_empty() {
            let (i, f) = self.penalty_totals();
            out.push(format!(
                "{} {} % {} : {} + {} = {}",
                l.t("Rate", "Taux"),
                l.num(Some(self.rate_bp as f64 / 100.0), ""),
                l.t("a year", "l'an"),
                l.money(Money::new(i, cur)),
                l.money(Money::new(f, cur)),
                l.money(Money::new(i + f, cur))
            ));
        }
        out
    }

    /// Total interest and total indemnities.
    pub fn penalty_totals(&self) -> (i64, i64) {
        self.penalties
            .iter()
            .fold((0, 0), |(i, f), p| (i + p.interest, f + p.indemnity))
    }

    fn payment_text(&self) -> String {
        let l = self.lang;
        let mut s = format!(
            "{} {}",
            l.t(
                "Payment by transfer to",
                "Règlement par virement à l'ordre de"
            ),
            self.company.name
        );
        if let Some(i) = &self.company.iban {
            s.push_str(&format!(", IBAN {i}"));
        }
        if let Some(b) = &self.company.bic {
            s.push_str(&format!(", BIC {b}"));
        }
        if let Some(r) = &self.reference {
            s.push_str(&format!(
                ", {} {r}",
                l.t("reference", "référence à rappeler")
            ));
        }
        s.push('.');
        s
    }

    fn value(&self, field: &str) -> Option<String> {
        let l = self.lang;
        Some(match field {
            "customer" => self.customer_name.clone(),
            "customer_id" => self.customer_id.clone(),
            "contact" => self
                .contact
                .clone()
                .unwrap_or_else(|| l.t("Madam, Sir", "Madame, Monsieur").into()),
            "total" => l.money(self.total),
            "collector" => self
                .collector
                .clone()
                .unwrap_or_else(|| l.t("The credit team", "Le service recouvrement").into()),
            "portal" => self.portal.clone(),
            "payment" => self.payment_text(),
            "company" => self.company.name.clone(),
            "date" => l.date(self.day),
            _ => return None,
        })
    }

    /// `template` with its merge fields filled, as text.
    pub fn fill_text(&self, template: &str) -> String {
        fill(template, |f| match f {
            "invoices" => Some(self.invoice_lines().join("\n")),
            "penalties" => Some(self.penalty_lines().join("\n")),
            _ => self.value(f),
        })
    }

    /// `template` with its merge fields filled, as HTML (text escaped, tables for invoices).
    pub fn fill_html(&self, template: &str) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let l = self.lang;
        let body = fill_parts(template, |part| match part {
            Part::Text(t) => esc(t).replace('\n', "<br>\n"),
            Part::Field("invoices") => {
                let mut t = format!(
                    "<table style=\"border-collapse:collapse\"><tr><th align=left>{}</th><th align=left>{}</th><th align=right>{}</th><th align=right>{}</th></tr>",
                    l.t("Invoice", "Facture"),
                    l.t("Due", "Échéance"),
                    l.t("Days late", "Jours de retard"),
                    l.t("Open", "Reste dû")
                );
                for x in &self.lines {
                    t.push_str(&format!(
                        "<tr><td style=\"padding:2px 12px 2px 0\">{}</td><td style=\"padding:2px 12px 2px 0\">{}</td><td align=right style=\"padding:2px 12px\">{}</td><td align=right>{}</td></tr>",
                        esc(&x.invoice_id),
                        l.date(x.due),
                        x.days_overdue,
                        esc(&l.money(x.open))
                    ));
                }
                t.push_str("</table>");
                t
            }
            Part::Field("penalties") => {
                esc(&self.penalty_lines().join("\n")).replace('\n', "<br>\n")
            }
            Part::Field("portal") => format!("<a href=\"{0}\">{0}</a>", esc(&self.portal)),
            Part::Field(f) => esc(&self.value(f).unwrap_or_else(|| format!("{{{f}}}"))),
        });
        format!(
            "<!DOCTYPE html><html lang=\"{}\"><body style=\"font-family:Arial,sans-serif;font-size:14px;color:#1a1a1a\">{body}</body></html>",
            l.code()
        )
    }

    pub fn subject_text(&self) -> String {
        self.fill_text(&self.subject).replace(['\r', '\n'], " ")
    }
}

enum Part<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits `template` into literal text and `{field}`s (known fields only; anything else stays
/// text) and renders each part.
fn fill_parts(template: &str, mut f: impl FnMut(Part) -> String) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if FIELDS.contains(&&after[..close]) => {
                out.push_str(&f(Part::Text(&rest[..open])));
                out.push_str(&f(Part::Field(&after[..close])));
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&f(Part::Text(&rest[..=open])));
                rest = after;
            }
        }
    }
    out.push_str(&f(Part::Text(rest)));
    out
}

fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    fill_parts(template, |p| match p {
        Part::Text(t) => t.to_string(),
        Part::Field(f) => value(f).unwrap_or_else(|| format!("{{{f}}}")),
    })
}

/// A message id unique to the reminder (what mail stores recognise a message by).
pub fn message_id(reminder_id: &str, from: &str) -> String {
    let safe: String = reminder_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let domain = from
        .rsplit('@')
        .next()
        .filter(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        })
        .unwrap_or("arpilot.invalid");
    format!("<{safe}@{domain}>")
}

/// The e-mail of reminder row `k`: the message, with the customer's statement attached.
pub fn outgoing(snap: &Snapshot, settings: &DunningSettings, k: usize) -> Option<Outgoing> {
    let r = &snap.reminders.rows[k];
    let to = r.recipient.clone()?;
    let l = letter(snap, settings, k);
    let st = crate::statement::statement(
        snap,
        &Selection::all(),
        &l.customer_id,
        l.day,
        settings.company.clone(),
    );
    let attachment = st.map(|s| {
        (
            format!(
                "{}-{}.pdf",
                l.lang.t("statement", "releve"),
                l.customer_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            ),
            crate::statement::pdf(&s, l.lang),
        )
    });
    let reply_to = l
        .collector
        .as_deref()
        .and_then(|c| settings.setting(&format!("collector.{c}.email")))
        .map(str::to_string);
    Some(Outgoing {
        message_id: message_id(&r.id, &settings.from),
        from: format!("{} <{}>", settings.company.name, settings.from),
        reply_to,
        to,
        subject: l.subject_text(),
        text: l.fill_text(&l.body),
        html: l.fill_html(&l.body),
        attachment,
    })
}

// ---------------------------------------------------------------------------------------------
// History and KPIs

/// One reminder as the history shows it.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct HistoryRow {
    pub id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub date: Day,
    pub scenario: String,
    pub step: u16,
    pub channel: String,
    pub invoices: Vec<String>,
    pub amount: Money,
    /// `queued`, `sent`, `failed` or `skipped`.
    pub status: String,
    pub status_date: Day,
    pub message_id: Option<String>,
    pub attempts: u16,
    pub error: Option<String>,
    pub author: Option<String>,
}

/// Reminders dated in `[from, to]` of customers of `filters`, latest first.
pub fn history(snap: &Snapshot, filters: &[Filter], from: Day, to: Day) -> Vec<HistoryRow> {
    let sel = Selection::portfolio(snap, filters);
    let cur = snap.currency;
    let mut out: Vec<HistoryRow> = snap
        .reminders
        .rows
        .iter()
        .filter(|r| r.day >= from.0 && r.day <= to.0 && sel.customer(r.customer))
        .map(|r| HistoryRow {
            id: r.id.clone(),
            customer_id: snap.customers.ids.get(r.customer).to_string(),
            customer_name: snap.customers.names[r.customer as usize].clone(),
            date: Day(r.day),
            scenario: r.scenario.clone(),
            step: r.step,
            channel: if r.status == REMINDER_SKIPPED && r.lines.is_empty() {
                String::new()
            } else {
                CHANNELS[r.channel as usize].to_string()
            },
            invoices: r
                .lines
                .iter()
                .map(|l| snap.invoices.ids.get(l.0).to_string())
                .collect(),
            amount: Money::new(r.amount, cur),
            status: match r.status {
                REMINDER_QUEUED => "queued",
                REMINDER_SENT => "sent",
                REMINDER_FAILED => "failed",
                _ => "skipped",
            }
            .into(),
            status_date: Day(r.status_day),
            message_id: r.message_id.clone(),
            attempts: r.attempts,
            error: r.error.clone().or_else(|| r.skip_reason.clone()),
            author: Some(snap.agents.value(r.author).to_string()).filter(|a| !a.is_empty()),
        })
        .collect();
    out.reverse();
    out
}

/// Reminder KPIs of `[from, to]` for the customers of `filters`.
pub fn kpis(
    snap: &Snapshot,
    filters: &[Filter],
    settings: &DunningSettings,
    from: Day,
    to: Day,
) -> arpilot_core::dunning::ReminderKpis {
    arpilot_core::dunning::kpis(
        snap,
        &Selection::portfolio(snap, filters),
        from,
        to,
        &settings.cost,
    )
}

// ---------------------------------------------------------------------------------------------
// SMTP

/// Delivery through an SMTP server given as a URL: `smtp://host:port` (plain, as local relays
/// and test sinks), `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://host:465`
/// (TLS).
pub struct Smtp {
    route: Route,
}

enum Route {
    /// Plain SMTP on our own connection, kept open between messages. Its socket sends without
    /// delay (TCP_NODELAY): lettre writes the end-of-data mark apart from the message, and with
    /// Nagle's algorithm that waits for the server's delayed acknowledgement (40 ms a message).
    Plain {
        addr: String,
        credentials: Option<lettre::transport::smtp::authentication::Credentials>,
        conn: tokio::sync::Mutex<Option<Box<lettre::transport::smtp::client::AsyncSmtpConnection>>>,
    },
    /// TLS and STARTTLS through lettre's transport.
    Tls(lettre::AsyncSmtpTransport<lettre::Tokio1Executor>),
}

/// The host:port and credentials of a plain `smtp://` URL without a `tls` parameter.
fn plain_url(url: &str) -> Option<(String, Option<(String, String)>)> {
    let rest = url.strip_prefix("smtp://")?;
    if rest.contains('?') {
        return None;
    }
    let rest = rest.trim_end_matches('/');
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:25")
    };
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let creds = auth.map(|a| match a.split_once(':') {
        Some((u, p)) => (decode(u), decode(p)),
        None => (decode(a), String::new()),
    });
    Some((host, creds))
}

impl Smtp {
    pub fn new(url: &str) -> Result<Smtp, DunningError> {
        if let Some((addr, creds)) = plain_url(url) {
            return Ok(Smtp {
                route: Route::Plain {
                    addr,
                    credentials: creds.map(|(u, p)| {
                        lettre::transport::smtp::authentication::Credentials::new(u, p)
                    }),
                    conn: tokio::sync::Mutex::new(None),
                },
            });
        }
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| DunningError::Invalid(format!("SMTP URL {url:?}: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Smtp {
            route: Route::Tls(transport),
        })
    }
}

async fn connect_plain(
    addr: &str,
    credentials: &Option<lettre::transport::smtp::authentication::Credentials>,
) -> Result<lettre::transport::smtp::client::AsyncSmtpConnection, String> {
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;
    let timeout = std::time::Duration::from_secs(30);
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connection to {addr} timed out"))?
        .map_err(|e| format!("connection to {addr}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut conn = tokio::time::timeout(
        timeout,
        AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default()),
    )
    .await
    .map_err(|_| format!("{addr} did not greet in time"))?
    .map_err(|e| e.to_string())?;
    if let Some(c) = credentials {
        use lettre::transport::smtp::authentication::Mechanism;
        conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(conn)
}

impl Mailer for Smtp {
    async fn send(&self, m: &Outgoing) -> Result<(), String> {
        use lettre::AsyncTransport;
        use lettre::message::header::ContentType;
        use lettre::message::{Attachment, MultiPart, SinglePart};
        let mut b = lettre::Message::builder()
            .message_id(Some(m.message_id.clone()))
            .from(
                m.from
                    .parse()
                    .map_err(|e| format!("sender {:?}: {e}", m.from))?,
            )
            .to(m
                .to
                .parse()
                .map_err(|e| format!("recipient {:?}: {e}", m.to))?)
            .subject(m.subject.clone());
        if let Some(r) = &m.reply_to
            && let Ok(r) = r.parse()
        {
            b = b.reply_to(r);
        }
        let alt = MultiPart::alternative()
            .singlepart(SinglePart::plain(m.text.clone()))
            .singlepart(SinglePart::html(m.html.clone()));
        let body =
            match &m.attachment {
                Some((name, pdf)) => MultiPart::mixed().multipart(alt).singlepart(
                    Attachment::new(name.clone()).body(
                        pdf.clone(),
                        ContentType::parse("application/pdf").expect("a valid content type"),
                    ),
                ),
                None => alt,
            };
        let email = b.multipart(body).map_err(|e| e.to_string())?;
        match &self.route {
            Route::Tls(t) => t.send(email).await.map(|_| ()).map_err(|e| e.to_string()),
            Route::Plain {
                addr,
                credentials,
                conn,
            } => {
                let mut slot = conn.lock().await;
                // A connection the server closed (idle timeout) is opened again.
                let reuse = match slot.as_mut() {
                    Some(c) => !c.has_broken() && c.test_connected().await,
                    None => false,
                };
                if !reuse {
                    *slot = Some(Box::new(connect_plain(addr, credentials).await?));
                }
                let c = slot.as_mut().expect("connected");
                let r = c.send(email.envelope(), &email.formatted()).await;
                if r.is_err() {
                    *slot = None;
                }
                r.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

/// The mailer of a run that has no e-mail to send.
pub struct NoMail;

impl Mailer for NoMail {
    async fn send(&self, _: &Outgoing) -> Result<(), String> {
        Err(format!(
            "no SMTP server: set {SMTP_KEY} in the settings or ARPILOT_SMTP_URL"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_fields_only() {
        let t = fill("Hello {contact}, {unknown} {total}{", |f| match f {
            "contact" => Some("Léa".into()),
            "total" => Some("10 €".into()),
            _ => None,
        });
        assert_eq!(t, "Hello Léa, {unknown} 10 €{");
        assert_eq!(
            message_id("R20261020-C 1/é", "relances@acme.fr"),
            "<R20261020-C_1__@acme.fr>"
        );
        assert_eq!(
            reminder_id("C1", Day::parse_iso("2026-10-20").unwrap()),
            "R20261020-C1"
        );
        assert!(reminder_id(&"x".repeat(100), Day::parse_iso("2026-10-20").unwrap()).len() <= 100);
        assert_eq!(
            plain_url("smtp://127.0.0.1:2525"),
            Some(("127.0.0.1:2525".into(), None))
        );
        assert_eq!(
            plain_url("smtp://l%C3%A9a:p%40ss+w@mail.example.com"),
            Some((
                "mail.example.com:25".into(),
                Some(("léa".into(), "p@ss+w".into()))
            ))
        );
        assert_eq!(plain_url("smtp://h:587?tls=required"), None);
        assert_eq!(plain_url("smtps://h:465"), None);
    }
}
