//! Tenants (integrators) and their API keys.
use sqlx::FromRow;
use tracing::instrument;

use super::{hash_secret, now, on_db, random_secret, Db, Error, Result};

/// An integrator account.
#[derive(Debug, Clone, FromRow)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Signs this tenant's webhooks (HMAC-SHA256).
    pub webhook_secret: String,
    pub active: bool,
    pub created_at: i64,
}

/// Who is calling, once an API key has been checked.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A per-tenant key.
    Tenant { tenant: Tenant, key_id: String },
    /// The legacy global key from configuration.
    Legacy,
}

impl Principal {
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Principal::Tenant { tenant, .. } => Some(&tenant.id),
            Principal::Legacy => None,
        }
    }

    /// Who owns what the caller creates in collections: the tenant's id, or `legacy`.
    pub fn owner(&self) -> &str {
        self.tenant_id().unwrap_or("legacy")
    }

    /// Identifies the caller for per-key rate limits.
    pub fn rate_key(&self) -> String {
        match self {
            Principal::Tenant { key_id, .. } => format!("key:{key_id}"),
            Principal::Legacy => "key:legacy".to_owned(),
        }
    }
}

/// A key as listed (never the key itself).
#[derive(Debug, Clone, FromRow)]
pub struct KeyInfo {
    pub id: String,
    pub prefix: String,
    pub tenant_name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const TENANT_COLUMNS: &str = "id, name, webhook_secret, active, created_at";

#[instrument(skip_all, err)]
pub async fn find_by_name(db: &Db, name: &str) -> Result<Option<Tenant>> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE name = $1");
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(pool)
        .await?))
}

/// Returns the tenant called `name`, creating it (with a fresh webhook secret) if needed.
/// The flag says whether it was created.
#[instrument(skip_all, err)]
pub async fn find_or_create(db: &Db, name: &str) -> Result<(Tenant, bool)> {
    if let Some(t) = find_by_name(db, name).await? {
        return Ok((t, false));
    }
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        webhook_secret: random_secret("whsec_"),
        active: true,
        created_at: now(),
    };
    on_db!(db, pool => sqlx::query(
        "INSERT INTO tenants (id, name, webhook_secret, active, created_at) VALUES ($1, $2, $3, TRUE, $4)",
    )
    .bind(&tenant.id)
    .bind(&tenant.name)
    .bind(&tenant.webhook_secret)
    .bind(tenant.created_at)
    .execute(pool)
    .await?
    .rows_affected());
    Ok((tenant, true))
}

/// Enables or disables a tenant; disabled tenants' keys answer `account_inactive`.
#[instrument(skip_all, err)]
pub async fn set_active(db: &Db, name: &str, active: bool) -> Result<bool> {
    let done = on_db!(db, pool => sqlx::query("UPDATE tenants SET active = $1 WHERE name = $2")
        .bind(active)
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// The webhook signing secret of the tenant with this id, if it still exists.
#[instrument(skip_all, err)]
pub async fn webhook_secret(db: &Db, tenant_id: Option<&str>) -> Result<Option<String>> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as("SELECT webhook_secret FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?);
    Ok(row.map(|r| r.0))
}

#[instrument(skip_all, err)]
pub async fn list(db: &Db) -> Result<Vec<Tenant>> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name");
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?))
}

/// Creates an API key for a tenant and returns `(key id, key)`. The key is returned only here.
#[instrument(skip_all, err)]
pub async fn create_key(db: &Db, tenant_id: &str) -> Result<(String, String)> {
    let key = random_secret("iksk_");
    let id = uuid::Uuid::new_v4().to_string();
    on_db!(db, pool => sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(&key[..13])
    .bind(hash_secret(&key))
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected());
    Ok((id, key))
}

#[instrument(skip_all, err)]
pub async fn list_keys(db: &Db) -> Result<Vec<KeyInfo>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT k.id, k.prefix, t.name AS tenant_name, k.created_at, k.revoked_at \
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY t.name, k.created_at",
    )
    .fetch_all(pool)
    .await?))
}

/// Revokes the key with this id (or unique id prefix of at least 8 characters). Returns how many
/// keys were revoked.
#[instrument(skip_all, err)]
pub async fn revoke_key(db: &Db, id: &str) -> Result<u64> {
    if id.len() < 8 {
        return Err(Error::Invalid(
            "give at least 8 characters of the key id".into(),
        ));
    }
    let matching: Vec<(String,)> = on_db!(db, pool => sqlx::query_as("SELECT id FROM api_keys WHERE id LIKE $1 || '%' AND revoked_at IS NULL")
            .bind(id)
            .fetch_all(pool)
            .await?);
    if matching.len() > 1 {
        return Err(Error::Invalid(format!(
            "{} keys start with {id}; give more of the id",
            matching.len()
        )));
    }
    let done = on_db!(db, pool => sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id LIKE $2 || '%' AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done)
}

/// Resolves a presented API key to its tenant.
#[instrument(skip_all, err)]
pub async fn authenticate(db: &Db, key: &str) -> Result<Principal> {
    #[derive(FromRow)]
    struct Row {
        key_id: String,
        revoked_at: Option<i64>,
        #[sqlx(flatten)]
        tenant: Tenant,
    }
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(
        "SELECT k.id AS key_id, k.revoked_at, t.id, t.name, t.webhook_secret, t.active, t.created_at \
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1",
    )
    .bind(hash_secret(key))
    .fetch_optional(pool)
    .await?);
    let row = row.ok_or(Error::UnknownKey)?;
    if row.revoked_at.is_some() {
        return Err(Error::UnknownKey);
    }
    if !row.tenant.active {
        return Err(Error::TenantDisabled);
    }
    Ok(Principal::Tenant {
        tenant: row.tenant,
        key_id: row.key_id,
    })
}
