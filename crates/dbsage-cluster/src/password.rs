//! The superuser password of a local cluster: generated per cluster from the OS RNG, kept in a
//! 0600 file, and set as a SCRAM secret computed here, so the plain password never reaches the
//! server (or its log).

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

/// 128 random bits as 32 hex digits: nothing to escape in a URL, TOML or SQL literal.
pub(crate) fn generate() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Writes `password` to `path`, readable by dbsage's OS user only (created 0600, then renamed
/// over any older file).
pub(crate) fn save(path: &Path, password: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("partial");
    let _ = fs::remove_file(&partial);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(password.as_bytes())?;
    fs::rename(partial, path)
}

/// The password saved at `path`, if any.
pub(crate) fn load(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let password = text.trim();
    (!password.is_empty()).then(|| password.to_string())
}

/// `ALTER ROLE postgres PASSWORD '<SCRAM secret>'`.
pub(crate) fn alter_role_sql(password: &str) -> String {
    format!(
        "ALTER ROLE postgres PASSWORD '{}'",
        postgres_protocol::password::scram_sha_256(password.as_bytes())
    )
}
