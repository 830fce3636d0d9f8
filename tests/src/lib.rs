//! End-to-end tests of this workspace; the tests themselves live in `tests/tests/testsuite/`.
//!
//! This crate holds no code: its integration tests launch real plugin processes (the example
//! provider, the fixture plugins in `fixture-plugins/`, a provider written with Pulumi's Python
//! SDK) and drive them over real gRPC, through the conformance kit (`provider-conformance`,
//! under `engine-harness/conformance/`), or directly. Inputs for the kit are in `fixtures/`.
