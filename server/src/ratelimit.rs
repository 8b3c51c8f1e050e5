//! Fixed-window rate limits (one minute), per client address on the direct route and per API key
//! on keyed routes. Counters live in memory: a restart forgives, which is acceptable for abuse
//! control, and several replicas each enforce their own share.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    http::HeaderValue,
    response::{IntoResponseParts, ResponseParts},
};

use crate::error::Error;

const WINDOW_SECS: u64 = 60;
/// Past this many tracked clients, stale windows are dropped on the next check.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

/// The state of a caller's window, sent as `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset: u64,
}

impl RateLimiter {
    /// Counts one request for `key`; refuses it with `rate_limited` past `limit` per minute.
    pub fn check(&self, key: &str, limit: u32) -> Result<RateInfo, Error> {
        self.check_at(key, limit, now_secs())
    }

    /// Refuses with `rate_limited` when `key` has used up its `limit` this minute, without
    /// counting anything.
    pub fn ensure_open(&self, key: &str, limit: u32) -> Result<(), Error> {
        let now = now_secs();
        let window = now - now % WINDOW_SECS;
        let map = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match map.get(key) {
            Some((start, used)) if *start == window && *used >= limit => Err(Error::RateLimited {
                limit,
                retry_after: (window + WINDOW_SECS - now).max(1),
            }),
            _ => Ok(()),
        }
    }

    fn check_at(&self, key: &str, limit: u32, now: u64) -> Result<RateInfo, Error> {
        let window = now - now % WINDOW_SECS;
        let reset = (window + WINDOW_SECS - now).max(1);
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > PRUNE_AT {
            map.retain(|_, (start, _)| *start == window);
        }
        let entry = map.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return Err(Error::RateLimited {
                limit,
                retry_after: reset,
            });
        }
        entry.1 += 1;
        Ok(RateInfo {
            limit,
            remaining: limit - entry.1,
            reset,
        })
    }
}

/// Seconds since the Unix epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl IntoResponseParts for RateInfo {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let h = res.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_until_the_window_turns() {
        let rl = RateLimiter::default();
        let t = 60_020; // 20 s into a window
        assert_eq!(rl.check_at("a", 2, t).unwrap().remaining, 1);
        assert_eq!(rl.check_at("a", 2, t).unwrap().remaining, 0);
        match rl.check_at("a", 2, t) {
            Err(Error::RateLimited { retry_after, .. }) => assert_eq!(retry_after, 40),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        assert!(rl.check_at("b", 2, t).is_ok(), "keys are independent");
        assert!(rl.check_at("a", 2, t + 40).is_ok(), "a new window forgives");
    }
}
