//! Identifiers and secrets.
//!
//! Record ids are `prefix_` + 10 base32 characters of milliseconds + 16 random base32
//! characters (80 bits). They sort by creation time, which makes keyset pagination a plain
//! `id > cursor`, while the random tail keeps them unguessable. Public ids and tokens are
//! pure randomness.

use rand::{Rng, RngCore};

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An opaque record id such as `agt_01jd…`.
pub type Id = String;

/// The last (milliseconds, random tail) handed out, so ids made within one millisecond
/// still sort in the order they were made (as in monotonic ULIDs): a reply never sorts
/// before the message it answers.
static LAST: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));

/// A new time-ordered id with the given prefix (`usr`, `wsp`, `agt`, …).
pub fn new_id(prefix: &str) -> Id {
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let now = u64::try_from(now).unwrap_or(0);
    let (millis, tail) = {
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // 79 random bits leave room to increment without overflowing 80.
        let fresh = rand::rng().random::<u128>() & ((1u128 << 79) - 1);
        *last = if now > last.0 {
            (now, fresh)
        } else {
            (last.0, last.1 + 1)
        };
        *last
    };
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..10).rev() {
        out.push(CROCKFORD[((millis >> (i * 5)) & 31) as usize] as char);
    }
    for i in (0..16).rev() {
        out.push(CROCKFORD[((tail >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// The id an agent is embedded with: 22 base62 characters (~131 bits), not guessable.
pub fn new_public_id() -> String {
    let mut rng = rand::rng();
    let tail: String = (0..22)
        .map(|_| BASE62[rng.random_range(0..62)] as char)
        .collect();
    format!("ax_{tail}")
}

/// A bearer secret: prefix + 43 characters of base64url over 32 random bytes.
pub fn new_secret_token(prefix: &str) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_one_millisecond_still_sort_in_order() {
        let ids: Vec<Id> = (0..1000).map(|_| new_id("msg")).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn ids_sort_by_creation_and_differ() {
        let a = new_id("agt");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id("agt");
        assert!(a < b, "{a} should sort before {b}");
        assert_eq!(a.len(), 4 + 26);
        assert!(a.starts_with("agt_"));
    }

    #[test]
    fn tokens_are_long_and_url_safe() {
        let t = new_secret_token("axt_");
        assert_eq!(t.len(), 4 + 43);
        assert!(
            t[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(t, new_secret_token("axt_"));
        assert_eq!(new_public_id().len(), 25);
    }
}
