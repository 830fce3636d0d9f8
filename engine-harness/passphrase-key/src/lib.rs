//! The key derivation of Pulumi's passphrase secrets provider: PBKDF2-HMAC-SHA256.
//!
//! A crate of its own for the build's sake. Pulumi derives a stack's key with 1,000,000 rounds,
//! and the engine derives it on every command that opens a passphrase stack, so the tests run
//! it hundreds of times. Generic code is compiled in the crate that instantiates it, with that
//! crate's settings: instantiated in the engine, the derivation ran at the engine's debug
//! settings, about three times slower than here, where the workspace's `Cargo.toml` compiles
//! it optimized in every profile (BENCHMARKS.md, "Test suite time").

/// Derives a 32-byte key from `passphrase` and `salt` with `rounds` rounds of
/// PBKDF2-HMAC-SHA256.
///
/// ```
/// // A published PBKDF2-HMAC-SHA256 test vector.
/// let key = passphrase_key::derive(b"password", b"salt", 1);
/// let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
/// assert_eq!(hex, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
/// ```
pub fn derive(passphrase: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, salt, rounds, &mut key);
    key
}
