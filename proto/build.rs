//! Compiles `proto/pulumi/**/*.proto` with protox (pure Rust, no system `protoc`), and keeps the
//! compiled `FileDescriptorSet` for [`pulumirpc::FILE_DESCRIPTOR_SET`].

use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "pulumi/alias.proto",
    "pulumi/analyzer.proto",
    "pulumi/callback.proto",
    "pulumi/codegen/hcl.proto",
    "pulumi/codegen/loader.proto",
    "pulumi/codegen/mapper.proto",
    "pulumi/converter.proto",
    "pulumi/engine.proto",
    "pulumi/errors.proto",
    "pulumi/events.proto",
    "pulumi/language.proto",
    "pulumi/plugin.proto",
    "pulumi/provider.proto",
    "pulumi/resource.proto",
    "pulumi/resource_status.proto",
    "pulumi/source.proto",
    "pulumi/testing/language.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // compile_fds emits no rerun-if-changed lines of its own.
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let fds = protox::compile(PROTOS, [&root])?;
    // Only the project's own files: the google/protobuf imports are the well-known types.
    let mut own = fds.clone();
    own.file.retain(|f| f.name().starts_with("pulumi/"));
    std::fs::write(out.join("pulumirpc_descriptor.bin"), own.encode_to_vec())?;

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
