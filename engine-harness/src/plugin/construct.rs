//! `Construct` and `Call`: asking a provider to build a component resource (a remote
//! component), whose children it registers with the engine's resource monitor, and to run one of
//! a component's methods. Both are made as Pulumi's engine makes them
//! (`pkg/resource/plugin/provider_plugin.go`): the whole stack configuration in clear with the
//! keys that are secret, and, for a provider that accepts them, the inputs as output values so
//! that a secret or an unknown anywhere in them reaches the component as one.

use super::{CallError, Plugin};
use crate::monitor::ResourceOptions;
use crate::value;
use crate::value::PropertyMap;
use plugin_host::output_values;
use pulumirpc::{CallRequest, ConstructRequest, call_request, construct_request};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The run a `Construct` or `Call` belongs to.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    /// The project name.
    pub project: &'a str,
    /// The stack name.
    pub stack: &'a str,
    /// The organization name.
    pub organization: &'a str,
    /// The whole stack configuration (`<namespace>:<key>` to text, secrets in clear), and the
    /// keys that are secret.
    pub config: &'a (BTreeMap<String, String>, BTreeSet<String>),
    /// True in a preview.
    pub dry_run: bool,
    /// How many operations the provider may run at once.
    pub parallel: i32,
    /// The resource monitor the provider registers resources with.
    pub monitor_endpoint: &'a str,
}

/// What a `Construct` call needs.
#[derive(Debug, Clone)]
pub struct ConstructArgs<'a> {
    /// The run.
    pub run: RunInfo<'a>,
    /// The component's type token.
    pub type_token: &'a str,
    /// The component's name.
    pub name: &'a str,
    /// Its parent URN.
    pub parent: &'a str,
    /// Its inputs.
    pub inputs: &'a PropertyMap,
    /// Its resource options (dependencies, per-input dependencies, providers, aliases, ...).
    pub options: &'a ResourceOptions,
}

/// What `Construct` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Constructed {
    /// The component's URN.
    pub urn: String,
    /// Its outputs.
    pub state: PropertyMap,
    /// For each output, the URNs it depends on.
    pub state_dependencies: BTreeMap<String, Vec<String>>,
}

/// What a `Call` needs.
#[derive(Debug, Clone)]
pub struct CallArgs<'a> {
    /// The run.
    pub run: RunInfo<'a>,
    /// The method's token (`<package>:<module>:<Type>/<method>`).
    pub token: &'a str,
    /// Its arguments, `__self__` (a reference to the component) among them.
    pub args: &'a PropertyMap,
    /// For each argument, the URNs its value came from.
    pub arg_dependencies: &'a BTreeMap<String, Vec<String>>,
}

/// What `Call` answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Called {
    /// The method's result.
    pub value: PropertyMap,
    /// For each result property, the URNs it depends on.
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// Argument problems the provider reported: (property, reason).
    pub failures: Vec<(String, String)>,
}

impl Plugin {
    /// Inputs for `Construct` or `Call`: output values when the provider takes them.
    fn component_inputs(&self, m: &PropertyMap) -> pulumirpc::google::Struct {
        if self.accept_outputs {
            self.send(&output_values::upgrade_map(m))
        } else {
            self.send(m)
        }
    }

    /// `Construct`.
    pub async fn construct(&self, a: ConstructArgs<'_>) -> Result<Constructed, CallError> {
        let o = a.options;
        let input_dependencies: HashMap<String, construct_request::PropertyDependencies> = o
            .property_dependencies
            .iter()
            .map(|(k, urns)| {
                (
                    k.clone(),
                    construct_request::PropertyDependencies { urns: urns.clone() },
                )
            })
            .collect();
        let duration = |d: Option<std::time::Duration>| {
            d.map(|d| format!("{}s", d.as_secs_f64()))
                .unwrap_or_default()
        };
        let t = &o.custom_timeouts;
        let custom_timeouts = (t.create.is_some() || t.update.is_some() || t.delete.is_some())
            .then(|| construct_request::CustomTimeouts {
                create: duration(t.create),
                update: duration(t.update),
                delete: duration(t.delete),
                // The engine keeps no limit on Read (as the options a program gives it).
                read: String::new(),
            });
        let r = self
            .client
            .clone()
            .construct(ConstructRequest {
                project: a.run.project.into(),
                stack: a.run.stack.into(),
                organization: a.run.organization.into(),
                config: a.run.config.0.clone().into_iter().collect(),
                config_secret_keys: a.run.config.1.iter().cloned().collect(),
                dry_run: a.run.dry_run,
                parallel: a.run.parallel,
                monitor_endpoint: a.run.monitor_endpoint.into(),
                r#type: a.type_token.into(),
                name: a.name.into(),
                parent: a.parent.into(),
                inputs: Some(self.component_inputs(a.inputs)),
                input_dependencies,
                protect: o.protect,
                providers: o
                    .providers
                    .iter()
                    .map(|(pkg, p)| (pkg.clone(), format!("{}::{}", p.urn, p.id)))
                    .collect(),
                aliases: o
                    .aliases
                    .iter()
                    .map(|urn| pulumirpc::Alias {
                        alias: Some(pulumirpc::alias::Alias::Urn(urn.clone())),
                    })
                    .collect(),
                dependencies: o.dependencies.clone(),
                additional_secret_outputs: o.additional_secret_outputs.clone(),
                custom_timeouts,
                deleted_with: o.deleted_with.clone().unwrap_or_default(),
                delete_before_replace: o.delete_before_replace,
                ignore_changes: o.ignore_changes.clone(),
                replace_on_changes: o.replace_on_changes.clone(),
                retain_on_delete: o.retain_on_delete,
                accepts_output_values: true,
                ..Default::default()
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let (state, state_dependencies) = answer(
            r.state.as_ref(),
            r.state_dependencies.into_iter().map(|(k, d)| (k, d.urns)),
        );
        Ok(Constructed {
            urn: r.urn,
            state: self.receive(a.inputs, state),
            state_dependencies,
        })
    }

    /// `Call`: one of a component's methods.
    pub async fn call(&self, a: CallArgs<'_>) -> Result<Called, CallError> {
        let arg_dependencies = a
            .arg_dependencies
            .iter()
            .map(|(k, urns)| {
                (
                    k.clone(),
                    call_request::ArgumentDependencies { urns: urns.clone() },
                )
            })
            .collect();
        let r = self
            .client
            .clone()
            .call(CallRequest {
                tok: a.token.into(),
                args: Some(self.component_inputs(a.args)),
                arg_dependencies,
                project: a.run.project.into(),
                stack: a.run.stack.into(),
                organization: a.run.organization.into(),
                config: a.run.config.0.clone().into_iter().collect(),
                config_secret_keys: a.run.config.1.iter().cloned().collect(),
                dry_run: a.run.dry_run,
                parallel: a.run.parallel,
                monitor_endpoint: a.run.monitor_endpoint.into(),
                accepts_output_values: true,
                ..Default::default()
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let (value, dependencies) = answer(
            r.r#return.as_ref(),
            r.return_dependencies.into_iter().map(|(k, d)| (k, d.urns)),
        );
        Ok(Called {
            value,
            dependencies,
            failures: r
                .failures
                .into_iter()
                .map(|f| (f.property, f.reason))
                .collect(),
        })
    }
}

/// A provider's answer (`Construct`'s state, `Call`'s return) as values, with the dependencies it
/// names per property, extended with those its output values carried.
fn answer(
    value: Option<&pulumirpc::google::Struct>,
    dependencies: impl Iterator<Item = (String, Vec<String>)>,
) -> (PropertyMap, BTreeMap<String, Vec<String>>) {
    let mut dependencies: BTreeMap<String, Vec<String>> = dependencies.collect();
    let value =
        output_values::downgrade_map(&value::from_optional_struct(value), &mut dependencies);
    (value, dependencies)
}
