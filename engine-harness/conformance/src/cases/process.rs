//! The process contract: the port line, loopback, the engine's flags, attach mode, SIGINT,
//! and the handshake.

use super::{CaseResult, Rec, Stop, launch_finding, start};
use crate::kit::Ctx;
use crate::plugin::{LaunchOptions, Plugin, is_loopback, listening_addresses};
use crate::session::Session;
use std::time::Duration;

// ---------------------------------------------------------------- process contract

pub(super) async fn port_line(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let options = LaunchOptions {
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = Plugin::launch(&ctx.kit.command, &options)
        .await
        .map_err(|e| {
            launch_finding(
                "launch",
                e,
                "print the port (decimal, then a newline) as the first stdout line, and flush",
            )
        })?;
    rec.note(format!(
        "port line after {:.0} ms",
        plugin.startup.as_secs_f64() * 1000.0
    ));
    if let Some(p) = &plugin.port_line_problem {
        let later = match p.later_port {
            Some((line, port)) => format!("; the port {port} came only on line {line}"),
            None => String::new(),
        };
        rec.fail(
            "the first line on stdout",
            "the port number alone, such as `43517`",
            format!("a log line printed before the port: {:?}{later}", p.first_line),
            "print nothing to stdout before the port line: the engine reads the first line as the port and fails; \
             send logs to stderr or through Engine.Log",
        );
        rec.sdk_fix(
            "let `Plugin::main` print the port, and log with `ctx.log` or `eprintln!`: never `println!` in a provider",
        );
    }
    let client = plugin.client();
    if let Err(status) =
        tokio::time::timeout(Duration::from_secs(30), client.clone().get_plugin_info(()))
            .await
            .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("30 s")))
    {
        rec.fail(
            "GetPluginInfo on the announced port",
            "an answer from the gRPC server on the announced port",
            plugin.explain("GetPluginInfo", &status).await,
            "serve pulumirpc.ResourceProvider on the port you print",
        );
    }
    Ok(())
}

pub(super) async fn loopback(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let plugin = Plugin::launch(
        &ctx.kit.command,
        &LaunchOptions {
            tolerate_port_line: true,
            ..LaunchOptions::default()
        },
    )
    .await
    .map_err(|e| launch_finding("launch", e, "the plugin must start"))?;
    let Some(addresses) = listening_addresses(plugin.port) else {
        return Err(Stop::NotApplicable(
            "cannot read /proc/net/tcp on this system".into(),
        ));
    };
    if addresses.is_empty() {
        return Err(Stop::NotApplicable(format!(
            "no listening socket on port {} is visible in /proc/net/tcp",
            plugin.port
        )));
    }
    for a in addresses.iter().filter(|a| !is_loopback(a)) {
        rec.fail(
            format!("listening address of port {}", plugin.port),
            "127.0.0.1 (loopback) only",
            format!(
                "listening on {a}:{}, reachable from other machines",
                plugin.port
            ),
            "bind 127.0.0.1:0, not 0.0.0.0 or [::]",
        );
    }
    rec.note(format!("listening on {}", addresses.join(", ")));
    Ok(())
}

pub(super) async fn flags(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let flags: Vec<String> = ["--logtostderr", "-v=9", "--tracing", "x", "--unknown-flag"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let options = LaunchOptions {
        flags: flags.clone(),
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = match Plugin::launch(&ctx.kit.command, &options).await {
        Ok(p) => p,
        Err(e) => {
            rec.fail(
                format!("launch with `{} ENGINE-ADDRESS`", flags.join(" ")),
                "the plugin starts and prints its port",
                e.to_string(),
                "accept --logtostderr, -v=N and --tracing ENDPOINT (two tokens), and ignore flags you do not know",
            );
            return Ok(());
        }
    };
    let call =
        tokio::time::timeout(ctx.kit.call_timeout, plugin.client().get_plugin_info(())).await;
    match call {
        Ok(Ok(_)) => {}
        Ok(Err(status)) => rec.fail(
            "GetPluginInfo after a launch with the engine's flags",
            "an answer",
            plugin.explain("GetPluginInfo", &status).await,
            "do not treat the flags as the engine's address",
        ),
        Err(_) => rec.fail(
            "GetPluginInfo after a launch with the engine's flags",
            "an answer",
            "no answer in time",
            "serve normally when given flags",
        ),
    }
    Ok(())
}

pub(super) async fn attach(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let options = LaunchOptions {
        attach_mode: true,
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = match Plugin::launch(&ctx.kit.command, &options).await {
        Ok(p) => p,
        Err(e) => {
            rec.fail(
                "launch without an engine address (attach mode)",
                "the plugin starts, prints its port and waits for Attach",
                e.to_string(),
                "when no positional argument is given, serve anyway and take the engine's address from Attach",
            );
            return Ok(());
        }
    };
    let mut s = Session::from_plugin(plugin, ctx.kit.call_timeout);
    let req = pulumirpc::PluginAttach {
        address: s.plugin.engine.address().to_string(),
    };
    if let Err(e) = s.call("Attach", s.plugin.client().attach(req)).await {
        rec.findings.push(e.finding(
            "Attach with the engine's address",
            "implement Attach: it gives a plugin started without an address the engine's address",
        ));
        return Ok(());
    }
    match s.handshake().await {
        Ok(h) => s.handshake = h,
        Err(f) => rec.findings.push(f),
    }
    if let Err(e) = s
        .call("GetPluginInfo", s.plugin.client().get_plugin_info(()))
        .await
    {
        rec.findings
            .push(e.finding("GetPluginInfo after Attach", "keep serving after Attach"));
    }
    Ok(())
}

pub(super) async fn sigint(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let s = start(ctx).await?;
    s.plugin.signal(plugin_host::Signal::INT);
    match s.plugin.wait_exit(Duration::from_secs(5)).await {
        None => rec.fail(
            "exit after SIGINT",
            "exit code 0 within 5 s (the engine sends SIGKILL after 5 s)",
            "still running 5 s after SIGINT",
            "handle SIGINT (and SIGTERM): stop serving, let in-flight calls finish briefly, exit 0",
        ),
        Some(status) if status.code() == Some(0) => rec.note("exited 0 after SIGINT"),
        Some(status) => rec.fail(
            "exit after SIGINT",
            "exit code 0",
            format!("{status}"),
            "treat SIGINT as a normal shutdown and exit 0",
        ),
    }
    Ok(())
}

// ---------------------------------------------------------------- protocol

pub(super) async fn handshake_configure(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let s = start(ctx).await?;
    let configure = s.configure.unwrap_or_default();
    let Some(h) = &s.handshake else {
        rec.note(
            "Handshake answered UNIMPLEMENTED (tolerated: the engine uses Configure's answer)",
        );
        return Ok(());
    };
    let pairs = [
        (
            "accept_secrets / acceptSecrets",
            h.accept_secrets,
            configure.accept_secrets,
        ),
        (
            "accept_resources / acceptResources",
            h.accept_resources,
            configure.accept_resources,
        ),
        (
            "accept_outputs / acceptOutputs",
            h.accept_outputs,
            configure.accept_outputs,
        ),
        (
            "supports_autonaming_configuration",
            h.supports_autonaming_configuration,
            configure.supports_autonaming_configuration,
        ),
    ];
    for (flag, hs, conf) in pairs {
        if hs != conf {
            rec.fail(
                format!("`{flag}` in Handshake and Configure"),
                format!("the same value in both (Handshake said {hs})"),
                format!("Configure said {conf}"),
                "announce one set of capabilities: the engine takes them from Handshake and Configure alike",
            );
        }
    }
    if !configure.supports_preview {
        rec.fail(
            "Configure `supportsPreview`",
            "true: a plugin that answers Handshake is assumed to support preview",
            "false",
            "set supportsPreview, and handle Create/Update with preview=true",
        );
    }
    rec.note(format!(
        "secrets={}, resources={}, outputs={}, autonaming={}",
        h.accept_secrets, h.accept_resources, h.accept_outputs, h.supports_autonaming_configuration
    ));
    Ok(())
}
