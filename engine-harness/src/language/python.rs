//! Python programs: the interpreter from the program's virtualenv (made and filled from
//! `requirements.txt` when missing), started with engine-harness's runner script.

use super::error::LanguageError;
use super::process::{self, OutputHandler};
use super::project::ProjectInfo;
use super::{RunRequest, sdk_flags};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The runner passed to `python -c`: the equivalent of Pulumi's `pulumi-language-python-exec`,
/// which the `pulumi` package on PyPI does not ship.
const RUNNER: &str = include_str!("python_runner.py");

/// The interpreter that creates virtualenvs: `PULUMI_PYTHON_CMD` as Pulumi reads it, else
/// `python3`.
fn base_python() -> String {
    std::env::var("PULUMI_PYTHON_CMD").unwrap_or_else(|_| "python3".into())
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The virtualenv to use and whether the project named it: `runtime.options.virtualenv`
/// (relative to the project directory, or absolute), else `venv` beside the program.
fn venv_dir(info: &ProjectInfo) -> (PathBuf, bool) {
    match &info.virtualenv {
        Some(v) => (info.dir.join(v), true),
        None => (info.dir.join("venv"), false),
    }
}

/// Finds the interpreter, creating the virtualenv first when it is missing and
/// `requirements.txt` says what goes in it. `None` for the virtualenv means the system Python.
async fn interpreter(
    info: &ProjectInfo,
    output: &OutputHandler,
) -> Result<(PathBuf, Option<PathBuf>), LanguageError> {
    let (venv, named) = venv_dir(info);
    let python = venv_python(&venv);
    if python.exists() {
        return Ok((python, Some(venv)));
    }
    let requirements = info.dir.join("requirements.txt");
    if !requirements.exists() {
        if named {
            return Err(LanguageError::Setup {
                program: info.dir.clone(),
                message: format!(
                    "the virtualenv {} (runtime.options.virtualenv) does not exist and there is no requirements.txt to create it from; create it, or add requirements.txt listing `pulumi`",
                    venv.display()
                ),
            });
        }
        return Ok((PathBuf::from(base_python()), None));
    }
    let mut create = Command::new(base_python());
    create
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .current_dir(&info.dir);
    process::setup(&info.dir, create, "creating the virtualenv", output).await?;
    let mut install = Command::new(&python);
    install
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
        .arg(&requirements)
        .current_dir(&info.dir);
    if let Err(e) = process::setup(&info.dir, install, "installing requirements.txt", output).await
    {
        // A half-filled virtualenv would be taken as ready next time.
        let _ = std::fs::remove_dir_all(&venv);
        return Err(e);
    }
    Ok((python, Some(venv)))
}

/// The command that runs the project's Python program against `address`.
pub(crate) async fn command(
    info: &ProjectInfo,
    request: &RunRequest,
    address: &str,
) -> Result<Command, LanguageError> {
    let (python, venv) = interpreter(info, &request.output).await?;
    let (pwd, program) = info.entry();
    let mut cmd = Command::new(&python);
    if let Some(venv) = venv {
        // As an activated virtualenv would: tools the program runs come from it too.
        let bin = python.parent().unwrap_or(&venv).to_path_buf();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let joined = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
            .unwrap_or(path);
        cmd.env("VIRTUAL_ENV", &venv).env("PATH", joined);
    }
    cmd.arg("-u").arg("-c").arg(RUNNER);
    for (flag, value) in sdk_flags(info, request, address, &pwd) {
        cmd.arg(format!("--{flag}")).arg(value);
    }
    cmd.arg("--dry-run")
        .arg(if request.dry_run { "true" } else { "false" })
        .arg(program)
        .current_dir(&pwd);
    Ok(cmd)
}
