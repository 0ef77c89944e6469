//! Secrets at rest (S4): provider API keys and integration tokens are sealed with
//! XChaCha20-Poly1305 under a key derived from the master key. The associated data binds
//! each sealed value to where it belongs (e.g. `provider:<workspace>:<id>`), so a sealed
//! key copied into another row does not open.

use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    pub fn new(master_key: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master_key).expect("any key length");
        mac.update(b"auralix secrets v1");
        let key = mac.finalize().into_bytes();
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `v1.<base64(nonce ‖ ciphertext)>`.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("encryption in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("v1.{}", STANDARD_NO_PAD.encode(out))
    }

    /// The plaintext, when the value is genuine and sealed for `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Option<String> {
        let bytes = STANDARD_NO_PAD.decode(sealed.strip_prefix("v1.")?).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_place() {
        let secrets = SecretBox::new(b"master");
        let sealed = secrets.seal("sk-live-123456", "provider:w1:p1");
        assert!(!sealed.contains("sk-live"));
        assert_eq!(
            secrets.open(&sealed, "provider:w1:p1").as_deref(),
            Some("sk-live-123456")
        );
        assert_eq!(
            secrets.open(&sealed, "provider:w2:p1"),
            None,
            "bound to its row"
        );
        assert_eq!(
            SecretBox::new(b"other").open(&sealed, "provider:w1:p1"),
            None
        );
        assert_ne!(
            sealed,
            secrets.seal("sk-live-123456", "provider:w1:p1"),
            "fresh nonce each time"
        );
    }
}
