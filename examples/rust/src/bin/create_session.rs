//! Create a managed iLive liveness session (reqwest).
//!
//! Environment:
//!   ILIVE_URL       base URL of your iLive server, e.g. https://liveness.example.com
//!   ILIVE_API_KEY   your tenant API key (iksk_...)
//!   REDIRECT_URL    where the user's browser goes when the check is done (https)
//!   WEBHOOK_URL     optional: where iLive POSTs the signed verdict
//!   REFERENCE_ID    optional: your own id for the user or the check (≤ 128 characters)
//!   MODE            optional: `active` (default) or `passive`
//!
//! Prints session_id, token and session_url, one `key=value` per line. Send the user to
//! session_url; keep session_id and token on your backend (never give the token to the browser).

use serde_json::{json, Value};
use std::{env, process::exit, time::Duration};

/// A required environment variable, or exit with a message naming it.
fn required(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} is not set");
        exit(2)
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = required("ILIVE_URL").trim_end_matches('/').to_string();
    let api_key = required("ILIVE_API_KEY");

    let mut body = json!({
        "redirect_url": required("REDIRECT_URL"),
        "mode": env::var("MODE").unwrap_or_else(|_| "active".into()),
    });
    for (var, field) in [
        ("WEBHOOK_URL", "webhook_url"),
        ("REFERENCE_ID", "reference_id"),
    ] {
        if let Ok(value) = env::var(var) {
            if !value.is_empty() {
                body[field] = value.into();
            }
        }
    }

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let resp = client
        .post(format!("{base}/api/v1/managed-session"))
        .bearer_auth(api_key)
        .json(&body)
        .send()
        .await?;

    let status = resp.status();
    // Errors are {"detail":{"code":"…","message":"…"}}: match on `code`.
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let detail = &answer["detail"];
        eprintln!(
            "error {}: {}: {}",
            status.as_u16(),
            detail["code"].as_str().unwrap_or("?"),
            detail["message"].as_str().unwrap_or("?"),
        );
        exit(1);
    }
    for key in ["session_id", "token", "session_url"] {
        let value = answer[key]
            .as_str()
            .ok_or_else(|| format!("response has no {key}"))?;
        println!("{key}={value}");
    }
    Ok(())
}
