//! Compiles `proto/pulumi/*.proto` with protox (pure Rust, no system `protoc`).

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "pulumi/plugin.proto",
    "pulumi/engine.proto",
    "pulumi/errors.proto",
    "pulumi/provider.proto",
    "pulumi/alias.proto",
    "pulumi/source.proto",
    "pulumi/callback.proto",
    "pulumi/resource.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    // compile_fds emits no rerun-if-changed lines of its own.
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let fds = protox::compile(PROTOS, [&root])?;

    let mut config = prost_build::Config::new();
    // Register type names so error details pack as
    // `type.googleapis.com/pulumirpc.ErrorResourceInitFailed`.
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
