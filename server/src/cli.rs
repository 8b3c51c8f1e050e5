//! The `ilive` command line: `serve` (the default) and the tenant/key administration commands.
use clap::{Parser, Subcommand};

use crate::{config::Config, store};

#[derive(Debug, Parser)]
#[command(
    name = "ilive",
    version,
    about = "iLive: self-hosted face liveness verification"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Run clips through the liveness engine and print BPCER/APCER (no browser needed).
    Eval(crate::eval::EvalArgs),
    /// Score face comparison on real photos: similarity distributions, FMR and FNMR.
    FacesEval(crate::api::faces::eval::FacesEvalArgs),
    /// Manage tenants (integrator accounts).
    Tenants {
        #[command(subcommand)]
        action: TenantsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key for a tenant (created if new). The key is printed once and never again.
    Create {
        #[arg(long)]
        tenant: String,
    },
    /// List keys (ids and prefixes only).
    List,
    /// Revoke a key by id (or an unambiguous id prefix of at least 8 characters).
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum TenantsAction {
    /// List tenants.
    List,
    /// Disable a tenant: its keys then answer `account_inactive`.
    Disable { name: String },
    /// Re-enable a tenant.
    Enable { name: String },
    /// Print a tenant's webhook signing secret.
    Secret { name: String },
}

/// Runs `ilive eval`: loads the models, runs the clips, prints the table.
pub fn run_eval(config: &Config, args: &crate::eval::EvalArgs) -> anyhow::Result<()> {
    let models = models::FaceModels::load(&config.models_dir())?;
    let results = crate::eval::evaluate(args, &models, config.thresholds())?;
    print!("{}", crate::eval::report(&results, args.details));
    Ok(())
}

/// Runs an administration command against the configured database, writing to stdout.
pub async fn run_admin(config: &Config, command: Command) -> anyhow::Result<()> {
    let db = store::connect(&config.database_url).await?;
    let mut out = String::new();
    use std::fmt::Write;
    match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::FacesEval(_) => unreachable!("faces-eval is handled by main"),
        Command::Eval(_) => unreachable!("eval is handled by run_eval"),
        Command::Keys { action } => match action {
            KeysAction::Create { tenant } => {
                let name = tenant.trim();
                anyhow::ensure!(!name.is_empty(), "--tenant must not be empty");
                let (t, created) = store::tenants::find_or_create(&db, name).await?;
                let (id, key) = store::tenants::create_key(&db, &t.id).await?;
                writeln!(
                    out,
                    "API key for tenant {} (shown once, store it now):",
                    t.name
                )?;
                writeln!(out, "{key}")?;
                writeln!(out, "key id: {id}")?;
                if created {
                    writeln!(
                        out,
                        "new tenant; webhook signing secret: {}",
                        t.webhook_secret
                    )?;
                }
            }
            KeysAction::List => {
                writeln!(
                    out,
                    "{:<38} {:<15} {:<20} {:<22} status",
                    "id", "prefix", "tenant", "created"
                )?;
                for k in store::tenants::list_keys(&db).await? {
                    let status = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    writeln!(
                        out,
                        "{:<38} {:<15} {:<20} {:<22} {status}",
                        k.id,
                        format!("{}…", k.prefix),
                        k.tenant_name,
                        store::rfc3339(k.created_at)
                    )?;
                }
            }
            KeysAction::Revoke { id } => {
                let n = store::tenants::revoke_key(&db, &id).await?;
                anyhow::ensure!(n > 0, "no active key with id {id}");
                writeln!(out, "revoked {id}")?;
            }
        },
        Command::Tenants { action } => match action {
            TenantsAction::List => {
                for t in store::tenants::list(&db).await? {
                    let state = if t.active { "active" } else { "disabled" };
                    writeln!(out, "{:<24} {state}", t.name)?;
                }
            }
            TenantsAction::Disable { name } => {
                anyhow::ensure!(
                    store::tenants::set_active(&db, &name, false).await?,
                    "no tenant {name}"
                );
                writeln!(out, "disabled {name}")?;
            }
            TenantsAction::Enable { name } => {
                anyhow::ensure!(
                    store::tenants::set_active(&db, &name, true).await?,
                    "no tenant {name}"
                );
                writeln!(out, "enabled {name}")?;
            }
            TenantsAction::Secret { name } => {
                let t = store::tenants::find_by_name(&db, &name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no tenant {name}"))?;
                writeln!(out, "{}", t.webhook_secret)?;
            }
        },
    }
    db.close().await;
    print!("{out}");
    Ok(())
}
