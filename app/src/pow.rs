//! The self-hosted proof-of-work CAPTCHA, solved in the browser: find a nonce such that
//! SHA-256(`challenge:nonce`) starts with `difficulty` zero bits. Plain Rust, so it is tested
//! natively and runs in WASM in slices that keep the page responsive.
use sha2::{Digest, Sha256};

/// Leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Tries nonces `start..start + count`; returns the first that meets `difficulty`.
pub fn search(challenge: &str, difficulty: u32, start: u64, count: u64) -> Option<u64> {
    let mut prefix = Sha256::new();
    prefix.update(challenge.as_bytes());
    prefix.update(b":");
    let mut buf = itoa_buf();
    (start..start.saturating_add(count)).find(|nonce| {
        let digits = write_decimal(&mut buf, *nonce);
        let digest = prefix.clone().chain_update(digits).finalize();
        leading_zero_bits(&digest) >= difficulty
    })
}

/// The solution string the API expects.
pub fn solution(challenge: &str, nonce: u64) -> String {
    format!("{challenge}:{nonce}")
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Writes `n` in decimal into the end of `buf` without allocating; returns the digits.
fn write_decimal(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leading_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x1f, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn found_nonce_meets_the_difficulty() {
        let challenge = "v1.1700000000.abcd.12.mac";
        let nonce = search(challenge, 12, 0, 1 << 20).expect("a 12-bit nonce exists");
        let digest = Sha256::digest(solution(challenge, nonce).as_bytes());
        assert!(leading_zero_bits(&digest) >= 12);
        // It is the first: every smaller nonce fails.
        assert_eq!(search(challenge, 12, 0, nonce), None);
    }
}
