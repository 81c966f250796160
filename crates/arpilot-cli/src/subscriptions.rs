//! The management report by e-mail from the command line: subscribe a user, list the
//! subscriptions, and send the reports due (what `arpilot serve` does every few minutes).

use crate::import::DbArgs;
use crate::output::Format;
use anyhow::{Result, bail};
use arpilot_app::dunning::{DunningSettings, Smtp};
use arpilot_app::subscriptions::{self, new_subscription};
use arpilot_core::Day;
use arpilot_store::{Store, UserStore};

#[derive(clap::Subcommand)]
pub enum SubscriptionsCmd {
    /// Subscribe a user to the management report by e-mail, weekly (Mondays, as of the Sunday
    /// before) or monthly (the 1st, as of the month-end), for their portfolio, in their
    /// language. Starts with the next period.
    Add {
        #[command(flatten)]
        db: DbArgs,
        login: String,
        #[arg(long)]
        email: String,
        /// weekly or monthly
        #[arg(long)]
        frequency: String,
        /// The day the subscription is made (default: today).
        #[arg(long)]
        today: Option<Day>,
    },
    /// Stop a user's subscription.
    Remove {
        #[command(flatten)]
        db: DbArgs,
        login: String,
    },
    /// The subscriptions.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Send the reports due today that were not sent yet, through the SMTP server of the
    /// settings (smtp.url) or of ARPILOT_SMTP_URL.
    Run {
        #[command(flatten)]
        db: DbArgs,
        /// The run's day (default: today).
        #[arg(long)]
        today: Option<Day>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn run(cmd: SubscriptionsCmd, rt: &tokio::runtime::Runtime) -> Result<()> {
    let target = match &cmd {
        SubscriptionsCmd::Add { db, .. }
        | SubscriptionsCmd::Remove { db, .. }
        | SubscriptionsCmd::List { db }
        | SubscriptionsCmd::Run { db, .. } => db.target(),
    };
    rt.block_on(async {
        let store = Store::open_existing(&target).await?;
        let r = run_in(&store, cmd).await;
        store.close().await;
        r
    })
}

async fn run_in(store: &Store, cmd: SubscriptionsCmd) -> Result<()> {
    match cmd {
        SubscriptionsCmd::Add {
            db: _,
            login,
            email,
            frequency,
            today,
        } => {
            if store.user(&login).await?.is_none() {
                bail!("no user {login:?} (see `arpilot users list`)");
            }
            let s = new_subscription(
                &login,
                &email,
                &frequency,
                today.unwrap_or_else(crate::today),
            )?;
            store
                .set_setting(&subscriptions::key(&login), &serde_json::to_string(&s)?)
                .await?;
            println!("{login}: {frequency} report to {}", s.email);
        }
        SubscriptionsCmd::Remove { db: _, login } => {
            store.set_setting(&subscriptions::key(&login), "").await?;
            println!("{login}: no report by e-mail");
        }
        SubscriptionsCmd::List { db: _ } => {
            let settings = store.settings().await?;
            for u in store.users().await? {
                if let Some(s) = subscriptions::of(&settings, &u.login) {
                    println!(
                        "{:<20} {:<8} {:<40} since {}",
                        s.login,
                        match s.frequency {
                            subscriptions::Frequency::Weekly => "weekly",
                            subscriptions::Frequency::Monthly => "monthly",
                        },
                        s.email,
                        s.since
                    );
                }
            }
        }
        SubscriptionsCmd::Run {
            db: _,
            today,
            format,
        } => {
            let views = arpilot_app::Views::open(store).await?;
            let dec = views.current().currency.decimals();
            let settings = DunningSettings::load(store, dec).await?;
            let Some(url) = settings.smtp_url.as_deref() else {
                bail!("no SMTP server: set smtp.url on the settings page or ARPILOT_SMTP_URL");
            };
            let smtp = Smtp::new(url)?;
            let out = subscriptions::run(&views, store, today.unwrap_or_else(crate::today), &smtp)
                .await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out)?),
                _ => {
                    for d in &out {
                        println!(
                            "{:<20} {:<40} {:<13} as of {}  {}",
                            d.login, d.email, d.period, d.as_of, d.outcome
                        );
                    }
                    println!(
                        "{} reports due, {} sent",
                        out.len(),
                        out.iter().filter(|d| d.outcome == "sent").count()
                    );
                }
            }
            if out.iter().any(|d| d.outcome != "sent") {
                bail!("some reports were not sent (listed above); the next run tries again");
            }
        }
    }
    Ok(())
}
