//! End-to-end test support and the provider conformance kit.
