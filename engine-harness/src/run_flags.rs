//! The flags `preview`, `up`, `refresh` and `destroy` share with `pulumi`'s: targeting,
//! replacement, refresh first, expected changes, secrets and the update message.

use clap::Args;
use engine_harness::Error;
use engine_harness::deploy::{Operation, Options, Selection};

/// Pulumi's flags of a run, spelled as `pulumi up` spells them.
#[derive(Args, Debug, Default, Clone)]
pub struct RunFlags {
    /// Change only this resource (a URN; `*` matches within a URN part, `**` across parts).
    /// Repeatable. Other resources keep their state; a new one that is not targeted is not created.
    #[arg(long, short = 't', value_name = "URN")]
    target: Vec<String>,
    /// With --target: also change the resources that depend on a target.
    #[arg(long)]
    target_dependents: bool,
    /// Leave this resource as it is (a URN or pattern, as for --target). Repeatable.
    #[arg(long, value_name = "URN")]
    exclude: Vec<String>,
    /// With --exclude: also leave the resources that depend on an excluded one.
    #[arg(long)]
    exclude_dependents: bool,
    /// `up`, `preview`: replace this resource even if nothing changed (a URN or pattern). Repeatable.
    #[arg(long, value_name = "URN")]
    replace: Vec<String>,
    /// `up`, `preview`: shorthand for --target URN --replace URN.
    #[arg(long, value_name = "URN")]
    target_replace: Vec<String>,
    /// `up`, `preview`, `destroy`: refresh the state from the providers first.
    #[arg(long, short = 'r')]
    refresh: bool,
    /// Fail (exit 8) if the run changes, or would change, any resource.
    #[arg(long)]
    expect_no_changes: bool,
    /// Show secret values in clear in human output: the stack outputs, and with --diff the
    /// properties (`--json` events stay masked, as Pulumi's do).
    #[arg(long)]
    show_secrets: bool,
    /// Show each step's full property diff: every input of a create or delete, every changed
    /// key and array element of an update or replace with its old and new value (human output).
    #[arg(long)]
    diff: bool,
    /// `up`: do not show a preview first (this engine never does: accepted for Pulumi's scripts).
    #[arg(long, short = 'f')]
    skip_preview: bool,
    /// A message for this update (recorded in `<state dir>/<stack>.history.jsonl`).
    #[arg(long, short = 'm')]
    message: Option<String>,
}

impl RunFlags {
    /// Sets up `display` for the flags that change what it shows (`--diff`).
    pub fn configure(&self, display: &engine_harness::display::Display) {
        if self.diff {
            display.show_full_diff();
        }
    }

    /// The update message, if one was given.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Applies the flags to `opts`; flags that make no sense for `op` are a usage error.
    pub fn apply(&self, op: Operation, opts: Options) -> Result<Options, Error> {
        let refuse = |flag: &str, ops: &str| {
            Err(Error::Usage(format!(
                "{flag} works with {ops} only, not `{}`",
                op_name(op)
            )))
        };
        let replacing = !self.replace.is_empty() || !self.target_replace.is_empty();
        if replacing && !matches!(op, Operation::Up | Operation::Preview) {
            return refuse("--replace", "`up` and `preview`");
        }
        if self.refresh && op == Operation::Refresh {
            return refuse("--refresh", "`up`, `preview` and `destroy`");
        }
        if self.skip_preview && op != Operation::Up && op != Operation::Destroy {
            return refuse("--skip-preview", "`up` and `destroy`");
        }
        if self.target_dependents && self.target.is_empty() && self.target_replace.is_empty() {
            return Err(Error::Usage(
                "--target-dependents needs at least one --target".into(),
            ));
        }
        if self.exclude_dependents && self.exclude.is_empty() {
            return Err(Error::Usage(
                "--exclude-dependents needs at least one --exclude".into(),
            ));
        }
        for urn in self
            .target
            .iter()
            .chain(&self.exclude)
            .chain(&self.replace)
            .chain(&self.target_replace)
        {
            if !urn.starts_with("urn:pulumi:") && !urn.starts_with('*') {
                return Err(Error::Usage(format!(
                    "`{urn}` is not a URN: write urn:pulumi:STACK::PROJECT::TYPE::NAME (or a pattern with * and **); `engine-harness stack export` lists the URNs"
                )));
            }
        }
        let targets: Vec<String> = self
            .target
            .iter()
            .chain(&self.target_replace)
            .cloned()
            .collect();
        let replaces: Vec<String> = self
            .replace
            .iter()
            .chain(&self.target_replace)
            .cloned()
            .collect();
        let selection = Selection::default()
            .targets(targets, self.target_dependents)
            .excludes(self.exclude.clone(), self.exclude_dependents)
            .replaces(replaces);
        // The refresh first of `destroy --refresh` is a refresh before the deletions.
        let opts = opts
            .selection(selection)
            .refresh_first(self.refresh)
            .expect_no_changes(self.expect_no_changes)
            .show_secrets(self.show_secrets);
        Ok(opts)
    }
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Preview => "preview",
        Operation::Up => "up",
        Operation::Refresh => "refresh",
        Operation::Destroy => "destroy",
        Operation::Import => "import",
    }
}
