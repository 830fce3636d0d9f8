//! `state delete` and `state unprotect`, as `pulumi state` does them: edits of the state
//! alone, written through the journal (crash-safe like a run); no provider is called, so a
//! deleted resource stays where it is, unknown to the stack.

use crate::stack_cmds::Location;
use engine_harness::Error;
use engine_harness::state::{Journal, Resource, Snapshot};
use std::collections::BTreeSet;

/// What a recorded resource refers to: dependencies, property dependencies, parent, provider.
fn refers_to(r: &Resource) -> BTreeSet<&str> {
    r.dependencies
        .iter()
        .chain(r.property_dependencies.values().flatten())
        .map(String::as_str)
        .chain((!r.parent.is_empty()).then_some(r.parent.as_str()))
        .chain(r.provider.rsplit_once("::").map(|(u, _)| u))
        .collect()
}

/// The resources that refer to `urn`, directly.
fn dependents<'a>(snap: &'a [Resource], urn: &str) -> Vec<&'a Resource> {
    snap.iter()
        .filter(|r| r.urn != urn && refers_to(r).contains(urn))
        .collect()
}

fn find<'a>(all: &'a [Resource], urn: &str, stack: &str) -> Result<&'a Resource, Error> {
    all.iter().find(|r| r.urn == urn && !r.delete).ok_or_else(|| {
        Error::Usage(format!(
            "no resource with URN `{urn}` in stack `{stack}`; `engine-harness stack export` lists the URNs"
        ))
    })
}

async fn edit(
    loc: &Location,
    f: impl FnOnce(&Snapshot, &[Resource]) -> Result<(Vec<Resource>, Vec<Resource>), Error>,
) -> Result<(), Error> {
    let _lock = loc.lock("state edit")?;
    let files = loc.state_files()?;
    if !files.checkpoint.exists() && !files.journal.exists() {
        return Err(Error::Usage(format!(
            "stack `{}` has no state; `engine-harness stack ls` lists the stacks",
            loc.stack
        )));
    }
    let (snap, _) = files.load()?;
    let all = snap.resources();
    let (put, remove) = f(&snap, &all)?;
    if !snap.pending().is_empty() {
        return Err(Error::PendingOperations(
            "the state has operations of an interrupted run pending; resolve them first (`engine-harness refresh --yes` says how)".into(),
        ));
    }
    if put.is_empty() && remove.is_empty() {
        return Ok(());
    }
    if snap.has_secrets() {
        files.secrets().unlock()?;
    }
    let journal = Journal::open(files, snap, false)?;
    journal
        .write(put, remove.iter().map(Resource::key).collect())
        .await?;
    journal.compact()?;
    Ok(())
}

/// `state delete URN [--force] [--target-dependents]`: drops a resource from the state. A
/// protected resource needs --force; one that others depend on needs --target-dependents
/// (which drops them too), as in Pulumi.
pub async fn delete(
    loc: &Location,
    urn: &str,
    force: bool,
    target_dependents: bool,
) -> Result<(), Error> {
    edit(loc, |_, all| {
        let root = find(all, urn, &loc.stack)?;
        if root.type_token == "pulumi:pulumi:Stack" {
            return Err(Error::Usage(
                "the stack resource cannot be deleted from the state; use `engine-harness stack rm`".into(),
            ));
        }
        let mut doomed: Vec<&Resource> = vec![root];
        let mut i = 0;
        while i < doomed.len() {
            let next = dependents(all, &doomed[i].urn);
            if !next.is_empty() && !target_dependents {
                let names: Vec<&str> = next.iter().map(|r| r.urn.as_str()).collect();
                return Err(Error::Usage(format!(
                    "cannot delete {} from the state: it is referenced by {}; delete those first, or pass --target-dependents to delete them all",
                    doomed[i].urn,
                    names.join(", ")
                )));
            }
            for r in next {
                if !doomed.iter().any(|d| d.urn == r.urn) {
                    doomed.push(r);
                }
            }
            i += 1;
        }
        let protected: Vec<&str> = doomed
            .iter()
            .filter(|r| r.protect)
            .map(|r| r.urn.as_str())
            .collect();
        if !protected.is_empty() && !force {
            return Err(Error::Usage(format!(
                "{} is protected; `engine-harness state unprotect URN` first, or pass --force",
                protected.join(", ")
            )));
        }
        for r in &doomed {
            eprintln!("deleted {} from the state (the resource itself is untouched)", r.urn);
        }
        Ok((vec![], doomed.into_iter().cloned().collect()))
    })
    .await
}

/// `state unprotect URN` or `state unprotect --all`.
pub async fn unprotect(loc: &Location, urn: Option<&str>, all_flag: bool) -> Result<(), Error> {
    edit(loc, |_, all| {
        let chosen: Vec<&Resource> = match (urn, all_flag) {
            (Some(_), true) | (None, false) => {
                return Err(Error::Usage("give either a URN or --all".into()));
            }
            (Some(u), false) => vec![find(all, u, &loc.stack)?],
            (None, true) => all.iter().filter(|r| r.protect).collect(),
        };
        let put: Vec<Resource> = chosen
            .into_iter()
            .filter(|r| r.protect)
            .map(|r| Resource {
                protect: false,
                ..r.clone()
            })
            .collect();
        for r in &put {
            eprintln!("unprotected {}", r.urn);
        }
        Ok((put, vec![]))
    })
    .await
}
