//! `arpilot serve`, `arpilot users` and `arpilot demo`: the dashboard and its users.

use crate::import::DbArgs;
use anyhow::{Context, Result, anyhow};
use arpilot_app::import::{Incoming, import};
use arpilot_app::users;
use arpilot_store::{NewBatch, Store, UserStore};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum UsersCmd {
    /// Add a user; the password comes from ARPILOT_PASSWORD or is generated and printed.
    Add {
        login: String,
        /// admin, manager (credit manager), collector or viewer (sales/ADV, read-only).
        #[arg(long)]
        role: String,
        /// Customers a collector or viewer sees: NAME=VALUE rules joined by ';'
        /// (e.g. "collector=Camille Martin" or "region=Nord").
        #[arg(long, default_value = "")]
        portfolio: String,
    },
    /// List users with their role and portfolio.
    List,
    SetRole {
        login: String,
        role: String,
    },
    SetPortfolio {
        login: String,
        portfolio: String,
    },
    /// Create an API token for scripts (printed once; only its hash is kept).
    Token {
        login: String,
        #[arg(long, default_value = "script")]
        name: String,
    },
}

pub fn users(db: &DbArgs, cmd: UsersCmd, rt: &tokio::runtime::Runtime) -> Result<()> {
    rt.block_on(async {
        let store = Store::open(&db.target()).await?;
        let r = users_on(&store, cmd).await;
        store.close().await;
        r
    })
}

async fn users_on(store: &Store, cmd: UsersCmd) -> Result<()> {
    match cmd {
        UsersCmd::Add {
            login,
            role,
            portfolio,
        } => {
            let (password, shown) = match std::env::var("ARPILOT_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (users::random_token()[..16].to_string(), true),
            };
            users::add(store, &login, &role, &portfolio, &password).await?;
            if shown {
                println!("{login}: password {password}");
            } else {
                println!("{login}: added");
            }
        }
        UsersCmd::List => {
            println!("{:<16} {:<10} portfolio", "login", "role");
            for u in store.users().await? {
                println!("{:<16} {:<10} {}", u.login, u.role, u.portfolio);
            }
        }
        UsersCmd::SetRole { login, role } => users::set_role(store, &login, &role, None).await?,
        UsersCmd::SetPortfolio { login, portfolio } => {
            users::set_portfolio(store, &login, &portfolio).await?
        }
        UsersCmd::Token { login, name } => {
            println!("{}", users::add_token(store, &login, &name).await?)
        }
    }
    Ok(())
}

/// Serves the dashboard of `store` on `listen` until the process ends.
pub async fn serve_store(
    store: Store,
    listen: &str,
    options: arpilot_server::ServerOptions,
    banner: impl FnOnce(&str),
) -> Result<()> {
    let state = arpilot_server::AppState::with_options(store, options).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    banner(&format!("http://{addr}/"));
    arpilot_server::serve(listener, state).await?;
    Ok(())
}

pub fn serve(
    db: &DbArgs,
    listen: &str,
    options: arpilot_server::ServerOptions,
    rt: &tokio::runtime::Runtime,
) -> Result<()> {
    rt.block_on(async {
        let store = Store::open_existing(&db.target()).await?;
        serve_store(store, listen, options, |url| {
            eprintln!("arpilot: serving {url} (Ctrl-C to stop)")
        })
        .await
    })
}

/// The demo's users: login, role, portfolio; each one's password is `demo-<login>`.
pub const DEMO_USERS: [(&str, &str, &str); 7] = [
    ("admin", "admin", ""),
    ("dupont", "manager", ""),
    ("camille", "collector", "collector=Camille Martin"),
    ("julien", "collector", "collector=Julien Bernard"),
    ("sophie", "collector", "collector=Sophie Petit"),
    ("hugo", "collector", "collector=Hugo Moreau"),
    ("ventes", "viewer", "region=Nord"),
];

/// Builds the demo company in a fresh database; returns the store.
pub async fn build_demo(db: &Path, seed: u64) -> Result<Store> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| p.display().to_string())?;
        }
    }
    let dir = std::env::temp_dir().join(format!("arpilot-demo-{}", std::process::id()));
    let mut p = arpilot_synth::Params::new(40_000, seed);
    p.entities = 2;
    p.usd_share = 0.3;
    p.bank = Some(arpilot_synth::BankParams::last_month(p.end));
    arpilot_synth::generate(&p, &dir)?;
    let set =
        arpilot_ingest::ledger_csv::read_set(std::slice::from_ref(&dir)).map_err(|e| anyhow!(e))?;
    let store = Store::open(&arpilot_store::Target::Sqlite(db.to_path_buf())).await?;
    import(
        &store,
        Incoming::new(
            set.events,
            set.currency,
            NewBatch::for_import(
                format!("demo (seed {seed})"),
                String::new(),
                "ledger",
                None,
                "demo".into(),
            ),
            p.end,
            vec![],
        ),
        &|_| {},
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    // The last month's payments arrive as the bank's statement: most are matched at once, the
    // rest wait on the cash-application page.
    let statement = dir.join("statements/camt053.xml");
    let author = arpilot_app::Author {
        user: "demo".into(),
        entity: None,
        effective: p.end,
    };
    arpilot_app::cash::import_statement(
        &store,
        None,
        &statement,
        "relevé BNP octobre (camt.053)",
        &author,
        arpilot_app::cash::CashSettings::default(),
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    // Who is paid: printed on statements with the EPC QR code.
    for (k, v) in [
        ("company.name", "Groupe Démo Industries SAS"),
        ("company.iban", "FR7630006000011234567890189"),
        ("company.bic", "BNPAFRPPXXX"),
    ] {
        store.set_setting(k, v).await?;
    }
    for (login, role, portfolio) in DEMO_USERS {
        store
            .add_user(
                login,
                &users::hash_password(&format!("demo-{login}")),
                role,
                portfolio,
            )
            .await?;
    }
    Ok(store)
}

pub fn demo(
    db: &Path,
    seed: u64,
    listen: &str,
    serve: bool,
    rt: &tokio::runtime::Runtime,
) -> Result<()> {
    rt.block_on(async {
        eprintln!("arpilot: building the demo company in {} …", db.display());
        let store = build_demo(db, seed).await?;
        if !serve {
            store.close().await;
            return Ok(());
        }
        serve_store(store, listen, Default::default(), |url| {
            println!("arpilot demo: {url}");
            println!("Logins (password: demo-<login>):");
            for (login, role, portfolio) in DEMO_USERS {
                let p = if portfolio.is_empty() {
                    String::new()
                } else {
                    format!(" — {portfolio}")
                };
                println!("  {login:<8} {role}{p}");
            }
            println!("Ctrl-C to stop.");
        })
        .await
    })
}
