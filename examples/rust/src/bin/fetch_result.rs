//! Fetch a session's result and, when the verdict is `pass`, its photo (reqwest).
//!
//! Usage: ILIVE_URL=... fetch_result SESSION_ID TOKEN [photo.jpg]
//!
//! Prints `status=…`; for a completed session also `verdict=…`, `confidence=…`, `reasons=…`
//! and one `photo=…` line: saved, pending (202, ask again after Retry-After) or unavailable
//! (404 `photo_not_available` unless the verdict is `pass`).

use serde_json::Value;
use std::{env, process::exit, time::Duration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(base) = env::var("ILIVE_URL") else {
        eprintln!("ILIVE_URL is not set");
        exit(2)
    };
    let base = base.trim_end_matches('/');
    let args: Vec<String> = env::args().skip(1).collect();
    let [session_id, token, ..] = args.as_slice() else {
        eprintln!("usage: fetch_result SESSION_ID TOKEN [photo.jpg]");
        exit(2)
    };
    let photo_path = args.get(2).map_or("photo.jpg", String::as_str);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    // `.query` URL-encodes the token.
    let get = |what: &str| {
        client
            .get(format!("{base}/api/v1/session/{session_id}/{what}"))
            .query(&[("token", token)])
            .send()
    };

    let resp = get("result").await?;
    let code = resp.status().as_u16();
    if code != 200 {
        eprintln!("result: error {code}: {}", resp.text().await?);
        exit(1);
    }
    let result: Value = resp.json().await?;
    let status = result["status"].as_str().unwrap_or("?");
    println!("status={status}");
    if status != "completed" {
        return Ok(()); // still running: ask again later (or wait for the webhook)
    }
    // `verdict` (pass | fail | retry) is the authoritative answer.
    println!("verdict={}", result["verdict"].as_str().unwrap_or("?"));
    println!("confidence={}", result["confidence"]);
    let reasons: Vec<&str> = result["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!("reasons={}", reasons.join(","));

    let resp = get("photo").await?;
    match resp.status().as_u16() {
        200 => {
            let jpeg = resp.bytes().await?;
            std::fs::write(photo_path, &jpeg)?;
            println!("photo=saved {photo_path} ({} bytes)", jpeg.len());
        }
        202 => {
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("1")
                .to_string();
            println!("photo=pending, retry after {after} s");
        }
        code => {
            let error: Value = resp.json().await.unwrap_or(Value::Null);
            let reason = error["detail"]["code"].as_str().unwrap_or("?");
            println!("photo=unavailable {code} {reason}");
        }
    }
    Ok(())
}
