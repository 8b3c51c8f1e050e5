//! The part of the example worth copying exactly: the webhook signature check that
//! `webhook_receiver` runs on every delivery. It is a library function, apart from the HTTP
//! plumbing, so that it can be tested and fuzzed with any clock (`fuzz/`, `tests/`).
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, in seconds (replay protection).
pub const TOLERANCE_S: u64 = 300;

/// True if `signature` is `"sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>"))` and
/// `timestamp` (Unix seconds) is within [`TOLERANCE_S`] of `now`. The comparison is in constant
/// time; `body` is the raw bytes as received, never re-serialised JSON.
pub fn verify(secret: &[u8], timestamp: &str, signature: &str, body: &[u8], now: u64) -> bool {
    let Ok(ts) = timestamp.parse::<u64>() else {
        return false;
    };
    if now.abs_diff(ts) > TOLERANCE_S {
        return false; // too old (or from the future): a replay, or a badly wrong clock
    }
    let Some(Ok(given)) = signature.strip_prefix("sha256=").map(hex::decode) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok() // constant-time comparison
}

/// The fuzz target's body (`fuzz/fuzz_targets/webhook_signature.rs`) and the corpus test's.
#[doc(hidden)]
pub mod fuzzing {
    use sha2::{Digest, Sha256};

    use super::{verify, TOLERANCE_S};

    /// HMAC-SHA256 written out from RFC 2104 on the bare hash, independently of the `hmac`
    /// crate that [`verify`] uses, so that agreeing with it means something.
    fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.map(|b| b ^ byte);
        let mut inner = Sha256::new();
        inner.update(pad(0x36));
        for part in parts {
            inner.update(part);
        }
        let mut outer = Sha256::new();
        outer.update(pad(0x5c));
        outer.update(inner.finalize());
        outer.finalize().into()
    }

    /// The header iLive sends for `body` signed at `timestamp`.
    pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        let mac = hmac_sha256(secret, &[timestamp.as_bytes(), b".", body]);
        format!("sha256={}", hex::encode(mac))
    }

    /// The input is split at its first three newlines into the secret, the timestamp, the
    /// signature header and the body (the rest, newlines included). Whatever [`verify`]
    /// accepts is the true signature (hex in either case) of a timestamp within the tolerance;
    /// a true signature is accepted up to the tolerance and refused past it; and one flipped
    /// bit in the body, the signature or the secret, or a shortened signature, is refused.
    pub fn verifier(data: &[u8]) {
        let mut parts = data.splitn(4, |&b| b == b'\n');
        let mut next = || parts.next().unwrap_or_default();
        let (secret, timestamp, signature, body) = (next(), next(), next(), next());
        let timestamp = String::from_utf8_lossy(timestamp);
        let signature = String::from_utf8_lossy(signature);
        // Any parsable timestamp is "now" for the given one; otherwise a fixed recent second.
        let ts = timestamp.parse::<u64>().ok();
        let now = ts.unwrap_or(1_700_000_000);

        let truth = sign(secret, &timestamp, body);
        if verify(secret, &timestamp, &signature, body, now) {
            assert!(
                ts.is_some(),
                "accepted an unparsable timestamp {timestamp:?}"
            );
            assert!(
                signature.eq_ignore_ascii_case(&truth),
                "accepted {signature:?}, the signature is {truth}"
            );
        }

        let (timestamp, ts) = match ts {
            Some(ts) => (timestamp.into_owned(), ts),
            None => (now.to_string(), now),
        };
        let good = sign(secret, &timestamp, body);
        assert!(verify(secret, &timestamp, &good, body, ts));
        assert!(verify(
            secret,
            &timestamp,
            &good.to_uppercase().replacen("SHA256=", "sha256=", 1),
            body,
            ts
        ));
        assert!(verify(
            secret,
            &timestamp,
            &good,
            body,
            ts.saturating_add(TOLERANCE_S)
        ));
        if let Some(late) = ts.checked_add(TOLERANCE_S + 1) {
            assert!(!verify(secret, &timestamp, &good, body, late), "too late");
        }
        if let Some(early) = ts.checked_sub(TOLERANCE_S + 1) {
            assert!(!verify(secret, &timestamp, &good, body, early), "too early");
        }
        // Where to flip a bit: derived from the input, so the fuzzer explores every position.
        let at = data
            .iter()
            .fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(b.into()));
        if !body.is_empty() {
            let mut tampered = body.to_vec();
            tampered[at % body.len()] ^= 1 << (at % 8);
            assert!(
                !verify(secret, &timestamp, &good, &tampered, ts),
                "tampered body"
            );
        }
        let mut secret2 = secret.to_vec();
        match secret2.get_mut(at % secret.len().max(1)) {
            Some(b) => *b ^= 1 << (at % 8),
            None => secret2.push(b'x'),
        }
        // Keys that differ only by trailing zero bytes (up to 64) are the same HMAC key.
        if secret2
            .iter()
            .rev()
            .skip_while(|&&b| b == 0)
            .ne(secret.iter().rev().skip_while(|&&b| b == 0))
        {
            assert!(
                !verify(&secret2, &timestamp, &good, body, ts),
                "another secret"
            );
        }
        let hex = &good["sha256=".len()..];
        let i = at % hex.len();
        let flipped = if hex.as_bytes()[i] == b'0' { '1' } else { '0' };
        let wrong = format!("sha256={}{flipped}{}", &hex[..i], &hex[i + 1..]);
        assert!(
            !verify(secret, &timestamp, &wrong, body, ts),
            "a wrong digit"
        );
        assert!(
            !verify(secret, &timestamp, &good[..good.len() - 2], body, ts),
            "shortened"
        );
    }
}
