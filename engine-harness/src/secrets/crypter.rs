//! The cipher of Pulumi's passphrase secrets provider, bit-compatible with the pulumi CLI.
//!
//! Facts (from Pulumi's `sdk/go/common/resource/config/crypt.go` and
//! `pkg/secrets/passphrase/manager.go`):
//! - the key is PBKDF2-HMAC-SHA256 of the passphrase and the salt, 1,000,000 iterations,
//!   32 bytes;
//! - a value is AES-256-GCM with a random 12-byte nonce and no associated data, written
//!   `v1:<base64 nonce>:<base64 ciphertext and tag>` (standard base64 with padding);
//! - the salt state (`encryptionsalt` in `Pulumi.<stack>.yaml`, `secrets_providers.state.salt` in a
//!   deployment) is `v1:<base64 of 8 random salt bytes>:<the value "pulumi" encrypted>`, so that a
//!   wrong passphrase is caught before anything is decrypted.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;

/// PBKDF2 iterations, as Pulumi.
const ITERATIONS: u32 = 1_000_000;
/// Bytes of a fresh salt, as Pulumi.
const SALT_BYTES: usize = 8;
/// Bytes of an AES-GCM nonce.
const NONCE_BYTES: usize = 12;
/// What the salt state's check value decrypts to with the right passphrase.
const CHECK_PLAINTEXT: &str = "pulumi";

/// Why a value or salt state could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CryptError {
    /// Not in the `v1:<nonce>:<ciphertext>` (or salt state) shape; says what is wrong.
    Malformed(String),
    /// Authentication failed: another key (a wrong passphrase) or a damaged value.
    Mismatch,
}

impl std::fmt::Display for CryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptError::Malformed(m) => write!(f, "malformed encrypted value: {m}"),
            CryptError::Mismatch => write!(
                f,
                "the value does not decrypt with this key (wrong passphrase or damaged value)"
            ),
        }
    }
}

/// An AES-256-GCM cipher keyed from a passphrase and a salt.
pub(crate) struct Crypter {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Crypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show key material.
        f.write_str("Crypter { .. }")
    }
}

impl Crypter {
    /// Derives the key from `passphrase` and the raw `salt` bytes (slow on purpose: ~1M rounds).
    pub(crate) fn derive(passphrase: &str, salt: &[u8]) -> Self {
        let mut key = passphrase_key::derive(passphrase.as_bytes(), salt, ITERATIONS);
        let cipher = Aes256Gcm::new_from_slice(&key).expect("a 32-byte key fits AES-256");
        key.fill(0);
        Crypter { cipher }
    }

    /// Encrypts `plaintext` with a fresh random nonce: `v1:<nonce>:<ciphertext>`.
    pub(crate) fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        self.encrypt_with_nonce(plaintext, nonce)
    }

    /// Encrypts with a given nonce (known-answer tests only need this to be deterministic).
    pub(crate) fn encrypt_with_nonce(&self, plaintext: &str, nonce: [u8; NONCE_BYTES]) -> String {
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        format!("v1:{}:{}", B64.encode(nonce), B64.encode(sealed))
    }

    /// Decrypts a `v1:<nonce>:<ciphertext>` value.
    pub(crate) fn decrypt(&self, value: &str) -> Result<String, CryptError> {
        let parts: Vec<&str> = value.split(':').collect();
        let [version, nonce, sealed] = parts.as_slice() else {
            return Err(CryptError::Malformed(format!(
                "expected `v1:<nonce>:<ciphertext>`, found {} part(s)",
                parts.len()
            )));
        };
        if *version != "v1" {
            return Err(CryptError::Malformed(format!(
                "unknown version `{version}` (only v1)"
            )));
        }
        let nonce = B64
            .decode(nonce)
            .map_err(|e| CryptError::Malformed(format!("nonce is not base64: {e}")))?;
        if nonce.len() != NONCE_BYTES {
            return Err(CryptError::Malformed(format!(
                "nonce has {} bytes, not {NONCE_BYTES}",
                nonce.len()
            )));
        }
        let sealed = B64
            .decode(sealed)
            .map_err(|e| CryptError::Malformed(format!("ciphertext is not base64: {e}")))?;
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&nonce), sealed.as_slice())
            .map_err(|_| CryptError::Mismatch)?;
        String::from_utf8(plain)
            .map_err(|_| CryptError::Malformed("the plaintext is not UTF-8".into()))
    }

    /// Opens a salt state (`v1:<salt>:<check value>`) with `passphrase`: derives the key and
    /// checks it against the check value. [`CryptError::Mismatch`] means a wrong passphrase.
    pub(crate) fn unlock(passphrase: &str, salt_state: &str) -> Result<Self, CryptError> {
        let (salt, check) = parse_salt_state(salt_state)?;
        let crypter = Crypter::derive(passphrase, &salt);
        match crypter.decrypt(check) {
            Ok(text) if text == CHECK_PLAINTEXT => Ok(crypter),
            Ok(_) | Err(CryptError::Mismatch) => Err(CryptError::Mismatch),
            Err(e) => Err(e),
        }
    }

    /// A fresh random salt for `passphrase`: the new salt state and its crypter.
    pub(crate) fn create(passphrase: &str) -> (String, Self) {
        let mut salt = [0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let crypter = Crypter::derive(passphrase, &salt);
        let state = format!(
            "v1:{}:{}",
            B64.encode(salt),
            crypter.encrypt(CHECK_PLAINTEXT)
        );
        (state, crypter)
    }
}

/// Splits a salt state into the salt bytes and the check value.
fn parse_salt_state(state: &str) -> Result<(Vec<u8>, &str), CryptError> {
    let mut parts = state.splitn(3, ':');
    let (Some("v1"), Some(salt), Some(check)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CryptError::Malformed(
            "a salt state is `v1:<base64 salt>:v1:<nonce>:<ciphertext>`".into(),
        ));
    };
    let salt = B64
        .decode(salt)
        .map_err(|e| CryptError::Malformed(format!("salt is not base64: {e}")))?;
    Ok((salt, check))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From Pulumi's own `pkg/secrets/passphrase/manager_test.go`: this state opens with the
    /// passphrase `password` and not with `password123`.
    const PULUMI_TEST_STATE: &str =
        "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==";

    #[test]
    fn pulumi_test_salt_state_opens_with_its_passphrase_only() {
        assert!(Crypter::unlock("password", PULUMI_TEST_STATE).is_ok());
        assert_eq!(
            Crypter::unlock("password123", PULUMI_TEST_STATE).unwrap_err(),
            CryptError::Mismatch
        );
        // Pulumi's "broken state" (no version tag) is malformed, not a wrong passphrase.
        assert!(matches!(
            Crypter::unlock(
                "password",
                "fozI5u6B030=:v1:F+6ZduL:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
            ),
            Err(CryptError::Malformed(_))
        ));
    }

    #[test]
    fn a_value_written_by_the_pulumi_cli_decrypts() {
        // A stack file written by the pulumi CLI (passphrase `foo`), from the tests of
        // github.com/mheers/pulumi-helper (stack/crypt_test.go).
        let c = Crypter::unlock(
            "foo",
            "v1:LAQ7P6sT/+w=:v1:WejwuMb5G4TZsR/r:xZvrv45hbT2QRrHCkQrepVv3xQfMjw==",
        )
        .unwrap();
        assert_eq!(
            c.decrypt("v1:6rgJQkU0YY5NFozT:HN1XFZSfr2YW1Pi1QtMfUJjad4w=")
                .unwrap(),
            "test"
        );
    }

    /// Ciphertexts made by an independent implementation, the PyPI package `pulumi-crypto`
    /// 1.1.0 (`PassphraseCipher("password", salt_state=PULUMI_TEST_STATE).encrypt(text,
    /// nonce=bytes(range(12)))`): ours must match byte for byte and decrypt them.
    #[test]
    fn matches_an_independent_implementation_byte_for_byte() {
        let c = Crypter::unlock("password", PULUMI_TEST_STATE).unwrap();
        let nonce: [u8; 12] = std::array::from_fn(|i| i as u8);
        let cases = [
            (
                "\"s3cr3t-token\"",
                "v1:AAECAwQFBgcICQoL:NbCSFoWAYNQIifKTWYjOtl2vuNBdp/PnwHFlb4lT",
            ),
            (
                "{\"user\":\"admin\",\"pw\":\"hunter2\"}",
                "v1:AAECAwQFBgcICQoL:bOHUBpLBNsNeh/2bXsSb0oB3oo+FPtP7Ivn4eBmHlm6SKoqQ1g0/g4zmf5eDsVs=",
            ),
            (
                "hunter2",
                "v1:AAECAwQFBgcICQoL:f7bPAZLBJje5vjnq4ZjgF4mAxD3wYtU=",
            ),
        ];
        for (plain, sealed) in cases {
            assert_eq!(c.encrypt_with_nonce(plain, nonce), sealed);
            assert_eq!(c.decrypt(sealed).unwrap(), plain);
        }
        // The same package's salt state for the empty passphrase and salt 00..07.
        let empty = Crypter::unlock(
            "",
            "v1:AAECAwQFBgc=:v1:PYOdSHPeEbHOZLLH:7aCcjkHe2YhyRUnp3kRYosmjZZ1ahA==",
        );
        assert!(empty.is_ok(), "an empty passphrase is allowed");
    }

    #[test]
    fn fresh_salts_round_trip_and_nonces_differ() {
        let (state, c) = Crypter::create("correct horse");
        assert!(state.starts_with("v1:"));
        let again = Crypter::unlock("correct horse", &state).unwrap();
        let a = c.encrypt("x");
        assert_ne!(a, c.encrypt("x"), "each value gets a fresh nonce");
        assert_eq!(again.decrypt(&a).unwrap(), "x");
        assert_eq!(
            Crypter::unlock("wrong", &state).unwrap_err(),
            CryptError::Mismatch
        );
        assert!(matches!(c.decrypt("v2:a:b"), Err(CryptError::Malformed(_))));
        assert!(matches!(c.decrypt("plain"), Err(CryptError::Malformed(_))));
    }
}
