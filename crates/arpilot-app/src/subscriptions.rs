//! The management report by e-mail: a user subscribes to it weekly (sent on Mondays, as of the
//! Sunday before) or monthly (sent on the 1st, as of the month-end before), for their own
//! portfolio, in their language.
//!
//! Exactly once: each report to send is written down (`report.sent.<login>.<period>` =
//! `queued <message-id>`) before it leaves, and marked `sent` once the SMTP server accepted it.
//! A run finds a report queued but not marked (a crash between the two) and sends it again
//! with the same Message-ID, which mail stores recognise; a period marked sent is never sent
//! again. A subscription made during a period starts with the next one.

use crate::dunning::{Mailer, Outgoing, message_id};
use crate::locale::Lang;
use crate::management;
use crate::request::{Defaults, ReportRequest};
use crate::users::Scope;
use arpilot_core::Day;
use arpilot_store::{LedgerStore, UserRow, UserStore};

static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Weekly,
    Monthly,
}

impl Frequency {
    pub fn parse(s: &str) -> Option<Frequency> {
        match s {
            "weekly" => Some(Frequency::Weekly),
            "monthly" => Some(Frequency::Monthly),
            _ => None,
        }
    }

    /// The period `today` is in: its key, its first day, and the date its report is as of.
    pub fn period(self, today: Day) -> (String, Day, Day) {
        match self {
            Frequency::Weekly => {
                // Day 0 (1970-01-01) was a Thursday: Monday is 3 days later.
                let monday = Day(today.0 - (today.0 - 4).rem_euclid(7));
                (format!("W{monday}"), monday, monday.add_days(-1))
            }
            Frequency::Monthly => {
                let end = today.month_end_offset(-1);
                let first = end.add_days(1);
                (format!("M{}", &first.to_string()[..7]), first, end)
            }
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Subscription {
    pub login: String,
    pub email: String,
    pub frequency: Frequency,
    /// The day it was made: the periods that began before it are not sent.
    pub since: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriptionError {
    #[error("email: expected an address such as name@example.com")]
    Email,
    #[error("frequency: expected weekly or monthly")]
    Frequency,
}

pub fn key(login: &str) -> String {
    format!("report.subscription.{login}")
}

fn sent_key(login: &str, period: &str) -> String {
    format!("report.sent.{login}.{period}")
}

/// A subscription to save, checked.
pub fn new_subscription(
    login: &str,
    email: &str,
    frequency: &str,
    today: Day,
) -> Result<Subscription, SubscriptionError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        && email
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.starts_with('.'))
        && email.parse::<lettre::Address>().is_ok();
    if !ok {
        return Err(SubscriptionError::Email);
    }
    Ok(Subscription {
        login: login.to_string(),
        email: email.to_string(),
        frequency: Frequency::parse(frequency).ok_or(SubscriptionError::Frequency)?,
        since: today.to_string(),
    })
}

/// The subscription of `login`, if any.
pub fn of(settings: &[(String, String)], login: &str) -> Option<Subscription> {
    crate::setting(settings, &key(login)).and_then(|v| serde_json::from_str(v).ok())
}

/// A report to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub subscription: Subscription,
    pub period: String,
    pub as_of: Day,
    /// Queued by an earlier run that did not see it accepted: sent again, same Message-ID.
    pub retry: bool,
}

/// The reports due on `today`: each subscription's current period, unless it began before
/// the subscription or was sent already.
pub fn due(settings: &[(String, String)], today: Day) -> Vec<Due> {
    let mut v = Vec::new();
    for (k, val) in settings {
        if !k.starts_with("report.subscription.") {
            continue;
        }
        let Ok(s) = serde_json::from_str::<Subscription>(val) else {
            continue;
        };
        let (period, first, as_of) = s.frequency.period(today);
        if Day::parse_iso(&s.since).is_ok_and(|since| since > first) {
            continue;
        }
        let mark = crate::setting(settings, &sent_key(&s.login, &period)).unwrap_or("");
        if mark.starts_with("sent") {
            continue;
        }
        v.push(Due {
            subscription: s,
            period,
            as_of,
            retry: mark.starts_with("queued"),
        });
    }
    v.sort_by(|a, b| a.subscription.login.cmp(&b.subscription.login));
    v
}

/// What a run did for one subscription.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Delivery {
    pub login: String,
    pub email: String,
    pub period: String,
    pub as_of: Day,
    pub message_id: String,
    /// `sent`, or why not.
    pub outcome: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] arpilot_store::StoreError),
}

/// Sends the reports due on `today`, each through its user's portfolio as it is now (a user
/// removed or left without a portfolio gets nothing).
pub async fn run(
    views: &crate::Views,
    store: &(impl UserStore + LedgerStore),
    today: Day,
    mailer: &impl Mailer,
) -> Result<Vec<Delivery>, RunError> {
    // One run at a time in the process: two never send the same report at once.
    let _one = RUNNING.lock().await;
    let settings = store.settings().await?;
    let due = due(&settings, today);
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let from = crate::setting(&settings, "smtp.from")
        .unwrap_or("arpilot@localhost")
        .to_string();
    let company = crate::statement::Company::from_settings(&settings);
    let users: Vec<UserRow> = store.users().await?;
    let defaults = Defaults::parse(&settings).unwrap_or_default();
    let mut out = Vec::new();
    for d in due {
        let s = &d.subscription;
        let mid = message_id(&format!("report-{}-{}", s.login, d.period), &from);
        let mut delivery = Delivery {
            login: s.login.clone(),
            email: s.email.clone(),
            period: d.period.clone(),
            as_of: d.as_of,
            message_id: mid.clone(),
            outcome: String::new(),
        };
        let Some(user) = users.iter().find(|u| u.login == s.login) else {
            delivery.outcome = "no such user".into();
            out.push(delivery);
            continue;
        };
        let lang = if user.locale == "en" {
            Lang::En
        } else {
            Lang::Fr
        };
        // The ledger as seen on the report's date, as every page of that date sees it.
        let snap = views.at(store, Some(d.as_of)).await?;
        let built = Scope::of(user)
            .selection(&snap, &[])
            .map_err(|e| e.to_string())
            .and_then(|sel| {
                let params = ReportRequest::default()
                    .params(d.as_of, &defaults)
                    .map_err(|e| e.to_string())?;
                management::build(&snap, &sel, &params, &defaults.rating).map_err(|e| e.to_string())
            });
        let report = match built {
            Ok(r) => r,
            Err(e) => {
                delivery.outcome = e;
                out.push(delivery);
                continue;
            }
        };
        let pdf = management::pdf(&report, lang, &company);
        let m = message(&report, lang, &company.name, s, &from, mid, pdf);
        // Written down before it leaves.
        if !d.retry {
            store
                .set_setting(
                    &sent_key(&s.login, &d.period),
                    &format!("queued {}", m.message_id),
                )
                .await?;
        }
        match mailer.send(&m).await {
            Ok(()) => {
                store
                    .set_setting(
                        &sent_key(&s.login, &d.period),
                        &format!("sent {}", m.message_id),
                    )
                    .await?;
                delivery.outcome = "sent".into();
            }
            Err(e) => delivery.outcome = format!("not sent: {e}"),
        }
        out.push(delivery);
    }
    Ok(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn message(
    r: &management::ManagementReport,
    l: Lang,
    company: &str,
    s: &Subscription,
    from: &str,
    message_id: String,
    pdf: Vec<u8>,
) -> Outgoing {
    let title = l.t("Collection report", "Rapport de recouvrement");
    let date = l.date(r.as_of);
    let mut text = format!(
        "{title} {} {date}{}\n\n",
        l.t("as of", "au"),
        if company.is_empty() {
            String::new()
        } else {
            format!(" — {company}")
        }
    );
    let mut rows = String::new();
    for c in &r.kpis {
        let v = management::format_value(l, c.unit, c.value, r.currency);
        text.push_str(&format!("{}: {v}\n", management::kpi_label(l, c.key)));
        rows.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td align=\"right\">{}</td></tr>",
            esc(management::kpi_label(l, c.key)),
            esc(&v)
        ));
    }
    text.push_str(&format!(
        "\n{}\n",
        l.t(
            "The full report is attached (PDF).",
            "Le rapport complet est joint (PDF)."
        )
    ));
    let html = format!(
        "<p><b>{title} {} {date}</b></p><table>{rows}</table><p>{}</p>",
        l.t("as of", "au"),
        l.t(
            "The full report is attached (PDF).",
            "Le rapport complet est joint (PDF)."
        )
    );
    Outgoing {
        message_id,
        from: from.to_string(),
        reply_to: None,
        to: s.email.clone(),
        subject: format!("{title} {} {date}", l.t("as of", "au")),
        text,
        html,
        attachment: Some((
            format!(
                "{}-{}.pdf",
                l.t("collection-report", "rapport-recouvrement"),
                r.as_of
            ),
            pdf,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse_iso(s).unwrap()
    }

    #[test]
    fn periods_and_their_dates() {
        // 2026-12-02 is a Wednesday: the week began on Monday 2026-11-30, as of Sunday 29.
        assert_eq!(
            Frequency::Weekly.period(day("2026-12-02")),
            (
                "W2026-11-30".to_string(),
                day("2026-11-30"),
                day("2026-11-29")
            )
        );
        assert_eq!(Frequency::Weekly.period(day("2026-11-30")).0, "W2026-11-30");
        assert_eq!(Frequency::Weekly.period(day("2026-12-06")).0, "W2026-11-30");
        assert_eq!(
            Frequency::Monthly.period(day("2026-12-02")),
            ("M2026-12".to_string(), day("2026-12-01"), day("2026-11-30"))
        );
        assert_eq!(
            Frequency::Monthly.period(day("2026-03-01")).2,
            day("2026-02-28")
        );
    }

    #[test]
    fn what_is_due() {
        let sub = |login: &str, f: &str, since: &str| {
            let s =
                new_subscription(login, &format!("{login}@example.com"), f, day(since)).unwrap();
            (key(login), serde_json::to_string(&s).unwrap())
        };
        let mut settings = vec![
            sub("marie", "weekly", "2026-11-20"),
            sub("paul", "monthly", "2026-11-05"),
            // Made during this week: from the next one.
            sub("lea", "weekly", "2026-12-01"),
        ];
        let today = day("2026-12-02");
        let d = due(&settings, today);
        let got: Vec<(&str, &str, Day, bool)> = d
            .iter()
            .map(|x| {
                (
                    x.subscription.login.as_str(),
                    x.period.as_str(),
                    x.as_of,
                    x.retry,
                )
            })
            .collect();
        // As of the Sunday and the month-end.
        assert_eq!(
            got,
            [
                ("marie", "W2026-11-30", day("2026-11-29"), false),
                ("paul", "M2026-12", day("2026-11-30"), false)
            ]
        );
        settings.push((sent_key("marie", "W2026-11-30"), "sent <x@y>".into()));
        settings.push((sent_key("paul", "M2026-12"), "queued <x@y>".into()));
        let d = due(&settings, today);
        assert_eq!(d.len(), 1);
        assert!(d[0].retry && d[0].subscription.login == "paul");
        // Next Monday, Léa's first week.
        let d = due(&settings, day("2026-12-07"));
        let logins: Vec<&str> = d.iter().map(|x| x.subscription.login.as_str()).collect();
        assert_eq!(logins, ["lea", "marie", "paul"]);
    }

    #[test]
    fn a_subscription_is_checked() {
        let t = day("2026-12-02");
        assert_eq!(
            new_subscription("a", "not an address", "weekly", t),
            Err(SubscriptionError::Email)
        );
        assert_eq!(
            new_subscription("a", "a@b", "weekly", t),
            Err(SubscriptionError::Email)
        );
        assert_eq!(
            new_subscription("a", "a@example.com", "daily", t),
            Err(SubscriptionError::Frequency)
        );
        assert!(new_subscription("a", " a@example.com ", "monthly", t).is_ok());
    }
}
