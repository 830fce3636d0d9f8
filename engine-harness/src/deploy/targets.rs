//! `--target`, `--exclude` and `--replace`: which resources a run may touch, and which it
//! must replace. The step code asks [`Chosen::allows`] once per resource where it decides a
//! step; a resource not allowed keeps its recorded state (or, when new, is not created).
//!
//! Patterns are URNs, with Pulumi's wildcards: `*` matches within one `:`-separated part of
//! the URN, `**` matches anything.

use super::Ctx;
use super::execute::registered;
use super::generate::Planned;
use super::step::{Op, Report, Status};
use crate::monitor::Registration;
use crate::state::Resource;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

/// The resources a run is limited to or must replace (empty lists: no limit, no replacement).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Selection {
    /// `--target`: only these resources are created, updated, replaced or deleted.
    pub targets: Vec<String>,
    /// `--target-dependents`: what depends on a target is a target too.
    pub target_dependents: bool,
    /// `--exclude`: these resources are left as they are.
    pub excludes: Vec<String>,
    /// `--exclude-dependents`: what depends on an excluded resource is excluded too.
    pub exclude_dependents: bool,
    /// `--replace`: these resources are replaced even when their inputs have not changed.
    pub replaces: Vec<String>,
}

impl Selection {
    /// A selection limited to `targets`.
    pub fn targets(mut self, targets: Vec<String>, dependents: bool) -> Self {
        self.targets = targets;
        self.target_dependents = dependents;
        self
    }

    /// A selection leaving `excludes` alone.
    pub fn excludes(mut self, excludes: Vec<String>, dependents: bool) -> Self {
        self.excludes = excludes;
        self.exclude_dependents = dependents;
        self
    }

    /// A selection replacing `replaces`.
    pub fn replaces(mut self, replaces: Vec<String>) -> Self {
        self.replaces = replaces;
        self
    }

    /// Is the run limited at all?
    pub fn is_limited(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }
}

/// Does `urn` match `pattern` (`*` within one part of the URN, `**` across parts)?
pub fn urn_matches(pattern: &str, urn: &str) -> bool {
    glob(pattern.as_bytes(), urn.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        [b'*', rest @ ..] => {
            let segment = s.iter().position(|&c| c == b':').unwrap_or(s.len());
            (0..=segment).any(|i| glob(rest, &s[i..]))
        }
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

fn any_match(patterns: &[String], urn: &str) -> bool {
    patterns.iter().any(|p| urn_matches(p, urn))
}

/// A [`Selection`] applied during one run: remembers what it chose, so that dependents follow
/// their dependencies (which are decided first).
#[derive(Debug, Default)]
pub(super) struct Chosen {
    selection: Selection,
    /// Resources decided as targets (or all allowed ones when there are no targets).
    targeted: Mutex<HashSet<String>>,
    /// Resources decided as excluded.
    excluded: Mutex<HashSet<String>>,
    /// New resources not created because they were not targeted.
    skipped_creates: Mutex<HashSet<String>>,
    /// Every URN asked about.
    seen: Mutex<HashSet<String>>,
}

fn contains_any<'a>(set: &Mutex<HashSet<String>>, mut urns: impl Iterator<Item = &'a str>) -> bool {
    set.lock()
        .map(|s| urns.any(|u| s.contains(u)))
        .unwrap_or(false)
}

fn insert(set: &Mutex<HashSet<String>>, urn: &str) {
    if let Ok(mut s) = set.lock() {
        s.insert(urn.to_string());
    }
}

impl Chosen {
    pub(super) fn new(selection: Selection) -> Self {
        Chosen {
            selection,
            ..Default::default()
        }
    }

    /// May the run change `urn`, which depends on `deps` (dependencies, parent, provider)?
    pub(super) fn allows<'a>(
        &self,
        urn: &str,
        deps: impl Iterator<Item = &'a str> + Clone,
    ) -> bool {
        insert(&self.seen, urn);
        let s = &self.selection;
        if any_match(&s.excludes, urn)
            || (s.exclude_dependents && contains_any(&self.excluded, deps.clone()))
        {
            insert(&self.excluded, urn);
            return false;
        }
        if s.targets.is_empty()
            || any_match(&s.targets, urn)
            || (s.target_dependents && contains_any(&self.targeted, deps))
        {
            insert(&self.targeted, urn);
            return true;
        }
        false
    }

    /// Notes that the new resource `urn` was not created (not targeted).
    pub(super) fn skip_create(&self, urn: &str) {
        insert(&self.skipped_creates, urn);
    }

    /// The first of `deps` whose creation was skipped, if any.
    pub(super) fn skipped_dependency<'a>(
        &self,
        mut deps: impl Iterator<Item = &'a str>,
    ) -> Option<String> {
        let s = self.skipped_creates.lock().ok()?;
        deps.find(|d| s.contains(*d)).map(str::to_string)
    }

    /// Must `urn` be replaced (`--replace`)?
    pub(super) fn must_replace(&self, urn: &str) -> bool {
        insert(&self.seen, urn);
        any_match(&self.selection.replaces, urn)
    }

    /// The `--target`, `--exclude` and `--replace` URNs without wildcards that named no
    /// resource of the program or the state: each a likely typo.
    pub(super) fn unmatched_literals(&self) -> Vec<String> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let s = &self.selection;
        s.targets
            .iter()
            .chain(&s.excludes)
            .chain(&s.replaces)
            .filter(|p| !p.contains('*') && !seen.contains(p.as_str()))
            .cloned()
            .collect()
    }
}

/// What a registration depends on, as `--target-dependents` and `--exclude-dependents` follow
/// it: its dependencies, property dependencies, parent and explicit provider.
fn registration_deps(reg: &Registration) -> Vec<&str> {
    let o = &reg.options;
    o.dependencies
        .iter()
        .chain(o.property_dependencies.values().flatten())
        .map(String::as_str)
        .chain(reg.parent.as_deref())
        .chain(o.provider.as_ref().map(|p| p.urn.as_str()))
        .collect()
}

/// What a recorded resource depends on, as the dependents flags follow it.
pub(super) fn recorded_deps(r: &Resource) -> Vec<&str> {
    r.dependencies
        .iter()
        .chain(r.property_dependencies.values().flatten())
        .map(String::as_str)
        .chain((!r.parent.is_empty()).then_some(r.parent.as_str()))
        .chain(r.provider.rsplit_once("::").map(|(u, _)| u))
        .collect()
}

impl Ctx {
    /// The plan of a custom resource the run may not change (`--target`, `--exclude`): a
    /// recorded one stays as it is (`same`, no provider call); a new one is not created, and
    /// the program sees its inputs as its outputs, as Pulumi's skipped create does. `None`:
    /// the run may change it; a step is then refused only when it depends on a skipped create.
    pub(super) fn untargeted(
        &self,
        reg: &Registration,
        old: Option<&Resource>,
        t0: Instant,
    ) -> Option<Planned> {
        let deps = registration_deps(reg);
        if self.chosen.allows(&reg.urn, deps.iter().copied()) {
            let missing = self.chosen.skipped_dependency(deps.iter().copied())?;
            let msg = format!(
                "it depends on {missing}, which is not targeted and does not exist yet; add `--target {missing}`"
            );
            let op = if old.is_some() {
                Op::Update
            } else {
                Op::Create
            };
            let r = Report::new(op, &reg.urn, &reg.type_token, Status::Failed, t0);
            return Some(Planned::Failed(self.failed(r, msg, "")));
        }
        match old {
            Some(o) => {
                self.report(Report::new(
                    Op::Same,
                    &reg.urn,
                    &reg.type_token,
                    self.done(),
                    t0,
                ));
                Some(Planned::Kept(registered(
                    Some(o.id.clone()),
                    o.outputs.clone(),
                )))
            }
            None => {
                self.chosen.skip_create(&reg.urn);
                Some(Planned::Kept(registered(None, reg.inputs.clone())))
            }
        }
    }

    /// The recorded resources among `candidates` (in dependency order) that the run may
    /// change: all of them without `--target`/`--exclude`.
    pub(super) fn allowed_records(&self, candidates: Vec<Resource>) -> Vec<Resource> {
        if !self.chosen.selection.is_limited() {
            return candidates;
        }
        candidates
            .into_iter()
            .filter(|r| self.chosen.allows(&r.urn, recorded_deps(r).into_iter()))
            .collect()
    }

    /// Must `urn` be replaced although its inputs did not change (`--replace`)?
    pub(super) fn must_replace(&self, urn: &str) -> bool {
        self.chosen.must_replace(urn)
    }

    /// The resources of `all` that `destroy` may delete, and the recorded resources outside
    /// them that depend on one ([`Ctx::unlisted_dependents`]). Without a selection, all of them
    /// and none.
    pub(super) fn chosen_for_destroy(&self, all: Vec<Resource>) -> (Vec<Resource>, Vec<String>) {
        if !self.chosen.selection.is_limited() {
            return (all, Vec::new());
        }
        let doomed = self.allowed_records(all.clone());
        let unlisted = self.unlisted_dependents(&all, &doomed);
        (doomed, unlisted)
    }

    /// `destroy --target` without `--target-dependents`: the recorded resources of `all`
    /// outside `doomed` that depend on a doomed one (a dependency, parent, provider or
    /// `deletedWith`, transitively) and so would have to be destroyed too. Pulumi refuses such
    /// a destroy, naming each; empty when there are no targets or the flag is given.
    pub(super) fn unlisted_dependents(&self, all: &[Resource], doomed: &[Resource]) -> Vec<String> {
        let s = &self.chosen.selection;
        if s.targets.is_empty() || s.target_dependents {
            return Vec::new();
        }
        let mut gone: HashSet<&str> = doomed.iter().map(|r| r.urn.as_str()).collect();
        let mut unlisted = Vec::new();
        // Until nothing more is found: the state's order is not trusted to be dependency order.
        loop {
            let before = unlisted.len();
            for r in all {
                if gone.contains(r.urn.as_str()) {
                    continue;
                }
                let mut deps = recorded_deps(r);
                deps.push(r.deleted_with.as_str());
                if deps.iter().any(|d| gone.contains(d)) {
                    gone.insert(r.urn.as_str());
                    unlisted.push(r.urn.clone());
                }
            }
            if unlisted.len() == before {
                return unlisted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::urn_matches;

    #[test]
    fn star_stays_within_a_part_and_double_star_crosses_parts() {
        let urn = "urn:pulumi:dev::t::local:index:File::a";
        assert!(urn_matches(urn, urn));
        assert!(urn_matches("urn:pulumi:dev::t::local:index:File::*", urn));
        assert!(urn_matches("urn:pulumi:dev::t::*:*:File::a", urn));
        assert!(urn_matches("**::a", urn));
        assert!(urn_matches("**", urn));
        assert!(!urn_matches("urn:pulumi:dev::t::*::a", urn));
        assert!(!urn_matches("urn:pulumi:dev::t::local:index:File::b", urn));
        assert!(!urn_matches("urn:pulumi:dev::t::local:index:File::", urn));
    }
}
