//! `pulumi-resource-local`: the example provider's plugin binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    provider_sdk::Plugin::new(
        provider_example::typed_provider(),
        env!("CARGO_PKG_VERSION"),
    )
    .main()
    .await
}
