//! `arpilot`: the command line of the receivables cockpit.

mod bench;
mod cash;
mod dunning;
mod import;
mod output;
mod subscriptions;
mod web;

use anyhow::{Context, Result, bail};
use arpilot_core::customers::{RatingThresholds, customers};
use arpilot_core::invoices::invoices;
use arpilot_core::report::{ReportParams, report};
use arpilot_core::trend::trend;
use arpilot_core::{Day, Selection, Snapshot};
use clap::{Parser, Subcommand, ValueEnum};
use output::{Format, Locale};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "arpilot",
    version,
    about = "Receivables cockpit: aged balance, DSO, CEI and every credit-management KPI, as of any date"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a demo company in a fresh database, serve its dashboard and print the logins.
    Demo {
        /// The demo's SQLite file (replaced).
        #[arg(long, default_value = "arpilot-demo.db")]
        db: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Build the database only.
        #[arg(long)]
        no_serve: bool,
    },
    /// The collector's worklist: the customers to act on today, highest priority first.
    Worklist {
        #[command(flatten)]
        source: Source,
        /// Date of the worklist (default: today).
        #[arg(long)]
        as_of: Option<Day>,
        /// Only this collector's customers (default: the whole team).
        #[arg(long)]
        collector: Option<String>,
        /// Keep only customers or documents with NAME=VALUE (repeatable).
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filters: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Locale::En)]
        locale: Locale,
    },
    /// Serve the dashboard and JSON API of a ledger.
    Serve {
        #[command(flatten)]
        db: import::DbArgs,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The address users open when a proxy serves arpilot (https://… makes cookies Secure).
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Export the aged balance, the customers or the invoices to .xlsx or .csv.
    Export {
        #[arg(value_enum)]
        kind: ExportKind,
        #[command(flatten)]
        source: Source,
        #[arg(long)]
        as_of: Option<Day>,
        /// The file to write; its extension (.xlsx or .csv) chooses the format.
        #[arg(long)]
        output: PathBuf,
        /// Group the aged balance by customer (default), invoice or a dimension.
        #[arg(long)]
        by: Option<String>,
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filters: Vec<String>,
        #[arg(long, value_enum, default_value_t = Locale::En)]
        locale: Locale,
    },
    /// Cash application: the review queue of bank receipts, decisions, the matching engine.
    #[command(subcommand)]
    Cash(cash::CashCmd),
    /// Reminders (relances): the daily run, what went out, their KPIs, the scenarios.
    #[command(subcommand)]
    Dunning(dunning::DunningCmd),
    /// The management report by e-mail: subscriptions (weekly, monthly) and their delivery.
    #[command(subcommand)]
    Subscriptions(subscriptions::SubscriptionsCmd),
    /// Write a customer's account statement as of a date (PDF): open items, aged summary,
    /// unapplied cash, total, payment instructions with an EPC QR code.
    Statement {
        customer: String,
        #[command(flatten)]
        db: import::DbArgs,
        /// Date of the statement (default: today).
        #[arg(long)]
        as_of: Option<Day>,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value_t = Locale::Fr)]
        locale: Locale,
        /// The company paid (default: the setting company.name); --iban and --bic likewise. Given
        /// here, they are saved as the settings.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        iban: Option<String>,
        #[arg(long)]
        bic: Option<String>,
    },
    /// Manage the users of the dashboard and API.
    Users {
        #[command(flatten)]
        db: import::DbArgs,
        #[command(subcommand)]
        cmd: web::UsersCmd,
    },
    /// Compute the receivables report as of a date.
    Report(ReportArgs),
    /// Import exports into the ledger (SQLite file or PostgreSQL), synchronising with what is
    /// already there.
    Import(import::ImportArgs),
    /// List the import batches of a ledger.
    Batches {
        #[command(flatten)]
        db: import::DbArgs,
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic ledger (CSV set) for demos and benchmarks.
    Generate {
        #[arg(long)]
        invoices: u64,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Last day of the generated history (YYYY-MM-DD).
        #[arg(long, default_value = "2026-10-31")]
        end: Day,
        /// Months of history.
        #[arg(long, default_value_t = 24)]
        months: u32,
        /// Number of customers (default: one per hundred invoices).
        #[arg(long)]
        customers: Option<u64>,
        /// Also write bank statements (statements/camt053.xml, cfonb120.txt and truth.csv):
        /// the payments of the statement period arrive there as receipts instead of in the
        /// ledger, and customers.csv gets an iban column.
        #[arg(long)]
        bank_statements: bool,
        /// First day of the statement period (YYYY-MM-DD; default: the first day of the last
        /// month of the history).
        #[arg(long, requires = "bank_statements")]
        bank_from: Option<Day>,
        /// Share (0 to 1) of the second entity's customers invoiced in US dollars, with a
        /// rates.csv giving the dollar's rate every month (default: everything in euros).
        #[arg(long, default_value_t = 0.0, value_parser = share)]
        usd_share: f64,
    },
    /// Forecast the cash to collect (rest of the month, M+1 … M+3, later), or back-test it.
    #[command(args_conflicts_with_subcommands = true)]
    Forecast {
        #[command(subcommand)]
        sub: Option<ForecastSub>,
        #[command(flatten)]
        args: Option<ForecastArgs>,
    },
    /// Measure cash application: the matching engine on LINES bank lines against INVOICES open
    /// invoices, beside a plain hash join of the same lines (JSON).
    BenchCash {
        #[arg(long, default_value_t = 1_000_000)]
        invoices: usize,
        #[arg(long, default_value_t = 1_000_000)]
        lines: usize,
    },
    /// Measure reminders: selecting today's reminders on INVOICES invoices beside an aged-balance
    /// pass (JSON); with --smtp, a full run of MESSAGES e-mails delivered to that server.
    BenchDunning {
        #[arg(long, default_value_t = 1_000_000)]
        invoices: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// smtp://host:port of a local sink.
        #[arg(long)]
        smtp: Option<String>,
    },
    /// Measure the engine on a ledger: load, aging, full report, trend, incremental append.
    Bench {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        as_of: Day,
        /// Timed runs per figure (the median is printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// Where a ledger comes from: files read directly, or an imported database.
#[derive(clap::Args)]
struct Source {
    /// Folder holding the CSV ledger set, or an FEC file, or any CSV with --mapping.
    #[arg(long, conflicts_with_all = ["db", "database_url"])]
    data: Option<PathBuf>,
    /// Mapping (TOML) from the columns of a CSV export to arpilot's.
    #[arg(long, requires = "data")]
    mapping: Option<PathBuf>,
    #[command(flatten)]
    store: import::DbArgs,
    /// Only the documents and payments in this currency, unconverted (default: every amount
    /// converted to the ledger's currency at the as-of date's rate).
    #[arg(long)]
    currency: Option<String>,
}

impl Source {
    /// The saved settings of a database (none for files).
    fn settings(&self) -> Result<Vec<(String, String)>> {
        if !self.store.given() {
            return Ok(Vec::new());
        }
        let target = self.store.target();
        runtime()?
            .block_on(async {
                let store = arpilot_store::Store::open_existing(&target).await?;
                let s = arpilot_store::UserStore::settings(&store).await;
                store.close().await;
                s
            })
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// The ledger as seen on `as_of`: from a database (amendments effective later left out,
    /// currencies converted), a folder (the CSV ledger set), a file with a mapping, or a file
    /// whose content says what it is (FEC).
    fn load(&self, as_of: Option<Day>) -> Result<Snapshot> {
        if self.store.given() {
            let only = match &self.currency {
                Some(c) => Some(
                    arpilot_core::Currency::parse(c)
                        .map_err(|e| anyhow::anyhow!("--currency: {e}"))?,
                ),
                None => None,
            };
            let target = self.store.target();
            return runtime()?
                .block_on(async {
                    let store = arpilot_store::Store::open_existing(&target).await?;
                    let view = arpilot_app::view::load(&store, as_of, only).await;
                    store.close().await;
                    view.map(|v| v.snapshot)
                })
                .map_err(|e| anyhow::anyhow!(e));
        }
        if self.currency.is_some() {
            bail!("--currency applies to an imported ledger (--db or --database-url)");
        }
        let Some(data) = &self.data else {
            bail!("expected --data (files) or --db / --database-url (an imported ledger)");
        };
        match &self.mapping {
            Some(m) => {
                let m = arpilot_ingest::mapped::Mapping::load(m).map_err(|e| anyhow::anyhow!(e))?;
                arpilot_ingest::mapped::load(data, &m).map_err(|e| anyhow::anyhow!(e))
            }
            None => load(data),
        }
    }
}

/// A share between 0 and 1.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?}: expected a share between 0 and 1, e.g. 0.3")),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

#[derive(clap::Args)]
struct ForecastArgs {
    // Plain fields, not a flattened `Source`: clap tells whether the optional group is present
    // from its own arguments only.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    mapping: Option<PathBuf>,
    #[arg(long)]
    db: Option<PathBuf>,
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long)]
    currency: Option<String>,
    #[arg(long)]
    as_of: Option<Day>,
    /// auto (arpilot's: the better of distribution and mean_delay on past months),
    /// distribution, mean_delay or due_date.
    #[arg(long, default_value = "auto")]
    method: String,
    /// Past months of collected cash to show.
    #[arg(long, default_value_t = 6)]
    past: usize,
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[arg(long, value_enum, default_value_t = Locale::En)]
    locale: Locale,
}

#[derive(Subcommand)]
enum ForecastSub {
    /// Run the forecast at each month end from --from to --to and measure its error (WAPE).
    Backtest {
        #[command(flatten)]
        source: Source,
        #[arg(long)]
        from: Day,
        #[arg(long)]
        to: Day,
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filters: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Kind {
    /// Totals, aging, DSO, CEI, collection rate, top lists (default).
    Summary,
    /// One row per customer: balance, days late, DSO, rating, revenue share.
    Customers,
    /// Month-end series of balance, DSO, DBT and CEI.
    Trend,
    /// One row per invoice: open amount, settlement, days late.
    Invoices,
    /// Invoices by issue month: share collected within 30/60/90/120 days (--months, default 12).
    Cohorts,
    /// KPIs per collector: portfolio balance and overdue, collection rate of the month, days to
    /// collect, disputes, actions.
    Team,
    /// Promises due in the last 90 days that were not kept.
    BrokenPromises,
    /// A customer's payer rating at each month end (--customer ID, --months).
    Rating,
    /// The team's work over the last --days days: actions, contact rate, promises obtained,
    /// kept and broken, days to the first action, disputes, activation, backlog.
    Work,
    /// Cash application from --from (default: the first of the as-of month) to the as-of date:
    /// receipts, automatic match rate, days to match, unapplied cash and its age, decisions by
    /// user.
    Cash,
    /// The management report (rapport de recouvrement) as a PDF: key figures with their
    /// comparisons, aged balance, trends, latest payers, disputes, collectors, forecast, risk
    /// (--output FILE.pdf, --lang).
    Pdf,
    /// The management report's figures as JSON (the same as `report pdf` writes).
    Management,
}

#[derive(clap::Args)]
struct ReportArgs {
    #[arg(value_enum, default_value_t = Kind::Summary)]
    kind: Kind,
    #[command(flatten)]
    source: Source,
    /// Date of the report (default: today).
    #[arg(long)]
    as_of: Option<Day>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Keep only customers or documents with NAME=VALUE (repeatable).
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    /// Group the aged balance by customer, invoice or a dimension.
    #[arg(long)]
    by: Option<String>,
    /// Upper bounds of the overdue buckets, in days.
    #[arg(long, default_value = "30,60,90,120")]
    buckets: String,
    #[arg(long, value_enum, default_value_t = BasisArg::Due)]
    basis: BasisArg,
    /// Entries in the top debtors and top overdue invoices lists.
    #[arg(long, default_value_t = 6)]
    top: usize,
    /// Months of the trend.
    #[arg(long, default_value_t = 12)]
    months: usize,
    /// Provision rates per bucket in %, e.g. 0,0,25,50,75,100.
    #[arg(long)]
    provisions: Option<String>,
    #[arg(long, value_enum, default_value_t = Locale::En)]
    locale: Locale,
    /// The customer of `report rating`.
    #[arg(long)]
    customer: Option<String>,
    /// Days of `report work`, ending on the as-of date.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i32).range(1..=366))]
    days: i32,
    /// First day of `report cash` (default: the first day of the as-of month).
    #[arg(long)]
    from: Option<Day>,
    /// The file `report pdf` writes.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Language of `report pdf` (default fr) and of the labels of `report management`.
    #[arg(long, value_enum)]
    lang: Option<Locale>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ExportKind {
    Aging,
    Customers,
    Invoices,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum BasisArg {
    Due,
    Issue,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arpilot: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn today() -> Day {
    arpilot_store::today()
}

/// A ledger from a folder (the CSV ledger set) or a file whose content says what it is (FEC).
fn load(path: &Path) -> Result<Snapshot> {
    use arpilot_ingest::fec;
    if path.is_file() {
        let mut head = vec![0u8; 4096];
        let n = std::io::Read::read(
            &mut std::fs::File::open(path).with_context(|| path.display().to_string())?,
            &mut head,
        )?;
        if fec::looks_like_fec(&head[..n]) {
            let (snap, _) =
                fec::load(path, &fec::FecOptions::default()).map_err(|e| anyhow::anyhow!(e))?;
            return Ok(snap);
        }
        bail!(
            "{}: not a format arpilot reads by itself (expected a folder holding the CSV ledger set, an FEC file, or --mapping FILE.toml)",
            path.display()
        );
    }
    arpilot_ingest::ledger_csv::load_dir(path).map_err(|e| anyhow::anyhow!(e))
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Report(a) => run_report(a),
        Cmd::Worklist {
            source,
            as_of,
            collector,
            filters,
            format,
            locale,
        } => {
            let as_of = as_of.unwrap_or_else(today);
            let mut req = arpilot_app::ReportRequest::default();
            for f in &filters {
                arg(&mut req, "filter", f)?;
            }
            if let Some(c) = &collector {
                arg(&mut req, "filter", &format!("collector={c}"))?;
            }
            let snap = source.load(Some(as_of))?;
            let sel = Selection::resolve(&snap, &req.filters)?;
            let items = arpilot_app::worklist::items(
                &snap,
                &sel,
                as_of,
                &RatingThresholds::default(),
                locale.lang(),
            );
            output::write_worklist(&mut std::io::stdout().lock(), &items, format, locale)
        }
        Cmd::Import(a) => import::run(a, &runtime()?),
        Cmd::Batches { db, json } => import::list_batches(&db, json, &runtime()?),
        Cmd::Generate {
            invoices,
            output,
            seed,
            end,
            months,
            customers,
            bank_statements,
            bank_from,
            usd_share,
        } => {
            let mut p = arpilot_synth::Params::new(invoices, seed);
            p.usd_share = usd_share;
            p.end = end;
            p.months = months;
            p.customers = customers;
            p.bank = bank_statements.then(|| arpilot_synth::BankParams {
                from: bank_from.unwrap_or(arpilot_synth::BankParams::last_month(end).from),
            });
            let t = Instant::now();
            let s = arpilot_synth::generate(&p, &output)
                .with_context(|| format!("writing {}", output.display()))?;
            eprintln!(
                "wrote {} customers, {} invoices, {} credit notes, {} write-offs, {} payments, {} allocations, {} disputes, {} promises, {} actions to {} in {:.1} s",
                s.customers,
                s.invoices,
                s.credit_notes,
                s.write_offs,
                s.payments,
                s.allocations,
                s.disputes,
                s.promises,
                s.actions,
                output.display(),
                t.elapsed().as_secs_f64()
            );
            if let Some(b) = p.bank {
                eprintln!(
                    "wrote {} bank receipts from {} on to {}",
                    s.receipts,
                    b.from,
                    output.join("statements").display()
                );
            }
            Ok(())
        }
        Cmd::Bench { data, as_of, runs } => bench::run(&data, as_of, runs),
        Cmd::BenchCash { invoices, lines } => bench::cash(invoices, lines),
        Cmd::BenchDunning {
            invoices,
            runs,
            messages,
            smtp,
        } => bench::dunning(invoices, runs, messages, smtp.as_deref()),
        Cmd::Forecast { sub, args } => run_forecast(sub, args),
        Cmd::Demo {
            db,
            seed,
            listen,
            no_serve,
        } => web::demo(&db, seed, &listen, !no_serve, &runtime()?),
        Cmd::Serve {
            db,
            listen,
            public_url,
        } => {
            let options = match public_url {
                Some(u) => {
                    arpilot_server::ServerOptions::public_url(&u).map_err(anyhow::Error::msg)?
                }
                None => arpilot_server::ServerOptions::default(),
            };
            web::serve(&db, &listen, options, &runtime()?)
        }
        Cmd::Users { db, cmd } => web::users(&db, cmd, &runtime()?),
        Cmd::Cash(cmd) => cash::run(cmd, &runtime()?),
        Cmd::Dunning(cmd) => dunning::run(cmd, &runtime()?),
        Cmd::Subscriptions(cmd) => subscriptions::run(cmd, &runtime()?),
        Cmd::Statement {
            customer,
            db,
            as_of,
            output,
            locale,
            company,
            iban,
            bic,
        } => cash::statement(
            &customer,
            &db,
            as_of.unwrap_or_else(today),
            &output,
            locale,
            [company, iban, bic],
            &runtime()?,
        ),
        Cmd::Export {
            kind,
            source,
            as_of,
            output,
            by,
            filters,
            locale,
        } => {
            use arpilot_app::export::{self, ExportKind as Kind, FileFormat};
            let as_of = as_of.unwrap_or_else(today);
            let mut req = arpilot_app::ReportRequest::default();
            for f in &filters {
                arg(&mut req, "filter", f)?;
            }
            if let Some(by) = &by {
                arg(&mut req, "by", by)?;
            }
            let snap = source.load(Some(as_of))?;
            let sel = Selection::resolve(&snap, &req.filters)?;
            let format = output
                .extension()
                .and_then(|e| e.to_str())
                .and_then(FileFormat::parse)
                .context("--output: expected a file name ending in .xlsx or .csv")?;
            let kind = match kind {
                ExportKind::Aging => Kind::Aging,
                ExportKind::Customers => Kind::Customers,
                ExportKind::Invoices => Kind::Invoices,
            };
            let lang = locale.lang();
            let sheet = export::table(
                kind,
                &snap,
                &sel,
                &req,
                &arpilot_app::Defaults::default(),
                as_of,
                None,
                lang,
            )?;
            let bytes = export::encode(&sheet, format, lang)?;
            std::fs::write(&output, bytes).with_context(|| output.display().to_string())?;
            eprintln!("wrote {}", output.display());
            Ok(())
        }
    }
}

/// The selection of `--filter` options, parsed as every request parses them.
fn selection(snap: &Snapshot, filters: &[String]) -> Result<Selection> {
    let mut req = arpilot_app::ReportRequest::default();
    for f in filters {
        arg(&mut req, "filter", f)?;
    }
    Ok(Selection::resolve(snap, &req.filters)?)
}

fn run_forecast(sub: Option<ForecastSub>, args: Option<ForecastArgs>) -> Result<()> {
    use arpilot_core::forecast::{Method, backtest, forecast};
    let out = std::io::stdout();
    let mut w = out.lock();
    match (sub, args) {
        (
            Some(ForecastSub::Backtest {
                source,
                from,
                to,
                filters,
                format,
            }),
            _,
        ) => {
            if to < from {
                bail!("--to {to} is before --from {from}");
            }
            let snap = source.load(None)?;
            let sel = selection(&snap, &filters)?;
            let bt = backtest(&snap, &sel, from, to);
            output::write_backtest(&mut w, &bt, format)?;
        }
        (None, Some(a)) => {
            let method = Method::parse(&a.method).with_context(|| {
                format!(
                    "--method: expected auto, distribution, mean_delay or due_date, found {:?}",
                    a.method
                )
            })?;
            let as_of = a.as_of.unwrap_or_else(today);
            let snap = Source {
                data: a.data,
                mapping: a.mapping,
                store: import::DbArgs {
                    db: a.db,
                    database_url: a.database_url,
                },
                currency: a.currency,
            }
            .load(Some(as_of))?;
            let sel = selection(&snap, &a.filters)?;
            let f = forecast(&snap, &sel, as_of, method, a.past);
            output::write_forecast(&mut w, &f, a.format, a.locale)?;
        }
        (None, None) => {
            bail!("expected --data (or the backtest subcommand); see arpilot forecast --help")
        }
    }
    Ok(())
}

fn analytics_report(
    w: &mut impl std::io::Write,
    a: &ReportArgs,
    snap: &Snapshot,
    sel: &Selection,
    params: &ReportParams,
) -> Result<()> {
    use arpilot_core::analytics::{broken_promises, cohorts, rating_history, team};
    use output::{money_cell as m, num};
    let (l, f, as_of) = (a.locale, a.format, params.as_of);
    match a.kind {
        Kind::Cohorts => {
            let c = cohorts(snap, sel, as_of, a.months);
            let rows: Vec<_> = c
                .iter()
                .map(|r| {
                    let mut csv = vec![
                        r.month.clone(),
                        r.invoices.to_string(),
                        r.amount.to_string(),
                    ];
                    let mut tab = vec![r.month.clone(), r.invoices.to_string(), m(l, r.amount)];
                    for p in r.collected_pct {
                        csv.push(p.map_or(String::new(), |x| x.to_string()));
                        tab.push(num(l, p));
                    }
                    csv.push(r.open.to_string());
                    tab.push(m(l, r.open));
                    (csv, tab)
                })
                .collect();
            output::write_listing(
                w,
                f,
                l,
                &[
                    ("Month", "Mois", false),
                    ("Invoices", "Factures", true),
                    ("Amount", "Montant", true),
                    ("Pct 30 days", "% 30 jours", true),
                    ("Pct 60 days", "% 60 jours", true),
                    ("Pct 90 days", "% 90 jours", true),
                    ("Pct 120 days", "% 120 jours", true),
                    ("Open", "Restant dû", true),
                ],
                &c,
                &rows,
            )
        }
        Kind::Team => {
            let t = team(snap, sel, params)?;
            let rows: Vec<_> = t
                .iter()
                .map(|r| {
                    let actions: u64 = r.actions_month.values().sum();
                    (
                        vec![
                            r.collector.clone(),
                            r.customers.to_string(),
                            r.balance.to_string(),
                            r.overdue.to_string(),
                            r.collection_rate.map_or(String::new(), |x| x.to_string()),
                            r.remaining.to_string(),
                            r.days_to_collect.map_or(String::new(), |x| x.to_string()),
                            r.disputes_open.to_string(),
                            r.disputes_resolved_90_days.to_string(),
                            actions.to_string(),
                        ],
                        vec![
                            r.collector.clone(),
                            r.customers.to_string(),
                            m(l, r.balance),
                            m(l, r.overdue),
                            num(l, r.collection_rate),
                            m(l, r.remaining),
                            num(l, r.days_to_collect),
                            r.disputes_open.to_string(),
                            r.disputes_resolved_90_days.to_string(),
                            actions.to_string(),
                        ],
                    )
                })
                .collect();
            output::write_listing(
                w,
                f,
                l,
                &[
                    ("Collector", "Recouvreur", false),
                    ("Customers", "Clients", true),
                    ("Balance", "Solde", true),
                    ("Overdue", "Échu", true),
                    ("Collection rate", "Taux de recouvrement", true),
                    ("Remaining", "Reste à recouvrer", true),
                    ("Days to collect", "Délai d'encaissement", true),
                    ("Open disputes", "Litiges ouverts", true),
                    ("Resolved 90 days", "Résolus 90 jours", true),
                    ("Actions month", "Actions du mois", true),
                ],
                &t,
                &rows,
            )
        }
        Kind::BrokenPromises => {
            let b = broken_promises(snap, sel, as_of);
            let rows: Vec<_> = b
                .iter()
                .map(|r| {
                    let base = vec![
                        r.document_id.clone(),
                        r.customer_id.clone(),
                        r.promised_on.to_string(),
                        r.due_on.to_string(),
                    ];
                    let mut csv = base.clone();
                    csv.extend([r.amount.to_string(), r.paid_by_due.to_string()]);
                    let mut tab = base;
                    tab.extend([m(l, r.amount), m(l, r.paid_by_due)]);
                    (csv, tab)
                })
                .collect();
            output::write_listing(
                w,
                f,
                l,
                &[
                    ("Invoice", "Facture", false),
                    ("Customer", "Client", false),
                    ("Promised on", "Promis le", false),
                    ("Due on", "Pour le", false),
                    ("Amount", "Montant", true),
                    ("Paid by due", "Payé à date", true),
                ],
                &b,
                &rows,
            )
        }
        _ => {
            let id = a
                .customer
                .as_deref()
                .context("report rating needs --customer ID")?;
            let h = rating_history(snap, sel, id, as_of, a.months, &RatingThresholds::default())
                .with_context(|| format!("--customer: no customer {id:?} in the ledger"))?;
            let rows: Vec<_> = h
                .iter()
                .map(|p| {
                    let r = p.rating.unwrap_or("").to_string();
                    (
                        vec![
                            p.date.to_string(),
                            r.clone(),
                            p.avg_days_late.map_or(String::new(), |x| x.to_string()),
                            p.percentile.map_or(String::new(), |x| x.to_string()),
                        ],
                        vec![
                            p.date.to_string(),
                            r,
                            num(l, p.avg_days_late),
                            num(l, p.percentile),
                        ],
                    )
                })
                .collect();
            output::write_listing(
                w,
                f,
                l,
                &[
                    ("Date", "Date", false),
                    ("Rating", "Cotation", false),
                    ("Avg days late", "Retard moyen", true),
                    ("Percentile", "Centile", true),
                ],
                &h,
                &rows,
            )
        }
    }
}

/// `report pdf` and `report management`: the management report with the saved report settings
/// (rating thresholds, company name) of a database, as the server computes it.
fn management_report(
    w: &mut impl std::io::Write,
    a: &ReportArgs,
    snap: &Snapshot,
    sel: &Selection,
    req: &arpilot_app::ReportRequest,
    as_of: Day,
) -> Result<()> {
    use arpilot_app::management;
    let settings = a.source.settings()?;
    let defaults = arpilot_app::Defaults::parse(&settings)
        .map_err(|e| anyhow::anyhow!("saved setting {}: expected {}", e.param, e.expected))?;
    let params = req.params(as_of, &defaults)?;
    let r = management::build(snap, sel, &params, &defaults.rating)?;
    let lang = a.lang.unwrap_or(Locale::Fr).lang();
    if a.kind == Kind::Pdf {
        let output = a
            .output
            .as_ref()
            .context("report pdf needs --output FILE.pdf")?;
        let company = arpilot_app::statement::Company::from_settings(&settings);
        std::fs::write(output, management::pdf(&r, lang, &company))
            .with_context(|| output.display().to_string())?;
        eprintln!("wrote {}", output.display());
        return Ok(());
    }
    // The figures, and the words of each card in the language asked for.
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        #[serde(flatten)]
        report: &'a management::ManagementReport,
        lang: &'static str,
        labels: std::collections::BTreeMap<&'static str, &'static str>,
    }
    let labels = r
        .kpis
        .iter()
        .map(|c| (c.key, management::kpi_label(lang, c.key)))
        .collect();
    serde_json::to_writer_pretty(
        &mut *w,
        &Answer {
            report: &r,
            lang: lang.code(),
            labels,
        },
    )?;
    writeln!(w)?;
    Ok(())
}

/// Sets a request parameter from a command-line option; errors name the option.
fn arg(req: &mut arpilot_app::ReportRequest, name: &str, value: &str) -> Result<()> {
    req.set(name, value).map_err(|e| {
        anyhow::anyhow!(
            "--{}: expected {}, found {:?}",
            e.param.replace('_', "-"),
            e.expected,
            e.value
        )
    })
}

fn run_report(a: ReportArgs) -> Result<()> {
    let as_of = a.as_of.unwrap_or_else(today);
    // The same request a page or an endpoint parses, from the arguments.
    let mut req = arpilot_app::ReportRequest::default();
    for f in &a.filters {
        arg(&mut req, "filter", f)?;
    }
    arg(&mut req, "buckets", &a.buckets)?;
    let basis = match a.basis {
        BasisArg::Due => "due",
        BasisArg::Issue => "issue",
    };
    arg(&mut req, "basis", basis)?;
    if let Some(by) = &a.by {
        arg(&mut req, "by", by)?;
    }
    if let Some(p) = &a.provisions {
        arg(&mut req, "provisions", p)?;
    }
    req.top = Some(a.top);
    // Months of the trend, cohorts and rating history: bounded as every request bounds them.
    arg(&mut req, "months", &a.months.to_string())?;
    let snap = a.source.load(Some(as_of))?;
    let sel = Selection::resolve(&snap, &req.filters)?;
    let params = req.params(as_of, &arpilot_app::Defaults::default())?;
    let out = std::io::stdout();
    let mut w = out.lock();
    match a.kind {
        Kind::Summary => {
            let r = report(&snap, &sel, &params)?;
            output::write_summary(&mut w, &r, a.format, a.locale)?;
        }
        Kind::Customers => {
            let rows = customers(&snap, &sel, as_of, &RatingThresholds::default());
            output::write_customers(&mut w, &rows, a.format, a.locale)?;
        }
        Kind::Trend => {
            let pts = trend(&snap, &sel, as_of, a.months);
            output::write_trend(&mut w, &pts, a.format, a.locale)?;
        }
        Kind::Invoices => {
            let rows = invoices(&snap, &sel, as_of);
            output::write_invoices(&mut w, &rows, a.format, a.locale)?;
        }
        Kind::Cohorts | Kind::Team | Kind::BrokenPromises | Kind::Rating => {
            analytics_report(&mut w, &a, &snap, &sel, &params)?;
        }
        Kind::Work => {
            let k = arpilot_core::work::work(&snap, &sel, as_of, a.days, 30);
            output::write_work(&mut w, &k, a.format, a.locale)?;
        }
        Kind::Pdf | Kind::Management => {
            management_report(&mut w, &a, &snap, &sel, &req, as_of)?;
        }
        Kind::Cash => {
            if !a.filters.is_empty() {
                bail!("--filter: cash application is reported for the whole company");
            }
            let from = a.from.unwrap_or_else(|| as_of.month_start());
            if from > as_of {
                bail!("--from {from}: expected a date on or before the as-of date {as_of}");
            }
            let r = arpilot_app::cash::report(&snap, from, as_of);
            cash::write_report(&r, a.format, a.locale, &mut w)?;
        }
    }
    Ok(())
}
