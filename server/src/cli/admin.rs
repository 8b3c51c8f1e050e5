//! `ilive keys …` and `ilive tenants …`: tenant and API-key administration against the
//! configured database. Each command returns what it prints.
use std::fmt::Write;

use clap::Subcommand;

use crate::store::{self, tenants, Db};

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

/// Runs `ilive keys …`.
pub async fn keys(db: &Db, action: KeysAction) -> anyhow::Result<String> {
    let mut out = String::new();
    match action {
        KeysAction::Create { tenant } => {
            let name = tenant.trim();
            anyhow::ensure!(!name.is_empty(), "--tenant must not be empty");
            let (t, created) = tenants::find_or_create(db, name).await?;
            let (id, key) = tenants::create_key(db, &t.id).await?;
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
            for k in tenants::list_keys(db).await? {
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
            let n = tenants::revoke_key(db, &id).await?;
            anyhow::ensure!(n > 0, "no active key with id {id}");
            writeln!(out, "revoked {id}")?;
        }
    }
    Ok(out)
}

/// Runs `ilive tenants …`.
pub async fn tenants(db: &Db, action: TenantsAction) -> anyhow::Result<String> {
    let mut out = String::new();
    match action {
        TenantsAction::List => {
            for t in tenants::list(db).await? {
                let state = if t.active { "active" } else { "disabled" };
                writeln!(out, "{:<24} {state}", t.name)?;
            }
        }
        TenantsAction::Disable { name } => {
            writeln!(out, "disabled {}", set_active(db, name, false).await?)?
        }
        TenantsAction::Enable { name } => {
            writeln!(out, "enabled {}", set_active(db, name, true).await?)?
        }
        TenantsAction::Secret { name } => {
            let t = tenants::find_by_name(db, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no tenant {name}"))?;
            writeln!(out, "{}", t.webhook_secret)?;
        }
    }
    Ok(out)
}

/// Enables or disables the tenant `name`, which must exist; returns the name.
async fn set_active(db: &Db, name: String, active: bool) -> anyhow::Result<String> {
    anyhow::ensure!(
        tenants::set_active(db, &name, active).await?,
        "no tenant {name}"
    );
    Ok(name)
}
