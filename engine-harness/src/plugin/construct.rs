//! `Construct`: asking a provider to build a component resource (a remote component), whose
//! children it registers with the engine's resource monitor.

use super::{CallError, Plugin};
use crate::value;
use crate::value::PropertyMap;
use pulumirpc::{ConstructRequest, construct_request};
use std::collections::{BTreeMap, HashMap};

/// What a `Construct` call needs.
#[derive(Debug, Clone)]
pub struct ConstructArgs<'a> {
    /// The project name.
    pub project: &'a str,
    /// The stack name.
    pub stack: &'a str,
    /// The organization name.
    pub organization: &'a str,
    /// The component's type token.
    pub type_token: &'a str,
    /// The component's name.
    pub name: &'a str,
    /// Its parent URN.
    pub parent: &'a str,
    /// Its inputs.
    pub inputs: &'a PropertyMap,
    /// For each input, the URNs its value came from.
    pub input_dependencies: &'a BTreeMap<String, Vec<String>>,
    /// URNs the component depends on.
    pub dependencies: &'a [String],
    /// `protect`, when the program set it.
    pub protect: Option<bool>,
    /// Providers by package for its children (`<URN>::<id>`).
    pub providers: &'a BTreeMap<String, String>,
    /// Its earlier URNs.
    pub aliases: &'a [String],
    /// The provider's configuration (`<package>:<key>` to text), and the keys that are secret.
    pub config: (BTreeMap<String, String>, Vec<String>),
    /// True in a preview.
    pub dry_run: bool,
    /// How many operations the provider may run at once.
    pub parallel: i32,
    /// The resource monitor the provider registers the children with.
    pub monitor_endpoint: &'a str,
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

impl Plugin {
    /// `Construct`.
    pub async fn construct(&self, a: ConstructArgs<'_>) -> Result<Constructed, CallError> {
        let deps = |m: &BTreeMap<String, Vec<String>>| -> HashMap<String, construct_request::PropertyDependencies> {
            m.iter()
                .map(|(k, urns)| {
                    (
                        k.clone(),
                        construct_request::PropertyDependencies { urns: urns.clone() },
                    )
                })
                .collect()
        };
        let r = self
            .client
            .clone()
            .construct(ConstructRequest {
                project: a.project.into(),
                stack: a.stack.into(),
                organization: a.organization.into(),
                config: a.config.0.into_iter().collect(),
                config_secret_keys: a.config.1,
                dry_run: a.dry_run,
                parallel: a.parallel,
                monitor_endpoint: a.monitor_endpoint.into(),
                r#type: a.type_token.into(),
                name: a.name.into(),
                parent: a.parent.into(),
                inputs: Some(self.send(a.inputs)),
                input_dependencies: deps(a.input_dependencies),
                protect: a.protect,
                providers: a.providers.clone().into_iter().collect(),
                aliases: a
                    .aliases
                    .iter()
                    .map(|urn| pulumirpc::Alias {
                        alias: Some(pulumirpc::alias::Alias::Urn(urn.clone())),
                    })
                    .collect(),
                dependencies: a.dependencies.to_vec(),
                accepts_output_values: false,
                ..Default::default()
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        Ok(Constructed {
            urn: r.urn,
            state: self.receive(a.inputs, value::from_optional_struct(r.state.as_ref())),
            state_dependencies: r
                .state_dependencies
                .into_iter()
                .map(|(k, d)| (k, d.urns))
                .collect(),
        })
    }
}
