//! Reminders from the command line: the daily run (`arpilot dunning run`), what went out, the
//! KPIs, the scenarios, and a reminder's letter.

use crate::import::DbArgs;
use crate::output::Format;
use anyhow::{Context, Result, bail};
use arpilot_app::Author;
use arpilot_app::dunning::{self, DunningSettings, NoMail, Smtp};
use arpilot_core::Day;
use arpilot_store::Store;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum DunningCmd {
    /// Decide today's reminders and send them: each is written to the ledger before it leaves
    /// and marked sent after, so a second run the same day sends nothing more and a run
    /// interrupted sends the rest the next time. E-mails go to the SMTP server of the settings
    /// (smtp.url) or of ARPILOT_SMTP_URL (smtp://host:port, optional user:password@).
    Run {
        #[command(flatten)]
        db: DbArgs,
        /// The run's date (default: today).
        #[arg(long)]
        as_of: Option<Day>,
        /// Only list what a run would send.
        #[arg(long)]
        dry_run: bool,
        /// Only these customers (repeatable).
        #[arg(long = "customer", value_name = "CUSTOMER_ID")]
        customers: Vec<String>,
        /// Write the PDF of every letter and formal notice decided into this directory.
        #[arg(long)]
        letters: Option<PathBuf>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The reminders of a period, latest first, with where each stands.
    History {
        #[command(flatten)]
        db: DbArgs,
        /// First day (default: 30 days before --to).
        #[arg(long)]
        from: Option<Day>,
        /// Last day (default: today).
        #[arg(long)]
        to: Option<Day>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Reminder KPIs of a period: sent, activation within 7/15/30 days, cash collected after
    /// each step, cost per recovered invoice — by scenario, step, channel and collector.
    Report {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        from: Option<Day>,
        #[arg(long)]
        as_of: Option<Day>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print the scenarios and rules in force (JSON), or replace them with a file's.
    Scenarios {
        #[command(flatten)]
        db: DbArgs,
        /// A JSON file of scenarios and rules (as printed) to store.
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// Write the letter (or formal notice, or e-mail as a letter) of one reminder as a PDF.
    Letter {
        #[command(flatten)]
        db: DbArgs,
        /// The reminder's id (as `dunning history` lists it).
        id: String,
        #[arg(long)]
        output: PathBuf,
    },
}

pub fn run(cmd: DunningCmd, rt: &tokio::runtime::Runtime) -> Result<()> {
    let target = match &cmd {
        DunningCmd::Run { db, .. }
        | DunningCmd::History { db, .. }
        | DunningCmd::Report { db, .. }
        | DunningCmd::Scenarios { db, .. }
        | DunningCmd::Letter { db, .. } => db.target(),
    };
    rt.block_on(async {
        let store = Store::open_existing(&target).await?;
        let r = run_in(&store, cmd).await;
        store.close().await;
        r
    })
}

fn user(u: &Option<String>) -> String {
    u.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn channel_word(c: &str) -> &str {
    match c {
        "email" => "e-mail",
        "formal_notice" => "formal notice",
        "call" => "call task",
        "legal" => "to legal",
        other => other,
    }
}

async fn run_in(store: &Store, cmd: DunningCmd) -> Result<()> {
    let views = arpilot_app::Views::open(store).await?;
    let dec = views.current().currency.decimals();
    let settings = DunningSettings::load(store, dec).await?;
    match cmd {
        DunningCmd::Run {
            db: _,
            as_of,
            dry_run,
            customers,
            letters,
            user: u,
            format,
        } => {
            let day = as_of.unwrap_or_else(crate::today);
            let only: Option<BTreeSet<String>> =
                (!customers.is_empty()).then(|| customers.into_iter().collect());
            if dry_run {
                let snap = views.at(store, Some(day)).await?;
                let mut pv = dunning::preview(&snap, &[], &settings, day);
                if let Some(o) = &only {
                    pv.reminders.retain(|p| o.contains(&p.customer_id));
                }
                match format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&pv.reminders)?),
                    _ => {
                        println!(
                            "{:<14} {:<30} {:<16} {:>4} {:<14} {:>8} {:>16}",
                            "customer", "name", "scenario", "step", "channel", "invoices", "amount"
                        );
                        for p in &pv.reminders {
                            println!(
                                "{:<14} {:<30} {:<16} {:>4} {:<14} {:>8} {:>16}",
                                p.customer_id,
                                p.customer_name.chars().take(30).collect::<String>(),
                                p.scenario,
                                p.step,
                                channel_word(&p.channel),
                                p.invoices.len(),
                                p.amount.to_string()
                            );
                        }
                        let total: i64 = pv.reminders.iter().map(|p| p.amount.minor).sum();
                        println!(
                            "{} reminders, {} {}; {} customers waiting (hold, promise, interval, minimum)",
                            pv.reminders.len(),
                            arpilot_core::money::format_minor(total, dec),
                            views.current().currency.code(),
                            pv.waiting.len()
                        );
                    }
                }
                return Ok(());
            }
            let author = Author {
                user: user(&u),
                entity: None,
                effective: day,
            };
            let out = match &settings.smtp_url {
                Some(url) => {
                    let smtp = Smtp::new(url)?;
                    dunning::run(
                        &views,
                        store,
                        &settings,
                        &smtp,
                        day,
                        &[],
                        only.as_ref(),
                        &author,
                        "cli",
                    )
                    .await?
                }
                None => {
                    dunning::run(
                        &views,
                        store,
                        &settings,
                        &NoMail,
                        day,
                        &[],
                        only.as_ref(),
                        &author,
                        "cli",
                    )
                    .await?
                }
            };
            if let Some(dir) = letters {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let snap = views.current();
                for (k, r) in snap.reminders.rows.iter().enumerate() {
                    let ch = arpilot_core::ledger::CHANNELS[r.channel as usize];
                    if r.day == day.0 && (ch == "letter" || ch == "formal_notice") {
                        let l = dunning::letter(&snap, &settings, k);
                        let path = dir.join(format!(
                            "{}.pdf",
                            r.id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
                        ));
                        std::fs::write(&path, arpilot_app::statement::letter_pdf(&l))
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                }
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out)?),
                _ => {
                    println!(
                        "{}: {} reminders decided; {} e-mails sent ({} from earlier runs), {} letters, {} call tasks, {} to legal; {} failed",
                        day,
                        out.queued,
                        out.emails_sent,
                        out.resumed,
                        out.letters,
                        out.call_tasks,
                        out.legal,
                        out.failed.len()
                    );
                    for f in &out.failed {
                        println!(
                            "  failed {} ({}), attempt {}: {}",
                            f.reminder_id, f.customer_id, f.attempt, f.error
                        );
                    }
                }
            }
            if !out.failed.is_empty() {
                bail!(
                    "{} e-mails failed; they stay in the ledger and the next run retries them",
                    out.failed.len()
                );
            }
            Ok(())
        }
        DunningCmd::History {
            db: _,
            from,
            to,
            format,
        } => {
            let to = to.unwrap_or_else(crate::today);
            let from = from.unwrap_or(Day(to.0 - 30));
            let rows = dunning::history(&views.current(), &[], from, to);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                _ => {
                    println!(
                        "{:<28} {:<10} {:<14} {:>4} {:<14} {:>14} {:<8} message",
                        "id", "date", "customer", "step", "channel", "amount", "status"
                    );
                    for r in &rows {
                        println!(
                            "{:<28} {:<10} {:<14} {:>4} {:<14} {:>14} {:<8} {}",
                            r.id,
                            r.date.to_string(),
                            r.customer_id,
                            r.step,
                            channel_word(&r.channel),
                            r.amount.to_string(),
                            r.status,
                            r.message_id.as_deref().or(r.error.as_deref()).unwrap_or("")
                        );
                    }
                }
            }
            Ok(())
        }
        DunningCmd::Report {
            db: _,
            from,
            as_of,
            format,
        } => {
            let to = as_of.unwrap_or_else(crate::today);
            let from = from.unwrap_or(Day(to.0 - 90));
            let snap = views.current();
            let k = dunning::kpis(&snap, &[], &settings, from, to);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&k)?),
                _ => {
                    let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1} %"));
                    println!(
                        "{:<24} {:>6} {:>9} {:>16} {:>8} {:>8} {:>8} {:>16} {:>12}",
                        "group",
                        "sent",
                        "customers",
                        "amount",
                        "act. 7d",
                        "act. 15d",
                        "act. 30d",
                        "collected",
                        "cost/invoice"
                    );
                    let line = |label: String, r: &arpilot_core::dunning::ReminderRow| {
                        println!(
                            "{:<24} {:>6} {:>9} {:>16} {:>8} {:>8} {:>8} {:>16} {:>12}",
                            label,
                            r.sent,
                            r.customers,
                            r.amount.to_string(),
                            pct(r.activation_7),
                            pct(r.activation_15),
                            pct(r.activation_30),
                            r.collected.to_string(),
                            r.cost_per_recovered
                                .map_or("–".to_string(), |m| m.to_string())
                        );
                    };
                    for r in &k.by_scenario {
                        line(format!("scenario {}", r.key), r);
                    }
                    for r in &k.by_step {
                        line(format!("step {}", r.key), r);
                    }
                    for r in &k.by_channel {
                        line(format!("channel {}", channel_word(&r.key)), r);
                    }
                    for r in &k.by_collector {
                        line(format!("collector {}", r.key), r);
                    }
                    line("total".into(), &k.total);
                    println!("pending {}, failed {}", k.pending, k.failed);
                }
            }
            Ok(())
        }
        DunningCmd::Scenarios { db: _, set } => {
            match set {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let p = dunning::save_policy(store, &text).await?;
                    println!(
                        "{} scenarios stored ({} steps)",
                        p.scenarios.len(),
                        p.scenarios.iter().map(|s| s.steps.len()).sum::<usize>()
                    );
                }
                None => println!("{}", serde_json::to_string_pretty(&settings.policy)?),
            }
            Ok(())
        }
        DunningCmd::Letter { db: _, id, output } => {
            let snap = views.current();
            let Some(&k) = snap.reminders.ids.get(&id) else {
                bail!("unknown reminder {id:?} (expected an id of `arpilot dunning history`)");
            };
            let l = dunning::letter(&snap, &settings, k as usize);
            std::fs::write(&output, arpilot_app::statement::letter_pdf(&l))
                .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(())
        }
    }
}
