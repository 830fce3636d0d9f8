//! End to end: a plugin dies with its engine even when the plugin does nothing about it. The
//! plugin here is a shell script, not built on the SDK: it records its pid, runs the example
//! provider as its child (which prints the port line) and waits. Nothing in it watches the
//! engine, so only the way engine-harness launches it can take it down when the engine is
//! SIGKILLed mid-run.

use crate::support;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;
use support::*;

#[test]
fn a_plugin_that_ignores_its_engine_dies_when_the_engine_is_sigkilled() {
    let p = Project::local("resources: {}\n");
    let wrapper_dir = p.path().join("wrapper");
    std::fs::create_dir(&wrapper_dir).unwrap();
    let script = wrapper_dir.join("pulumi-resource-local");
    let pid_file = p.path().join("wrapper.pid");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}'\n'{}' \"$@\" &\necho $! > '{}.child'\nwait\n",
            pid_file.display(),
            local_provider().display(),
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = format!(
        "name: t\nruntime: yaml\nplugins:\n  providers:\n    - name: local\n      path: {}\nconfig:\n  local:root: .\nresources:\n  slow:\n    type: local:index:Command\n    properties:\n      create: echo $$ > slow.pid; exec sleep 120\n",
        script.display()
    );
    p.write("Pulumi.yaml", &yaml);
    let child_file = p.path().join("wrapper.pid.child");
    let _guard = KillOnDrop(vec![
        p.path().join("slow.pid"),
        child_file.clone(),
        pid_file.clone(),
    ]);
    let mut engine = p
        .command(&["up", "--yes", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.pid")).is_some()
    });
    let wrapper = read_pid(&pid_file).expect("the wrapper recorded its pid");
    assert!(alive(wrapper), "the plugin runs while the engine does");
    kill(engine.id() as i32, Signal::KILL);
    engine.wait().unwrap();
    wait_for(
        "the plugin to die with its engine",
        Duration::from_secs(5),
        || !alive(wrapper),
    );
}
