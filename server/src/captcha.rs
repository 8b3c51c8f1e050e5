//! CAPTCHA for direct sessions. The default is a self-hosted proof of work that needs no third
//! party: the server hands out a signed challenge, the client finds a nonce such that
//! SHA-256(`challenge:nonce`) starts with `difficulty` zero bits, and each challenge is redeemed
//! once. Turnstile and hCaptcha are verified against their providers when configured instead.
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tracing::instrument;

use app::api::CaptchaInfo;

use crate::{
    config::{CaptchaProvider, Config, Secret},
    error::{Error, Result},
    store::{self, Db},
};

/// How long a proof-of-work challenge stays redeemable.
const CHALLENGE_TTL_SECS: i64 = 600;

pub struct Captcha {
    provider: CaptchaProvider,
    difficulty: u32,
    /// Signs proof-of-work challenges; persisted in the database so restarts keep them valid.
    signing_key: Vec<u8>,
    secret: Option<Secret>,
    site_key: Option<String>,
    http: reqwest::Client,
}

impl Captcha {
    pub async fn new(config: &Config, db: &Db) -> anyhow::Result<Self> {
        if matches!(
            config.captcha,
            CaptchaProvider::Turnstile | CaptchaProvider::Hcaptcha
        ) && (config.captcha_secret.is_none() || config.captcha_site_key.is_none())
        {
            anyhow::bail!(
                "--captcha {} needs --captcha-secret and --captcha-site-key",
                config.captcha.as_str()
            );
        }
        let signing_key = store::secrets::persistent_key(db, "captcha_signing_key").await?;
        Ok(Captcha {
            provider: config.captcha,
            difficulty: config.pow_difficulty.min(32),
            signing_key,
            secret: config.captcha_secret.clone(),
            site_key: config.captcha_site_key.clone(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
        })
    }

    pub fn enabled(&self) -> bool {
        self.provider != CaptchaProvider::None
    }

    /// What a client needs to solve the CAPTCHA; for proof of work, a fresh challenge.
    pub fn info(&self) -> CaptchaInfo {
        let mut info = CaptchaInfo {
            provider: self.provider.as_str().to_owned(),
            challenge: None,
            difficulty: None,
            site_key: None,
        };
        match self.provider {
            CaptchaProvider::None => {}
            CaptchaProvider::Pow => {
                info.challenge = Some(self.issue(store::now()));
                info.difficulty = Some(self.difficulty);
            }
            CaptchaProvider::Turnstile | CaptchaProvider::Hcaptcha => {
                info.site_key = self.site_key.clone();
            }
        }
        info
    }

    fn mac(&self, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(payload.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn issue(&self, at: i64) -> String {
        let nonce: [u8; 12] = rand::random();
        let payload = format!("v1.{at}.{}.{}", hex::encode(nonce), self.difficulty);
        format!("{payload}.{}", self.mac(&payload))
    }

    /// Checks a solution; each proof-of-work challenge works once.
    #[instrument(skip_all, err)]
    pub async fn verify(&self, db: &Db, solution: Option<&str>, client_ip: &str) -> Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        let solution = solution
            .filter(|s| !s.trim().is_empty())
            .ok_or(Error::CaptchaRequired)?;
        match self.provider {
            CaptchaProvider::None => Ok(()),
            CaptchaProvider::Pow => self.verify_pow(db, solution, store::now()).await,
            CaptchaProvider::Turnstile => {
                self.verify_remote(
                    "https://challenges.cloudflare.com/turnstile/v0/siteverify",
                    solution,
                    client_ip,
                )
                .await
            }
            CaptchaProvider::Hcaptcha => {
                self.verify_remote("https://api.hcaptcha.com/siteverify", solution, client_ip)
                    .await
            }
        }
    }

    async fn verify_pow(&self, db: &Db, solution: &str, at: i64) -> Result<()> {
        let invalid = |why: &str| Error::CaptchaInvalid(why.to_owned());
        let (challenge, nonce) = solution
            .rsplit_once(':')
            .ok_or_else(|| invalid("expected \"<challenge>:<nonce>\""))?;
        let (payload, mac) = challenge
            .rsplit_once('.')
            .ok_or_else(|| invalid("malformed challenge"))?;
        let expected = self.mac(payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return Err(invalid("the challenge was not issued by this server"));
        }
        let parts: Vec<&str> = payload.split('.').collect();
        let (issued, difficulty) = match parts.as_slice() {
            ["v1", ts, _, d] => (
                ts.parse::<i64>()
                    .map_err(|_| invalid("malformed challenge"))?,
                d.parse::<u32>()
                    .map_err(|_| invalid("malformed challenge"))?,
            ),
            _ => return Err(invalid("malformed challenge")),
        };
        if at - issued > CHALLENGE_TTL_SECS || issued > at + 60 {
            return Err(invalid("the challenge has expired; fetch a new one"));
        }
        if nonce.len() > 64 || leading_zero_bits(&Sha256::digest(solution.as_bytes())) < difficulty
        {
            return Err(invalid("the proof of work does not meet the difficulty"));
        }
        if !store::secrets::spend_challenge(db, challenge, issued + CHALLENGE_TTL_SECS).await? {
            return Err(invalid("this challenge was already used"));
        }
        Ok(())
    }

    async fn verify_remote(&self, endpoint: &str, solution: &str, client_ip: &str) -> Result<()> {
        let secret = self.secret.as_ref().map(Secret::expose).unwrap_or_default();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("secret", secret)
            .append_pair("response", solution)
            .append_pair("remoteip", client_ip)
            .finish();
        let resp = self
            .http
            .post(endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| Error::Unavailable(format!("CAPTCHA provider unreachable: {e}")))?;
        #[derive(serde::Deserialize)]
        struct Verdict {
            success: bool,
        }
        let verdict: Verdict = resp
            .json()
            .await
            .map_err(|e| Error::Unavailable(format!("CAPTCHA provider answered oddly: {e}")))?;
        if verdict.success {
            Ok(())
        } else {
            Err(Error::CaptchaInvalid("rejected by the provider".into()))
        }
    }
}

/// Solves a proof-of-work challenge (used by tests and the CLI; browsers do the same in WASM).
pub fn solve_pow(challenge: &str, difficulty: u32) -> String {
    (0u64..)
        .map(|n| format!("{challenge}:{n}"))
        .find(|s| leading_zero_bits(&Sha256::digest(s.as_bytes())) >= difficulty)
        .unwrap_or_default()
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leading_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x0f, 0xff]), 20);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
    }

    #[test]
    fn solved_pow_meets_difficulty() {
        let s = solve_pow("v1.1.ab.8.cd", 8);
        assert!(leading_zero_bits(&Sha256::digest(s.as_bytes())) >= 8);
    }
}
