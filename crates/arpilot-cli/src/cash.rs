//! Cash application from the command line: bank statements imported (`arpilot import`), the
//! review queue, decisions, the engine run over what waits, and the KPIs (`arpilot report cash`).

use crate::import::DbArgs;
use crate::output::{Format, Locale};
use anyhow::{Context, Result, anyhow, bail};
use arpilot_app::Author;
use arpilot_app::cash::{self, CashSettings, Choice, StatementOutcome};
use arpilot_core::Day;
use arpilot_store::{Store, UserStore};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum CashCmd {
    /// The receipts waiting for review, with the engine's proposal and candidates.
    Queue {
        #[command(flatten)]
        db: DbArgs,
        /// Date the open invoices are taken at (default: today).
        #[arg(long)]
        as_of: Option<Day>,
        /// Also payments already in the ledger with cash left unapplied.
        #[arg(long)]
        payments: bool,
        /// Most items listed.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Locale::En)]
        locale: Locale,
    },
    /// Run the engine over everything waiting (receipts and unapplied payments) and apply its
    /// confident proposals.
    Match {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        as_of: Option<Day>,
        /// Confidence (0–100) from which a proposal is applied (default: the settings', 80).
        #[arg(long)]
        threshold: Option<u8>,
        #[arg(long)]
        user: Option<String>,
    },
    /// Show or change the settings of cash application.
    Settings {
        #[command(flatten)]
        db: DbArgs,
        /// Confidence (0–100, 101: never) from which a proposal is applied without review.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=101))]
        threshold: Option<u8>,
        /// Largest shortfall written off (bank fees, discount), e.g. 25.00.
        #[arg(long)]
        write_off_max: Option<String>,
    },
    /// Decide on one receipt (or payment with cash left).
    Decide {
        #[command(flatten)]
        db: DbArgs,
        /// The receipt's id (as `cash queue` lists it).
        receipt: String,
        /// Apply the engine's proposal.
        #[arg(long, group = "choice")]
        accept: bool,
        /// Apply to these invoices: INVOICE=AMOUNT (repeatable), with --customer.
        #[arg(long = "invoice", value_name = "INVOICE=AMOUNT")]
        invoices: Vec<String>,
        /// The customer whose invoices are chosen, or on whose account the cash is left.
        #[arg(long)]
        customer: Option<String>,
        /// Shortfall written off on the last invoice (bank fees, discount).
        #[arg(long)]
        write_off: Option<String>,
        /// Not a customer receipt.
        #[arg(long, group = "choice")]
        not_customer: bool,
        /// Cancel the decision in effect.
        #[arg(long, group = "choice")]
        undo: bool,
        /// Date of the decision (default: today).
        #[arg(long)]
        date: Option<Day>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn user(u: &Option<String>) -> String {
    u.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

async fn settings(store: &Store) -> Result<CashSettings> {
    Ok(CashSettings::from_settings(&store.settings().await?))
}

pub fn run(cmd: CashCmd, rt: &tokio::runtime::Runtime) -> Result<()> {
    let target = match &cmd {
        CashCmd::Queue { db, .. }
        | CashCmd::Match { db, .. }
        | CashCmd::Decide { db, .. }
        | CashCmd::Settings { db, .. } => db.target(),
    };
    rt.block_on(async {
        let store = Store::open_existing(&target).await?;
        let r = run_in(&store, cmd).await;
        store.close().await;
        r
    })
}

async fn run_in(store: &Store, cmd: CashCmd) -> Result<()> {
    let s = settings(store).await?;
    match cmd {
        CashCmd::Queue {
            db: _,
            as_of,
            payments,
            limit,
            format,
            locale,
        } => {
            let view = arpilot_app::view::load(store, None, None).await?;
            let day = as_of.unwrap_or_else(crate::today);
            let items = cash::queue(
                &view.snapshot,
                day,
                s.config,
                locale.lang(),
                payments,
                limit,
            );
            use std::io::Write;
            let out = std::io::stdout();
            let mut w = out.lock();
            match format {
                Format::Json => writeln!(w, "{}", serde_json::to_string_pretty(&items)?)?,
                Format::Csv => bail!("--format csv: expected table or json for the queue"),
                Format::Table => {
                    let cur = view.snapshot.currency;
                    if items.is_empty() {
                        writeln!(w, "nothing waiting for review")?;
                    }
                    for i in &items {
                        writeln!(
                            w,
                            "{}  {}  {} {}  {}  [{} {}]",
                            i.receipt_id,
                            i.date,
                            i.amount,
                            cur,
                            i.payer_name.as_deref().unwrap_or("?"),
                            i.rule,
                            i.confidence
                        )?;
                        if let Some(t) = &i.remittance {
                            writeln!(w, "    {t}")?;
                        }
                        for p in &i.proposal {
                            writeln!(
                                w,
                                "    → {} {} ({}): {} of {}",
                                p.invoice_id, p.customer_name, p.due_date, p.apply, p.open
                            )?;
                        }
                        for r in &i.reasons {
                            writeln!(w, "    · {r}")?;
                        }
                    }
                }
            }
            Ok(())
        }
        CashCmd::Match {
            db: _,
            as_of,
            threshold,
            user: u,
        } => {
            let mut cfg = s.config;
            if let Some(t) = threshold {
                cfg.auto_threshold = t.min(101);
            }
            let author = Author {
                user: user(&u),
                entity: None,
                effective: crate::today(),
            };
            let (n, batch) = cash::run(store, None, as_of, &author, cfg).await?;
            match batch {
                Some(b) => println!("{n} receipts and payments applied (batch {b})"),
                None => println!("nothing the engine is sure enough of"),
            }
            Ok(())
        }
        CashCmd::Settings {
            db: _,
            threshold,
            write_off_max,
        } => {
            if let Some(t) = threshold {
                store
                    .set_setting("cash.auto_threshold", &t.to_string())
                    .await?;
            }
            if let Some(w) = &write_off_max {
                let v = cash::parse_amount(w, 2)
                    .ok()
                    .filter(|v| (0..=arpilot_core::money::MAX_AMOUNT).contains(v))
                    .with_context(|| {
                        format!("--write-off-max {w:?}: expected an amount like 25.00")
                    })?;
                store
                    .set_setting("cash.write_off_max", &v.to_string())
                    .await?;
            }
            let s = settings(store).await?;
            println!(
                "auto_threshold {}\nwrite_off_max {}",
                s.config.auto_threshold,
                arpilot_core::money::format_minor(s.config.write_off_max, 2)
            );
            Ok(())
        }
        CashCmd::Decide {
            db: _,
            receipt,
            accept,
            invoices,
            customer,
            write_off,
            not_customer,
            undo,
            date,
            user: u,
            json,
        } => {
            let views = arpilot_app::Views::open(store).await?;
            let dec = views.current().currency.decimals();
            let amount = |what: &str, v: &str| {
                cash::parse_amount(v, dec)
                    .map_err(|e| anyhow!("{what} {v:?}: {e} (expected an amount like 1234.56)"))
            };
            let choice = if accept {
                Choice::Accept
            } else if not_customer {
                Choice::NotCustomer
            } else if undo {
                Choice::Undo
            } else {
                let customer = customer.context(
                    "--customer: expected the customer (or --accept, --not-customer, --undo)",
                )?;
                if invoices.is_empty() {
                    Choice::OnAccount {
                        customer_id: customer,
                    }
                } else {
                    let mut v = Vec::new();
                    for x in &invoices {
                        let (i, a) = x
                            .split_once('=')
                            .with_context(|| format!("--invoice {x:?}: expected INVOICE=AMOUNT"))?;
                        v.push((i.trim().to_string(), amount("--invoice", a)?));
                    }
                    Choice::Apply {
                        customer_id: customer,
                        invoices: v,
                        write_off: match &write_off {
                            Some(w) => amount("--write-off", w)?,
                            None => 0,
                        },
                    }
                }
            };
            let day = date.unwrap_or_else(crate::today);
            let author = Author {
                user: user(&u),
                entity: None,
                effective: day,
            };
            let d =
                cash::decide(&views, store, &receipt, &choice, &author, "cli", s.config).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                println!(
                    "{} {}: {} (batch {})",
                    d.receipt_id,
                    d.decision,
                    d.customer_id.as_deref().unwrap_or(""),
                    d.batch
                );
            }
            Ok(())
        }
    }
}

/// `arpilot import` of bank statements.
pub fn import_statements(
    files: &[PathBuf],
    db: &DbArgs,
    user_name: Option<String>,
    entity: Option<String>,
    auto: bool,
    json: bool,
    rt: &tokio::runtime::Runtime,
) -> Result<()> {
    let target = db.target();
    let author = Author {
        user: user(&user_name),
        entity,
        effective: crate::today(),
    };
    let outs: Vec<StatementOutcome> = rt.block_on(async {
        let store = Store::open(&target).await?;
        let mut s = settings(&store).await?;
        s.auto = auto;
        let mut outs = Vec::new();
        for f in files {
            let r =
                cash::import_statement(&store, None, f, &f.display().to_string(), &author, s).await;
            match r {
                Ok(o) => outs.push(o),
                Err(e) => {
                    store.close().await;
                    return Err(anyhow!(e));
                }
            }
        }
        store.close().await;
        Ok::<_, anyhow::Error>(outs)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&outs)?);
        return Ok(());
    }
    for o in &outs {
        let status = match o.batch {
            Some(b) => format!("batch {b}"),
            None => "nothing new".into(),
        };
        println!(
            "{} ({}): {} entries, {} credits: {} new receipts, {} already imported, {} returned; {} applied, {} for review ({status})",
            o.source,
            o.format,
            o.lines,
            o.credits,
            o.receipts,
            o.already,
            o.returned,
            o.applied,
            o.queued
        );
        for w in &o.warnings {
            println!("  warning: {w}");
        }
    }
    Ok(())
}

/// `arpilot report cash`: the KPIs of `from..=to`.
pub fn write_report(
    r: &cash::CashReport,
    format: Format,
    locale: Locale,
    w: &mut impl std::io::Write,
) -> Result<()> {
    match format {
        Format::Json => writeln!(w, "{}", serde_json::to_string_pretty(r)?)?,
        Format::Csv => bail!("--format csv: expected table or json for the cash report"),
        Format::Table => {
            let fr = locale == Locale::Fr;
            let pct =
                |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{:.1} %", v * 100.0));
            let rows: Vec<(&str, String)> = vec![
                (
                    if fr { "Période" } else { "Period" },
                    format!("{} – {}", r.from, r.to),
                ),
                (
                    if fr { "Encaissements" } else { "Receipts" },
                    format!("{} ({} {})", r.receipts, r.receipts_amount, r.currency),
                ),
                (
                    if fr {
                        "Lettrés automatiquement"
                    } else {
                        "Matched automatically"
                    },
                    format!(
                        "{} ({} {}), {} / {}",
                        r.auto_matched,
                        r.auto_matched_amount,
                        r.currency,
                        pct(r.auto_rate),
                        pct(r.auto_rate_amount)
                    ),
                ),
                (
                    if fr {
                        "Lettrés à la main"
                    } else {
                        "Matched by hand"
                    },
                    format!(
                        "{} ({} {})",
                        r.manual_matched, r.manual_matched_amount, r.currency
                    ),
                ),
                (
                    if fr {
                        "Lettrés sous 1 / 3 / 7 j"
                    } else {
                        "Matched within 1 / 3 / 7 d"
                    },
                    format!(
                        "{} / {} / {}",
                        pct(r.matched_within_1_day),
                        pct(r.matched_within_3_days),
                        pct(r.matched_within_7_days)
                    ),
                ),
                (
                    if fr { "Non affectés" } else { "Unapplied" },
                    format!("{} ({} {})", r.unapplied, r.unapplied_amount, r.currency),
                ),
                (
                    if fr {
                        "  par âge 0-7 / 8-30 / 31-90 / >90 j"
                    } else {
                        "  by age 0-7 / 8-30 / 31-90 / >90 d"
                    },
                    r.unapplied_by_age.join(" / "),
                ),
                (
                    if fr {
                        "Non affectés au début, lettrés depuis"
                    } else {
                        "Unapplied at start, matched since"
                    },
                    format!(
                        "{} / {} ({})",
                        r.opening_unapplied,
                        r.opening_matched,
                        pct(r.opening_recovery_rate)
                    ),
                ),
                (
                    if fr {
                        "Acomptes sur comptes clients"
                    } else {
                        "Cash on customers' accounts"
                    },
                    format!("{} {}", r.on_account, r.currency),
                ),
            ];
            for (k, v) in rows {
                writeln!(w, "{k:<40} {v}")?;
            }
            for u in &r.by_user {
                writeln!(
                    w,
                    "{:<40} {} {}, {} undo",
                    format!("  {}", u.user),
                    u.decisions,
                    if fr { "décisions" } else { "decisions" },
                    u.undos
                )?;
            }
        }
    }
    Ok(())
}

/// `arpilot statement`: the customer's account statement as a PDF.
pub fn statement(
    customer: &str,
    db: &DbArgs,
    as_of: Day,
    output: &std::path::Path,
    locale: Locale,
    company: [Option<String>; 3],
    rt: &tokio::runtime::Runtime,
) -> Result<()> {
    let [name, iban, bic] = company;
    if let Some(i) = &iban
        && !arpilot_app::statement::valid_iban(i)
    {
        bail!("--iban {i:?}: expected an IBAN with valid check digits");
    }
    let target = db.target();
    let (s, lang) = rt.block_on(async {
        let store = Store::open_existing(&target).await?;
        for (k, v) in [
            ("company.name", &name),
            ("company.iban", &iban),
            ("company.bic", &bic),
        ] {
            if let Some(v) = v {
                store.set_setting(k, v.trim()).await?;
            }
        }
        let company = arpilot_app::statement::Company::from_settings(&store.settings().await?);
        let view = arpilot_app::view::load(&store, Some(as_of), None).await;
        store.close().await;
        let snap = view?.snapshot;
        let s = arpilot_app::statement::statement(
            &snap,
            &arpilot_core::Selection::all(),
            customer,
            as_of,
            company,
        );
        Ok::<_, anyhow::Error>((s, locale.lang()))
    })?;
    let s = s.with_context(|| format!("customer {customer:?}: not in the ledger"))?;
    std::fs::write(output, arpilot_app::statement::pdf(&s, lang))
        .with_context(|| output.display().to_string())?;
    eprintln!(
        "wrote {}: {} open invoices, total due {}{}",
        output.display(),
        s.items.len(),
        lang.money(s.total),
        if arpilot_app::statement::epc_payload(&s).is_some() {
            ", with its EPC QR code"
        } else {
            " (no QR code: set the company's IBAN with --iban)"
        }
    );
    Ok(())
}
