//! Outputs a provider marks secret on its own, in a run without a passphrase.
//!
//! A stack with no secrets needs no passphrase, and a run learns that a provider marks an
//! output secret only from the provider's answer, after the resource exists. Secrets are never
//! stored in clear, and without the passphrase they cannot be encrypted; but the resource must
//! still be recorded, or a real resource would be unknown to the state. So its record keeps
//! everything else (id, inputs, the other outputs), the secret outputs are left out, and an
//! initialization error says which, so that the next `up` updates it again; the run fails
//! telling the operator to set the passphrase and run `refresh` to record them.

use super::Ctx;
use crate::secrets::{PASSPHRASE_FILE_VAR, PASSPHRASE_VAR};
use crate::value::{self, PropertyMap};

/// Takes the secret outputs out of `outputs` when the stack cannot encrypt them (no
/// passphrase); returns the message to record as the resource's initialization error and to
/// fail the step with, or `None` when every output can be stored.
pub(super) fn withhold_unsealable(ctx: &Ctx, outputs: &mut PropertyMap) -> Option<String> {
    if ctx.preview || !outputs.values().any(value::contains_secret) {
        return None;
    }
    // Cheap: a passphrase given was checked when the run began, so this either finds the
    // key derived already or fails at once for want of a passphrase.
    if ctx.secrets.unlock().is_ok() {
        return None;
    }
    let withheld: Vec<String> = outputs
        .iter()
        .filter(|(_, v)| value::contains_secret(v))
        .map(|(k, _)| k.clone())
        .collect();
    for k in &withheld {
        outputs.remove(k);
    }
    Some(format!(
        "the provider marked output(s) {} secret, and no passphrase is set to encrypt them, so their values were not stored (the resource is recorded without them). Set {PASSPHRASE_VAR} or {PASSPHRASE_FILE_VAR}, then run `refresh` to read them back, or `up` to update it again",
        withheld
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
