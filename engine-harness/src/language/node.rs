//! Node.js programs (JavaScript and TypeScript): the SDK's own runner from the program's
//! `node_modules/@pulumi/pulumi`, after `npm install` when `node_modules` is missing.

use super::error::LanguageError;
use super::process;
use super::project::ProjectInfo;
use super::{RunRequest, sdk_flags};
use tokio::process::Command;

/// The command that runs the project's Node.js program against `address`.
pub(crate) async fn command(
    info: &ProjectInfo,
    request: &RunRequest,
    address: &str,
) -> Result<Command, LanguageError> {
    let (pwd, program) = info.entry();
    let setup_err = |message: String| LanguageError::Setup {
        program: pwd.clone(),
        message,
    };
    let modules = pwd.join("node_modules");
    if !modules.exists() {
        if !pwd.join("package.json").exists() {
            return Err(setup_err(
                "there is no package.json; create one with `@pulumi/pulumi` in its dependencies"
                    .into(),
            ));
        }
        let mut install = Command::new("npm");
        install
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&pwd);
        process::setup(&pwd, install, "installing node_modules", &request.output).await?;
    }
    let runner = modules
        .join("@pulumi")
        .join("pulumi")
        .join("cmd")
        .join("run");
    if !runner.exists() {
        return Err(setup_err(format!(
            "{} is missing; add `@pulumi/pulumi` to package.json's dependencies and run `npm install`",
            runner.display()
        )));
    }
    let mut cmd = Command::new("node");
    cmd.arg(&runner);
    for (flag, value) in sdk_flags(info, request, address, &pwd) {
        cmd.arg(format!("--{flag}")).arg(value);
    }
    if request.dry_run {
        cmd.arg("--dry-run");
    }
    // The language host's default: TypeScript through the SDK's ts-node support.
    let typescript = info.typescript.unwrap_or(true);
    cmd.env("PULUMI_NODEJS_TYPESCRIPT", typescript.to_string());
    if let Some(tsconfig) = &info.tsconfig {
        cmd.env("PULUMI_NODEJS_TSCONFIG_PATH", tsconfig);
    }
    cmd.arg(program).current_dir(&pwd);
    Ok(cmd)
}
