//! The master key that will protect per-workspace data keys and provider secrets.
//! When `AURALIX_MASTER_KEY` is unset a random key is generated into the data directory
//! on first start (fine for one machine; a warning says so).

use std::{io::Write, path::Path};

use rand::RngCore;

const KEY_FILE: &str = "master.key";

/// Returns the configured key, or loads/creates `<data dir>/master.key` (mode 0600).
pub fn master_key(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = configured {
        return Ok(key.as_bytes().to_vec());
    }
    let path = data_dir.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(hex::decode(text.trim())?);
    }
    tracing::warn!(path = %path.display(), "AURALIX_MASTER_KEY is not set; generated a master key in the data directory");
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)?
        .write_all(hex::encode(key).as_bytes())?;
    Ok(key.to_vec())
}
