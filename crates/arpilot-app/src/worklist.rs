//! The worklist use case: who to call today, in the caller's scope, each reason in words.

use crate::locale::Lang;
use arpilot_core::customers::RatingThresholds;
use arpilot_core::select::Selection;
use arpilot_core::worklist::{NextStep, Reason, WorklistParams, WorklistRow, worklist};
use arpilot_core::{Day, Money, Snapshot};
use serde::Serialize;

/// One customer to act on, as every shell shows it (CLI JSON, API, page).
#[derive(Serialize, schemars::JsonSchema, Clone, Debug, PartialEq)]
pub struct WorkItem {
    pub customer_id: String,
    pub name: String,
    pub collector: Option<String>,
    /// Priority: higher first (docs/kpis.md, "Worklist").
    pub score: f64,
    /// Why the customer is on the list, in words.
    pub reasons: Vec<String>,
    /// The same reasons with their figures.
    pub details: Vec<Reason>,
    pub overdue: Money,
    /// Open amounts overdue or disputed.
    pub at_stake: Money,
    /// Date of the last action (call, e-mail, letter…), `null` when there was none.
    pub last_action: Option<Day>,
    pub last_action_kind: Option<String>,
    pub next_step: NextStep,
    /// The suggested next step, in words.
    pub suggestion: String,
}

/// The worklist on `as_of` of the customers in `sel`, highest score first.
pub fn items(
    snap: &Snapshot,
    sel: &Selection,
    as_of: Day,
    thresholds: &RatingThresholds,
    lang: Lang,
) -> Vec<WorkItem> {
    rows(snap, sel, as_of, thresholds)
        .iter()
        .map(|r| item(r, lang))
        .collect()
}

/// The worklist's rows on `as_of` (figures, no words): what a shell pages through before
/// putting the rows it shows into words with [`item`].
pub fn rows(
    snap: &Snapshot,
    sel: &Selection,
    as_of: Day,
    thresholds: &RatingThresholds,
) -> Vec<WorklistRow> {
    worklist(snap, sel, as_of, thresholds, &WorklistParams::default())
}

/// One row in the caller's language.
pub fn item(r: &WorklistRow, lang: Lang) -> WorkItem {
    WorkItem {
        reasons: r.reasons.iter().map(|x| describe(x, lang)).collect(),
        suggestion: suggest(r.next_step, lang).to_string(),
        customer_id: r.customer_id.clone(),
        name: r.name.clone(),
        collector: r.collector.clone(),
        score: r.score,
        details: r.reasons.clone(),
        overdue: r.overdue,
        at_stake: r.at_stake,
        last_action: r.last_action,
        last_action_kind: r.last_action_kind.clone(),
        next_step: r.next_step,
    }
}

/// A reason in words.
pub fn describe(r: &Reason, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    match r {
        Reason::Overdue {
            invoices,
            amount,
            oldest_days,
        } => {
            let m = lang.money(*amount);
            if fr {
                format!(
                    "{invoices} facture{} échue{} : {m}, la plus ancienne de {oldest_days} j",
                    plural(*invoices),
                    plural(*invoices)
                )
            } else {
                format!(
                    "{invoices} overdue invoice{}: {m}, oldest {oldest_days} days",
                    plural(*invoices)
                )
            }
        }
        Reason::PromiseRunning {
            invoices,
            amount,
            due_on,
        } => {
            let (m, d) = (lang.money(*amount), lang.date(*due_on));
            if fr {
                format!(
                    "{m} échus sur {invoices} facture{} couverts par une promesse jusqu'au {d}",
                    plural(*invoices)
                )
            } else {
                format!(
                    "{m} overdue on {invoices} invoice{} covered by a promise until {d}",
                    plural(*invoices)
                )
            }
        }
        Reason::NextActionDue { date } => {
            let d = lang.date(*date);
            if fr {
                format!("Action prévue le {d}")
            } else {
                format!("Next action planned for {d}")
            }
        }
        Reason::PromiseDueToday { invoice_id, amount } => {
            let m = lang.money(*amount);
            if fr {
                format!("Promesse de {m} à échéance aujourd'hui ({invoice_id})")
            } else {
                format!("Promise of {m} due today ({invoice_id})")
            }
        }
        Reason::PromiseBroken {
            invoice_id,
            amount,
            due_on,
        } => {
            let (m, d) = (lang.money(*amount), lang.date(*due_on));
            if fr {
                format!("Promesse non tenue : {m} promis pour le {d} ({invoice_id})")
            } else {
                format!("Broken promise: {m} promised by {d} ({invoice_id})")
            }
        }
        Reason::DisputeTooLong {
            invoice_id,
            reason,
            days,
            usual_days,
        } => {
            let why = reason
                .as_deref()
                .map_or(String::new(), |r| format!(" « {r} »"));
            if fr {
                format!(
                    "Litige{why} ouvert depuis {days} j (résolu d'habitude en {usual_days} j) sur {invoice_id}"
                )
            } else {
                format!(
                    "Dispute{why} open for {days} days (usually resolved in {usual_days}) on {invoice_id}"
                )
            }
        }
        Reason::OverLimit { balance, limit } => {
            let (b, l) = (lang.money(*balance), lang.money(*limit));
            if fr {
                format!("Encours {b} au-delà de la limite de crédit {l}")
            } else {
                format!("Balance {b} over the credit limit {l}")
            }
        }
        Reason::RatingWorsened { from, to } => {
            if fr {
                format!("Note de paiement dégradée ce mois : {from} → {to}")
            } else {
                format!("Payer rating worsened this month: {from} → {to}")
            }
        }
        Reason::NewOverdue {
            invoices,
            amount,
            largest_id,
        } => {
            let m = lang.money(*amount);
            match (fr, *invoices) {
                (true, 1) => format!("Nouvelle facture échue cette semaine : {largest_id}, {m}"),
                (true, n) => {
                    format!("{n} nouvelles factures échues cette semaine : {m}, dont {largest_id}")
                }
                (false, 1) => format!("Newly overdue this week: {largest_id}, {m}"),
                (false, n) => {
                    format!("{n} invoices newly overdue this week: {m}, largest {largest_id}")
                }
            }
        }
        Reason::NoRecentAction { days } => match (days, fr) {
            (Some(d), true) => format!("Aucune action depuis {d} j"),
            (Some(d), false) => format!("No action for {d} days"),
            (None, true) => "Aucune action encore".to_string(),
            (None, false) => "No action yet".to_string(),
        },
    }
}

/// The next step in words.
pub fn suggest(s: NextStep, lang: Lang) -> &'static str {
    match s {
        NextStep::CallBrokenPromise => lang.t(
            "Call: ask why the promised payment did not come",
            "Appeler : demander pourquoi le paiement promis n'est pas arrivé",
        ),
        NextStep::CheckPromisedPayment => lang.t(
            "Check the payment promised for today",
            "Vérifier le paiement promis pour aujourd'hui",
        ),
        NextStep::AwaitPromise => lang.t(
            "Wait for the promised payment",
            "Attendre le paiement promis",
        ),
        NextStep::FollowUpDispute => lang.t(
            "Follow up the dispute with its owner",
            "Relancer le traitement du litige",
        ),
        NextStep::FormalNotice => lang.t("Send a formal notice", "Envoyer une mise en demeure"),
        NextStep::Call => lang.t("Call the customer", "Appeler le client"),
        NextStep::Email => lang.t("Send a reminder e-mail", "Envoyer une relance par e-mail"),
    }
}

fn plural(n: u64) -> &'static str {
    if n > 1 { "s" } else { "" }
}
