//! `pulumi-resource-local`: the example provider's plugin binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    // `serve-dir DIR PORT`: the file server a StaticSite's Service runs (this same binary).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(provider_example::serve_dir::SUBCOMMAND) {
        return provider_example::serve_dir::main(&args[1..]);
    }
    serve()
}

#[tokio::main]
async fn serve() -> ExitCode {
    provider_sdk::Plugin::new(
        provider_example::typed_provider(),
        env!("CARGO_PKG_VERSION"),
    )
    .main()
    .await
}
