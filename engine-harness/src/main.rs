//! `engine-harness`: drive Pulumi provider plugins (preview, up, refresh, destroy).

fn main() {
    eprintln!("engine-harness: not built yet");
    std::process::exit(2);
}
