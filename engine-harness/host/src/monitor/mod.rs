//! The resource monitor: the `pulumirpc.ResourceMonitor` and `pulumirpc.Engine` services a
//! program's language SDK talks to, turning each RPC into a typed engine-side request.
//!
//! | module | job |
//! |---|---|
//! | [`urn`] | URNs built and split as Pulumi does |
//! | [`request`] | the typed requests ([`Registration`], [`OutputsRegistration`], [`ReadRequest`], [`InvokeRequest`]) and answers |
//! | [`sink`] | the [`RegistrationSink`] trait: the engine that answers the requests |
//! | [`registry`] | which URNs exist (one [`Registry`] per run, shared with the engine): duplicates, unknown parents and providers are errors |
//! | `convert` | wire requests to typed ones and back; aliases; timeouts |
//! | `service` | the gRPC services on loopback ([`serve_with_sink`]) |
//! | `callbacks` | calls into the program's `Callbacks` service (transforms, hooks) |
//! | `transforms` | resource, stack and invoke transforms (inputs as output values), applied in one place before a request is converted; the provider a registration or invoke gets from its parent component |
//! | [`hooks`] | the resource hooks the program registered ([`hooks::ResourceHooks`]), for the engine's steps |
//!
//! # How Pulumi's SDKs talk to the engine (facts from Pulumi's sources)
//!
//! Python (`sdk/python/cmd/pulumi-language-python-exec`, `lib/pulumi/runtime/settings.py`,
//! `config.py`, `stack.py`): the language host runs `python -u <exec script> --monitor ADDR
//! --engine ADDR --project P --stack S --pwd DIR --dry_run true|false --parallel N PROGRAM`;
//! the script builds `pulumi.runtime.Settings(monitor, engine, project, stack, parallel,
//! dry_run)` (the SDK's `Settings` also takes `organization` and `root_directory`, which
//! engine-harness's runner passes), reads config from the environment (`PULUMI_CONFIG`,
//! a JSON object of `pkg:key` to string, and `PULUMI_CONFIG_SECRET_KEYS`, a JSON array of the
//! keys that are secret) via `set_all_config`, `chdir`s to `--pwd`, and runs the program with
//! `runpy.run_path` inside `run_in_stack`. An exception is logged through `Engine.Log` at
//! error severity and the script exits 1. The PyPI package does not ship the script (the CLI
//! does), so engine-harness's `language` module runs its own equivalent.
//!
//! Node.js (`sdk/nodejs/cmd/run/index.ts`, `run.ts`, `runtime/state.ts`): the language host runs
//! `node <program's node_modules/@pulumi/pulumi/cmd/run> --monitor ADDR --engine ADDR
//! --organization O --project P --root-directory DIR --stack S --pwd DIR [--dry-run]
//! --parallel N PROGRAM` (PROGRAM is `.` unless `main` names a file; with `.`, `main` or
//! `exports` of package.json is the entry point). The runner copies the flags into
//! `PULUMI_NODEJS_{ORGANIZATION,PROJECT,ROOT_DIRECTORY,STACK,DRY_RUN,PARALLEL,MONITOR,ENGINE}`
//! and reads `PULUMI_CONFIG` and `PULUMI_CONFIG_SECRET_KEYS` as Python does. TypeScript is run
//! through ts-node when `PULUMI_NODEJS_TYPESCRIPT=true` (the language host's default;
//! `PULUMI_NODEJS_TSCONFIG_PATH` and `PULUMI_NODEJS_TRANSPILE_ONLY` tune it).
//!
//! Features: the SDKs first try `GetDeploymentInfo` (newer Python) and, on `UNIMPLEMENTED`,
//! ask `SupportsFeature` for the ids `secrets`, `resourceReferences`, `outputValues`,
//! `deletedWith`, `replaceWith`, `aliasSpecs`, `transforms`, `invokeTransforms`,
//! `parameterization`, `resourceHooks` and `errorHooks`; this monitor answers from a declared
//! set ([`DEFAULT_FEATURES`]).
//!
//! Requests (`proto/pulumi/resource.proto`): the program first registers the root
//! `pulumi:pulumi:Stack` named `<project>-<stack>` and sets it with `Engine.SetRootResource`;
//! every other resource names a parent. `RegisterResource` carries type, name, parent, custom,
//! the inputs (`object`), dependencies and propertyDependencies, the provider reference
//! (`<provider URN>::<id>`), the options (protect, ignoreChanges, replaceOnChanges,
//! deleteBeforeReplace(+Defined), retainOnDelete, customTimeouts as Go durations,
//! additionalSecretOutputs, aliases as URNs or specs, importId) and acceptSecrets /
//! acceptResources, which say how the answer's `object` may encode values.
//! `RegisterResourceOutputs` carries a component's or the stack's outputs; `ReadResource` an id
//! to read; `Invoke` a function token, args and an optional provider. After the program ends the
//! SDKs call `SignalAndWaitForShutdown` (an `UNIMPLEMENTED` answer is tolerated).
//!
//! ```
//! # async fn demo() -> std::io::Result<()> {
//! use plugin_host::monitor::{
//!     InvokeRequest, InvokeResult, MonitorConfig, MonitorError, OutputsRegistration, ReadRequest,
//!     ReadResult, RegisteredResource, Registration, RegistrationSink, serve_with_sink,
//! };
//! use std::sync::Arc;
//!
//! struct Print;
//! #[tonic::async_trait]
//! impl RegistrationSink for Print {
//!     async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
//!         println!("registered {}", r.urn);
//!         Ok(RegisteredResource::default())
//!     }
//!     async fn register_outputs(&self, _: OutputsRegistration) -> Result<(), MonitorError> {
//!         Ok(())
//!     }
//!     async fn read(&self, r: ReadRequest) -> Result<ReadResult, MonitorError> {
//!         Err(MonitorError::Engine(format!("cannot read {}", r.urn)))
//!     }
//!     async fn invoke(&self, r: InvokeRequest) -> Result<InvokeResult, MonitorError> {
//!         Err(MonitorError::Engine(format!("cannot invoke {}", r.token)))
//!     }
//! }
//!
//! let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), Arc::new(Print)).await?;
//! println!("give the program --monitor {}", monitor.address());
//! # Ok(()) }
//! ```

mod callbacks;
mod convert;
mod error;
pub mod hooks;
pub mod registry;
pub mod request;
mod service;
pub mod sink;
mod transforms;
pub mod urn;

pub use convert::RESOURCE_REF_SIG;
pub use error::MonitorError;
pub use registry::Registry;
pub use request::*;
pub use service::{DEFAULT_FEATURES, MonitorConfig, RunningMonitor, serve_with_sink};
pub use sink::RegistrationSink;
