//! `arpilot import`: read exports, synchronise them with the stored ledger, print a summary.

use anyhow::{Context, Result, anyhow, bail};
use arpilot_core::Day;
use arpilot_ingest::source::{self, Format, Parsed, ReadOptions};
use arpilot_ingest::{fec, mapped};
use arpilot_store::import::{ImportError, Incoming, Outcome, import};
use arpilot_store::{LedgerStore, NewBatch, Store, Target};
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
}

/// The files named on the command line, grouped into sources: the files of a ledger set go
/// together, a folder without customers.csv stands for the files it holds.
fn sources(files: &[PathBuf]) -> Result<Vec<Vec<PathBuf>>> {
    let mut set: Vec<PathBuf> = Vec::new();
    let mut out: Vec<Vec<PathBuf>> = Vec::new();
    for f in files {
        if !f.exists() {
            bail!("{}: no such file or folder", f.display());
        }
        let set_file = f
            .file_name()
            .is_some_and(|n| arpilot_ingest::ledger_csv::FILES.iter().any(|x| n == *x));
        if set_file {
            set.push(f.clone());
        } else if f.is_dir() && !f.join("customers.csv").is_file() {
            // A folder of e-invoices: its PDF and XML files; anything else is named and skipped.
            let (mut inner, other): (Vec<PathBuf>, Vec<PathBuf>) = std::fs::read_dir(f)
                .with_context(|| f.display().to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .partition(|p| {
                    p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("pdf") || e.eq_ignore_ascii_case("xml")
                    })
                });
            inner.sort();
            if !other.is_empty() {
                eprintln!(
                    "{}: skipped {} files that are not PDF or XML invoices ({})",
                    f.display(),
                    other.len(),
                    other
                        .iter()
                        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if inner.is_empty() {
                bail!(
                    "{}: no ledger set (customers.csv) and no PDF or XML invoice in this folder",
                    f.display()
                );
            }
            out.extend(inner.into_iter().map(|p| vec![p]));
        } else {
            out.push(vec![f.clone()]);
        }
    }
    if !set.is_empty() {
        out.insert(0, set);
    }
    Ok(out)
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
    let mut parsed: Vec<Parsed> = Vec::new();
    for group in sources(&a.files)? {
        let pb = spinner(format!("reading {}", group[0].display()));
        let p = source::read(&group, &opts).map_err(|e| anyhow!(e))?;
        pb.finish_and_clear();
        parsed.push(p);
    }
    let user = a
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let effective = a.effective.unwrap_or_else(crate::today);
    let target = a.db.target();
    let outcomes = rt.block_on(async {
        let store = Store::open(&target).await?;
        let mut outcomes = Vec::new();
        for mut p in parsed {
            let pb = spinner(format!("importing {}", p.source.display()));
            // The events move into the import; `p` keeps the files and lines for messages.
            let incoming = Incoming::new(
                std::mem::take(&mut p.events),
                p.currency,
                NewBatch::for_import(
                    p.source.display().to_string(),
                    std::mem::take(&mut p.sha256),
                    p.format.name(),
                    a.entity.clone(),
                    user.clone(),
                ),
                effective,
                p.warnings.clone(),
            );
            let pbc = pb.clone();
            let r = import(&store, incoming, &move |n| {
                pbc.set_message(format!("writing events: {n}"))
            })
            .await;
            pb.finish_and_clear();
            match r {
                Ok(o) => outcomes.push((p, o)),
                Err(ImportError::Refused { index, error }) => {
                    let done: Vec<String> = outcomes
                        .iter()
                        .map(|(p, _): &(Parsed, Outcome)| p.source.display().to_string())
                        .collect();
                    store.close().await;
                    let mut e = anyhow!(p.error_at(index, &error));
                    if !done.is_empty() {
                        e = e.context(format!("imported before this file: {}", done.join(", ")));
                    }
                    return Err(e);
                }
                Err(ImportError::Store(e)) => {
                    store.close().await;
                    return Err(anyhow!(e));
                }
            }
        }
        store.close().await;
        Ok::<_, anyhow::Error>(outcomes)
    })?;
    print_summary(&outcomes, &target, a.json)?;
    if !a.json {
        let rows: u64 = outcomes.iter().map(|(p, _)| p.rows).sum();
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "imported {rows} rows in {secs:.2} s ({:.0} rows/s)",
            rows as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn print_summary(outcomes: &[(Parsed, Outcome)], target: &Target, json: bool) -> Result<()> {
    if json {
        let v: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|(p, o)| {
                let c = &o.counts;
                serde_json::json!({
                    "source": p.source.display().to_string(),
                    "format": p.format.name(),
                    "batch": o.batch_id,
                    "rows": p.rows,
                    "events": c.rows_read,
                    "appended": c.appended,
                    "unchanged": c.unchanged,
                    "amended": c.amended,
                    "documents": c.documents,
                    "payments": c.payments,
                    "allocations": c.allocations,
                    "customers": c.customers,
                    "warnings": o.warnings.iter().map(|(i, w)| match i {
                        Some(i) => format!("{}: {w}", p.place(*i)),
                        None => w.clone(),
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let where_ = match target {
        Target::Sqlite(p) => p.display().to_string(),
        Target::Postgres(u) => u.split('@').next_back().unwrap_or(u).to_string(),
    };
    for (p, o) in outcomes {
        let c = &o.counts;
        let status = match o.batch_id {
            Some(id) => format!("batch {id}"),
            None => "nothing new".into(),
        };
        println!(
            "{} ({}): {} rows read, {status} in {where_}",
            p.source.display(),
            p.format.name(),
            p.rows
        );
        println!(
            "  new: {} documents, {} payments, {} matches, {} customers; {} amended, {} unchanged, {} warnings",
            c.documents,
            c.payments,
            c.allocations,
            c.customers,
            c.amended,
            c.unchanged,
            o.warnings.len()
        );
        for (i, w) in o.warnings.iter().take(10) {
            match i {
                Some(i) => println!("  warning: {}: {w}", p.place(*i)),
                None => println!("  warning: {w}"),
            }
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
