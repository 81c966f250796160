//! `arpilot import`: read exports, synchronise them with the stored ledger, print a summary.

use anyhow::{Context, Result, anyhow, bail};
use arpilot_app::import::{Author, FileOutcome, group_paths, import_parsed, read_sources};
use arpilot_core::Day;
use arpilot_ingest::source::{Format, ReadOptions};
use arpilot_ingest::{fec, mapped};
use arpilot_store::{LedgerStore, Store, Target};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Where the ledger is stored.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DbArgs {
    /// SQLite file of the ledger (default arpilot.db).
    #[arg(long, conflicts_with = "database_url")]
    pub db: Option<PathBuf>,
    /// PostgreSQL ledger, postgres://user@host/database.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl DbArgs {
    pub fn given(&self) -> bool {
        self.db.is_some() || self.database_url.is_some()
    }

    pub fn target(&self) -> Target {
        match (&self.database_url, &self.db) {
            (Some(u), _) => Target::Postgres(u.clone()),
            (None, Some(p)) => Target::Sqlite(p.clone()),
            (None, None) => Target::Sqlite("arpilot.db".into()),
        }
    }
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Files to import: a ledger-set folder or its CSV files, a CSV/XLSX/ODS with --mapping, an
    /// FEC, Factur-X PDFs, CII or UBL invoices, or a folder of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// auto (from the content), ledger, csv, xlsx, fec, facturx, ubl or cii.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Mapping (TOML) from the columns of a CSV or spreadsheet to arpilot's.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Company the file belongs to: its ids are qualified (ENTITY:id) and its customers carry
    /// entity=ENTITY, so several companies share one ledger.
    #[arg(long)]
    pub entity: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Date from which changed attributes (amendments) take effect (default: today).
    #[arg(long)]
    pub effective: Option<Day>,
    /// FEC: payment terms in days when the file has no due date.
    #[arg(long, default_value_t = 30)]
    pub payment_terms: i32,
    /// FEC: payment terms per customer, a CSV with columns customer_id,payment_terms_days
    /// (the customer's CompAuxNum).
    #[arg(long, value_name = "FILE.csv")]
    pub customer_terms: Option<PathBuf>,
    /// Who imports (default: $USER).
    #[arg(long)]
    pub user: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Bank statements: queue every receipt for review instead of applying the confident
    /// matches at once.
    #[arg(long)]
    pub no_auto: bool,
}

/// `customer_id,payment_terms_days` rows.
fn customer_terms(path: &std::path::Path) -> Result<std::collections::HashMap<String, i32>> {
    let mut r = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| anyhow!("{}: missing column {name:?}", path.display()))
    };
    let (c, t) = (col("customer_id")?, col("payment_terms_days")?);
    let mut out = std::collections::HashMap::new();
    for rec in r.records() {
        let rec = rec.with_context(|| path.display().to_string())?;
        let line = rec.position().map_or(0, |p| p.line());
        let v = rec.get(t).unwrap_or("").trim();
        let days: i32 = v.parse().ok().filter(|d| (0..=3650).contains(d)).ok_or_else(|| {
            anyhow!(
                "{}, line {line}, column payment_terms_days: expected 0 to 3650 days, found {v:?}",
                path.display()
            )
        })?;
        out.insert(rec.get(c).unwrap_or("").trim().to_string(), days);
    }
    Ok(out)
}

fn progress_shown() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

fn spinner(msg: String) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        None,
        if progress_shown() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

pub fn run(a: ImportArgs, rt: &tokio::runtime::Runtime) -> Result<()> {
    // Bank statements (camt, CFONB, MT940, OFX) go to cash application.
    let statements = a.format == "auto" && a.files.iter().any(|f| arpilot_app::cash::sniff(f));
    if statements {
        if let Some(other) = a.files.iter().find(|f| !arpilot_app::cash::sniff(f)) {
            bail!(
                "{}: not a bank statement; import bank statements on their own (expected camt.053/054, CFONB 120, MT940 or OFX files only)",
                other.display()
            );
        }
        return crate::cash::import_statements(
            &a.files,
            &a.db,
            a.user.clone(),
            a.entity.clone(),
            !a.no_auto,
            a.json,
            rt,
        );
    }
    let format = match a.format.as_str() {
        "auto" => None,
        f => Some(Format::parse(f).ok_or_else(|| {
            anyhow!(
                "--format: expected auto, ledger, csv, xlsx, fec, facturx, ubl or cii, found {f:?}"
            )
        })?),
    };
    let mapping = match &a.mapping {
        Some(m) => Some(mapped::Mapping::load(m).map_err(|e| anyhow!(e))?),
        None => None,
    };
    if !(0..=3650).contains(&a.payment_terms) {
        bail!(
            "--payment-terms: expected 0 to 3650 days, found {}",
            a.payment_terms
        );
    }
    let opts = ReadOptions {
        format,
        mapping: mapping.as_ref(),
        fec: fec::FecOptions {
            default_terms_days: a.payment_terms,
            terms: match &a.customer_terms {
                Some(f) => customer_terms(f)?,
                None => Default::default(),
            },
            ..fec::FecOptions::default()
        },
        entity: a.entity.as_deref(),
    };
    // Every file is read and checked before anything is written.
    let started = std::time::Instant::now();
    let (groups, notes) = group_paths(&a.files).map_err(|e| anyhow!(e))?;
    for n in notes {
        eprintln!("{n}");
    }
    let pb = spinner(String::new());
    let parsed = read_sources(&groups, &opts, |p| {
        pb.set_message(format!("reading {}", p.display()))
    })
    .map_err(|e| anyhow!(e))?;
    pb.finish_and_clear();
    let rows: u64 = parsed.iter().map(|p| p.rows).sum();
    let author = Author {
        user: a
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into()),
        entity: a.entity.clone(),
        effective: a.effective.unwrap_or_else(crate::today),
    };
    let target = a.db.target();
    let outcomes = rt.block_on(async {
        let store = Store::open(&target).await?;
        let pb = spinner(String::new());
        let r = import_parsed(&store, None, parsed, &author, &|source, n| {
            pb.set_message(format!(
                "importing {}: {n} events written",
                source.display()
            ))
        })
        .await;
        pb.finish_and_clear();
        store.close().await;
        match r {
            Ok(o) => Ok(o),
            Err(arpilot_app::Refused::Event {
                message,
                imported_before,
            }) if !imported_before.is_empty() => Err(anyhow!(message).context(format!(
                "imported before this file: {}",
                imported_before.join(", ")
            ))),
            Err(e) => Err(anyhow!(e)),
        }
    })?;
    print_summary(&outcomes, &target, a.json)?;
    if !a.json {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "imported {rows} rows in {secs:.2} s ({:.0} rows/s)",
            rows as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn print_summary(outcomes: &[FileOutcome], target: &Target, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcomes)?);
        return Ok(());
    }
    let where_ = match target {
        Target::Sqlite(p) => p.display().to_string(),
        Target::Postgres(u) => u.split('@').next_back().unwrap_or(u).to_string(),
    };
    for o in outcomes {
        let status = match o.batch {
            Some(id) => format!("batch {id}"),
            None => "nothing new".into(),
        };
        println!(
            "{} ({}): {} rows read, {status} in {where_}",
            o.source, o.format, o.rows
        );
        println!(
            "  new: {} documents, {} payments, {} matches, {} customers; {} amended, {} unchanged, {} warnings",
            o.documents,
            o.payments,
            o.allocations,
            o.customers,
            o.amended,
            o.unchanged,
            o.warnings.len()
        );
        for w in o.warnings.iter().take(10) {
            println!("  warning: {w}");
        }
        if o.warnings.len() > 10 {
            println!("  … and {} more warnings", o.warnings.len() - 10);
        }
    }
    Ok(())
}

/// `arpilot batches`: the import history.
pub fn list_batches(db: &DbArgs, json: bool, rt: &tokio::runtime::Runtime) -> Result<()> {
    let batches = rt.block_on(async {
        let store = Store::open_existing(&db.target()).await?;
        let b = store.batches().await;
        store.close().await;
        b
    })?;
    if json {
        let v: Vec<serde_json::Value> = batches
            .iter()
            .map(|b| {
                serde_json::json!({
                    "id": b.id, "source": b.source, "sha256": b.sha256, "format": b.format,
                    "entity": b.entity, "imported_by": b.imported_by, "imported_at": b.imported_at,
                    "effective": b.effective, "rows": b.counts.rows_read, "appended": b.counts.appended,
                    "unchanged": b.counts.unchanged, "amended": b.counts.amended,
                    "documents": b.counts.documents, "payments": b.counts.payments,
                    "allocations": b.counts.allocations, "customers": b.counts.customers,
                    "warnings": b.warnings,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "{:>5}  {:<20}  {:<8}  {:>9}  {:>9}  {:>7}  {:<12}  source",
        "batch", "imported at", "format", "rows", "appended", "amended", "by"
    );
    for b in &batches {
        println!(
            "{:>5}  {:<20}  {:<8}  {:>9}  {:>9}  {:>7}  {:<12}  {}",
            b.id,
            b.imported_at,
            b.format,
            b.counts.rows_read,
            b.counts.appended,
            b.counts.amended,
            b.imported_by,
            b.source
        );
    }
    Ok(())
}
