//! Visitor tokens: `vt1.<visitor id>.<expiry unix>.<HMAC-SHA256>`, bound to one agent.
//!
//! Stateless on purpose: verifying one costs a hash, not a database round trip, and
//! needs no cookie. The key is derived from the master key, so rotating the master key
//! signs every visitor out.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

type HmacSha256 = Hmac<Sha256>;

pub const VISITOR_TOKEN_LIFETIME: Duration = Duration::days(30);

#[derive(Clone)]
pub struct VisitorTokens {
    key: Vec<u8>,
}

impl VisitorTokens {
    pub fn new(master_key: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(master_key).expect("any key length");
        mac.update(b"auralix visitor tokens v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, agent_public_id: &str, visitor_id: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("{agent_public_id}\n{visitor_id}\n{expires}").as_bytes());
        mac
    }

    pub fn sign(&self, agent_public_id: &str, visitor_id: &str, now: OffsetDateTime) -> String {
        let expires = (now + VISITOR_TOKEN_LIFETIME).unix_timestamp();
        let tag = self
            .mac(agent_public_id, visitor_id, expires)
            .finalize()
            .into_bytes();
        format!("vt1.{visitor_id}.{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The visitor id when the token is genuine, unexpired and for this agent.
    pub fn verify(
        &self,
        token: &str,
        agent_public_id: &str,
        now: OffsetDateTime,
    ) -> Option<String> {
        let mut parts = token.split('.');
        let (Some("vt1"), Some(visitor_id), Some(expires), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let expires: i64 = expires.parse().ok()?;
        if expires <= now.unix_timestamp() {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(agent_public_id, visitor_id, expires)
            .verify_slice(&tag)
            .ok()?;
        Some(visitor_id.to_owned())
    }
}

/// A visitor id we would have issued: `vis_` + 26 id characters.
pub fn is_visitor_id(raw: &str) -> bool {
    raw.len() == 30
        && raw.starts_with("vis_")
        && raw[4..].chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_agent_and_until_expiry() {
        let tokens = VisitorTokens::new(b"master");
        let now = OffsetDateTime::now_utc();
        let t = tokens.sign("ax_a", "vis_1", now);
        assert_eq!(tokens.verify(&t, "ax_a", now).as_deref(), Some("vis_1"));
        assert_eq!(tokens.verify(&t, "ax_b", now), None);
        assert_eq!(tokens.verify(&t, "ax_a", now + Duration::days(31)), None);
        assert_eq!(VisitorTokens::new(b"other").verify(&t, "ax_a", now), None);
        let forged = t.replace("vis_1", "vis_2");
        assert_eq!(tokens.verify(&forged, "ax_a", now), None);
        assert_eq!(tokens.verify("garbage", "ax_a", now), None);
    }
}
