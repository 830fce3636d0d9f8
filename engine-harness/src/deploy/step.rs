//! Steps: what the step generator decides a resource needs ([`Step`], [`Kind`]) and how a step
//! ended ([`Op`], [`Status`], [`Report`]), as the executor shows and counts it.

use super::Ctx;
use crate::diff_view::StepInputs;
use crate::display::{DiffLine, Event, short_name};
use crate::plugin::Plugin;
use crate::state::Resource;
use crate::value::PropertyMap;
use std::sync::Arc;
use std::time::Instant;

/// The operation a step performs, as the display and the summary name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// Nothing changes.
    Same,
    /// A new resource.
    Create,
    /// A change in place.
    Update,
    /// A new copy replaces the old one.
    Replace,
    /// A resource leaves the stack.
    Delete,
    /// The old copy of a replaced resource is deleted.
    DeleteReplaced,
    /// A resource read with `get`.
    Read,
    /// `refresh` found the resource gone: it leaves the state.
    ReadDelete,
    /// `refresh` read a resource that changed.
    Refresh,
    /// An existing resource adopted (`import`, or a pending create imported).
    Import,
    /// A remote component built by its provider.
    Construct,
}

impl Op {
    /// The name the display, the JSON events and the summary's counts use.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Op::Same => "same",
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::DeleteReplaced => "delete-replaced",
            Op::Read => "read",
            Op::ReadDelete => "read-delete",
            Op::Refresh => "refresh",
            Op::Import => "import",
            Op::Construct => "construct",
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Done.
    Ok,
    /// Planned (preview).
    Planned,
    /// Done, but the resource failed to initialize.
    Partial,
    /// Failed.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Planned => "planned",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

/// How one step ended, for the display.
pub(super) struct Report<'a> {
    /// The operation.
    pub(super) op: Op,
    /// The resource's URN.
    pub(super) urn: &'a str,
    /// Its type token.
    pub(super) ty: &'a str,
    /// How it ended.
    pub(super) status: Status,
    /// When the step started.
    pub(super) t0: Instant,
    /// What changed.
    pub(super) diff: Vec<DiffLine>,
    /// Why it failed (or a note), when there is one.
    pub(super) message: Option<String>,
    /// The old and new inputs, for `--diff` (copied into the event only when the display
    /// shows full diffs).
    pub(super) inputs: Option<(Option<&'a PropertyMap>, Option<&'a PropertyMap>)>,
}

impl<'a> Report<'a> {
    /// A report without diff or message.
    pub(super) fn new(op: Op, urn: &'a str, ty: &'a str, status: Status, t0: Instant) -> Self {
        Report {
            op,
            urn,
            ty,
            status,
            t0,
            diff: vec![],
            message: None,
            inputs: None,
        }
    }

    /// With the inputs before and after the step, for `--diff` ([`Ctx::report`] drops them
    /// when the display does not show full diffs).
    pub(super) fn inputs(
        mut self,
        old: Option<&'a PropertyMap>,
        new: Option<&'a PropertyMap>,
    ) -> Self {
        self.inputs = Some((old, new));
        self
    }

    /// With what changed.
    pub(super) fn diff(mut self, diff: Vec<DiffLine>) -> Self {
        self.diff = diff;
        self
    }

    /// With a message.
    pub(super) fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

impl Ctx {
    /// `Ok`, or `Planned` in a preview.
    pub(super) fn done(&self) -> Status {
        if self.preview {
            Status::Planned
        } else {
            Status::Ok
        }
    }

    /// Shows how a step ended and counts it (a failed step is counted by [`Ctx::failed`]).
    pub(super) fn report(&self, r: Report<'_>) {
        if r.status != Status::Failed {
            self.count(r.op.as_str());
        }
        self.display.emit(Event::Step {
            op: r.op.as_str().into(),
            urn: r.urn.into(),
            name: short_name(r.urn).into(),
            type_token: r.ty.into(),
            status: r.status.as_str().into(),
            seconds: r.t0.elapsed().as_secs_f64(),
            diff: r.diff,
            message: r.message,
            inputs: r
                .inputs
                .filter(|_| self.display.shows_full_diff())
                .map(|(old, new)| {
                    Box::new(StepInputs {
                        old: old.cloned(),
                        new: new.cloned(),
                    })
                }),
        });
    }

    /// Shows a step that failed (or half-happened, `Partial`) and records its failure, as
    /// `name (type): message` plus `advice`, with the secrets the run knows masked. Returns that
    /// text (it reaches the program, so no secret in clear).
    pub(super) fn failed(&self, mut r: Report<'_>, msg: String, advice: &str) -> String {
        let full = self.display.redactor().mask(&format!(
            "{} ({}): {msg}{advice}",
            short_name(r.urn),
            r.ty
        ));
        if r.status != Status::Partial {
            r.status = Status::Failed;
        }
        r.message = Some(msg);
        self.report(r);
        self.fail(full.clone());
        full
    }

    /// Says a step started (a provider call that may take a while).
    pub(super) fn started(&self, op: Op, urn: &str) {
        self.display.emit(Event::StepStart {
            op: op.as_str().into(),
            urn: urn.into(),
        });
    }
}

/// What the step generator decided a registered custom resource needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// It is new.
    Create,
    /// Nothing changed.
    Same,
    /// It changes in place.
    Update,
    /// It is replaced; `delete_first`: the old one is deleted before the new one is created.
    Replace {
        /// Delete the old copy first.
        delete_first: bool,
    },
}

impl Kind {
    /// The operation the display shows for it.
    pub(super) fn op(self) -> Op {
        match self {
            Kind::Create => Op::Create,
            Kind::Same => Op::Same,
            Kind::Update => Op::Update,
            Kind::Replace { .. } => Op::Replace,
        }
    }
}

/// A step for a registered custom resource, as the generator plans it and the executor runs it.
pub(super) struct Step {
    /// What it does.
    pub(super) kind: Kind,
    /// The resource as the step records it (the executor fills in its id and outputs).
    pub(super) new: Resource,
    /// The resource as the state holds it, when it exists.
    pub(super) old: Option<Resource>,
    /// The alias the old resource was found under (its record is removed).
    pub(super) alias: Option<String>,
    /// The provider that performs it.
    pub(super) plugin: Arc<Plugin>,
    /// What changes, for the display.
    pub(super) diff: Vec<DiffLine>,
    /// When the step started (its registration arrived).
    pub(super) t0: Instant,
    /// For a delete-before-replace: the recorded resources that depend on the old copy and
    /// must go before it (`deploy/dependents.rs`), in dependency order.
    pub(super) dependents: Vec<Resource>,
}

impl Step {
    /// The display record of this step with `status`.
    pub(super) fn report(&self, status: Status) -> Report<'_> {
        Report::new(
            self.kind.op(),
            &self.new.urn,
            &self.new.type_token,
            status,
            self.t0,
        )
        .diff(self.diff.clone())
        .inputs(self.old.as_ref().map(|o| &o.inputs), Some(&self.new.inputs))
    }
}
