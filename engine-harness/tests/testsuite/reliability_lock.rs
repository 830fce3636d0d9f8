//! One command at a time per stack, end to end with the real binary and the example provider:
//! a second `up` refused while one runs (naming it), `up` refused during `destroy`, the lock of
//! a killed run recovered, `cancel`, concurrent `config set`s, an unreadable state folder
//! (exit 5, nothing touched), state integrity on load and import, version 1 and 2
//! deployments, and `stack export --file` over an existing file.

use crate::support;

use serde_json::{Value as Json, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn random(name: &str) -> String {
    format!("  {name}:\n    type: local:index:Random\n    properties:\n      length: 6\n")
}

/// A Command whose create records its pid in `<name>.script.pid`, then sleeps `secs`.
fn slow(name: &str, secs: u32) -> String {
    format!(
        "  {name}:\n    type: local:index:Command\n    properties:\n      create: echo $PPID > {name}.provider.pid; echo $$ > {name}.script.pid; exec sleep {secs}\n"
    )
}

fn lock_files(p: &Project) -> Vec<PathBuf> {
    match std::fs::read_dir(p.path().join(".pulumi-harness/locks/dev")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn pending(p: &Project) -> Vec<Json> {
    p.state()["deployment"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Starts `args` (with `--json`, and `--yes` unless a preview) in the background.
fn spawn(p: &Project, args: &[&str]) -> Child {
    let mut all = args.to_vec();
    all.push("--json");
    if args[0] != "preview" {
        all.push("--yes");
    }
    p.command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `within`, killing it (and failing) if it runs longer.
fn finish(mut child: Child, within: Duration, what: &str) -> Run {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > within {
            let _ = child.kill();
            let r = Run::from(child.wait_with_output().unwrap());
            panic!("{what} still running after {within:?}:\n{}", r.describe());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn a_second_up_is_refused_naming_the_first_and_cancel_stops_the_first_as_ctrl_c_does() {
    let p = Project::local(&format!("resources:\n{}{}", random("a"), slow("slow", 60)));
    let _guard = KillOnDrop(vec![p.path().join("slow.script.pid")]);
    let first = spawn(&p, &["up"]);
    let first_pid = first.id();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.script.pid")).is_some()
    });
    let journal = p.path().join(".pulumi-harness/dev.journal");
    assert!(journal.exists(), "the first run journals");

    // The second is refused at once, names the holder, and touches nothing.
    let second = p.run(&["up"]);
    assert_eq!(second.code, 7, "{}", second.describe());
    assert!(
        second.stderr.contains("stack `dev` is locked")
            && second.stderr.contains("`engine-harness up`")
            && second.stderr.contains(&format!("(pid {first_pid})"))
            && second.stderr.contains("engine-harness cancel --stack dev"),
        "{}",
        second.describe()
    );
    assert!(
        !second.stderr.contains("recovered"),
        "{}",
        second.describe()
    );
    assert!(journal.exists(), "the first run's journal is left alone");
    // So are preview, refresh, destroy, import and export.
    for args in [&["preview"][..], &["refresh"], &["destroy"]] {
        let r = p.run(args);
        assert_eq!(r.code, 7, "{args:?}: {}", r.describe());
    }
    let export = p.command(&["stack", "export"]).output().unwrap();
    assert_eq!(export.status.code(), Some(7));

    // `cancel` stops the first as Ctrl-C would: the provider is cancelled (the example's
    // Command stops its script), the state saved, the lock released.
    let cancel = Run::from(p.command(&["cancel"]).output().unwrap());
    assert_eq!(cancel.code, 0, "{}", cancel.describe());
    assert!(
        cancel.stdout.contains("sent SIGINT") && cancel.stdout.contains("unlocked"),
        "{}",
        cancel.describe()
    );
    let first = finish(first, Duration::from_secs(60), "the cancelled up");
    assert_eq!(first.code, 130, "{}", first.describe());
    assert!(first.stderr.contains("interrupted"), "{}", first.describe());
    assert!(p.resource("a").is_some(), "{}", p.state());
    assert!(pending(&p).is_empty(), "{}", p.state());
    assert!(lock_files(&p).is_empty(), "{:?}", lock_files(&p));
    assert!(!journal.exists());
    p.write_local(&format!(
        "resources:\n{}  slow:\n    type: local:index:Command\n    properties:\n      create: echo quick\n",
        random("a")
    ));
    let again = p.run(&["up"]).ok();
    assert_eq!(again.step("a")["op"], "same", "{}", again.describe());
    let none = Run::from(p.command(&["cancel"]).output().unwrap());
    assert_eq!(none.code, 0, "{}", none.describe());
    assert!(none.stdout.contains("not locked"), "{}", none.describe());
    p.run(&["destroy"]).ok();
}

#[test]
fn up_during_destroy_is_refused_and_the_destroy_finishes() {
    let p = Project::local(&format!(
        "resources:\n{}  cmd:\n    type: local:index:Command\n    properties:\n      create: echo made\n      delete: echo $$ > deleting.pid; sleep 8\n",
        random("a")
    ));
    p.run(&["up"]).ok();
    let _guard = KillOnDrop(vec![p.path().join("deleting.pid")]);
    let destroy = spawn(&p, &["destroy"]);
    let destroy_pid = destroy.id();
    wait_for("the slow delete to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("deleting.pid")).is_some()
    });
    let up = p.run(&["up"]);
    assert_eq!(up.code, 7, "{}", up.describe());
    assert!(
        up.stderr.contains("`engine-harness destroy`")
            && up.stderr.contains(&format!("(pid {destroy_pid})")),
        "{}",
        up.describe()
    );
    let destroy = finish(destroy, Duration::from_secs(120), "the destroy");
    assert_eq!(destroy.code, 0, "{}", destroy.describe());
    assert!(p.resources().is_empty(), "{}", p.state());
    assert!(pending(&p).is_empty(), "{}", p.state());
    // Now the up runs.
    let up = p.run(&["up"]).ok();
    assert_eq!(up.step("cmd")["op"], "create", "{}", up.describe());
    p.run(&["destroy"]).ok();
}

#[test]
fn the_lock_of_a_killed_run_is_recovered_by_the_next_run() {
    let p = Project::local(&format!("resources:\n{}{}", random("a"), slow("slow", 120)));
    let _guard = KillOnDrop(vec![
        p.path().join("slow.script.pid"),
        p.path().join("slow.provider.pid"),
    ]);
    let mut child = p
        .command(&["up", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed = child.id();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.script.pid")).is_some()
    });
    child.kill().unwrap(); // SIGKILL: no chance to release the lock
    child.wait().unwrap();
    kill(
        read_pid(&p.path().join("slow.script.pid")).unwrap(),
        Signal::KILL,
    );
    assert_eq!(lock_files(&p).len(), 1, "the killed run's lock is left");

    p.write_local(&format!(
        "resources:\n{}  slow:\n    type: local:index:Command\n    properties:\n      create: echo quick\n",
        random("a")
    ));
    // The next run removes the stale lock, saying whose it was, and recovers the journal.
    let r = p.run(&["up"]);
    assert_eq!(
        r.code,
        3,
        "the pending create is reported: {}",
        r.describe()
    );
    let logged = |needle: &str| {
        r.events
            .iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains(needle))
    };
    assert!(
        logged("removed the stale lock") && logged(&format!("(pid {killed})")),
        "{}",
        r.describe()
    );
    assert!(logged("recovered"), "{}", r.describe());
    assert!(lock_files(&p).is_empty(), "{:?}", lock_files(&p));
    let r = p.run(&["up", "--clear-pending"]).ok();
    assert_eq!(r.step("slow")["op"], "create", "{}", r.describe());
    assert!(p.resource("a").is_some());
    p.run(&["destroy"]).ok();
}

#[test]
fn concurrent_config_sets_lose_no_update() {
    let p = Project::local(&format!("resources:\n{}", random("a")));
    let children: Vec<Child> = (0..16)
        .map(|i| {
            p.command(&["config", "set", &format!("key{i}"), &format!("value{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let r = finish(c, Duration::from_secs(120), "config set");
        assert_eq!(r.code, 0, "{}", r.describe());
    }
    let text = std::fs::read_to_string(p.path().join("Pulumi.dev.yaml")).unwrap();
    for i in 0..16 {
        assert!(
            text.contains(&format!("t:key{i}: value{i}")),
            "key{i} lost:\n{text}"
        );
    }
    assert!(lock_files(&p).is_empty(), "{:?}", lock_files(&p));
}

/// Runs the binary as a user that cannot read `.pulumi-harness` (mode 000): this user when it
/// is not root; as root, whom permissions do not stop, uid/gid 65534 (`nobody`), owning the
/// project (so that, like a real user, it could change the folder's mode back).
fn run_without_read_access(p: &Project, args: &[&str]) -> Run {
    use std::os::unix::process::CommandExt;
    let mut c = p.command(args);
    c.env_remove("PULUMI_CONFIG_PASSPHRASE");
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        const NOBODY: u32 = 65534;
        // The unprivileged user may not reach the build's target/ (a clone in a 0700 folder):
        // run a copy of the engine from the project, which that user owns.
        let bin = p.path().join("engine-harness-copy");
        if !bin.exists() {
            std::fs::copy(c.get_program(), &bin).unwrap();
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut copy = Command::new(&bin);
        copy.args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => copy.env(k, v),
                None => copy.env_remove(k),
            };
        }
        if let Some(d) = c.get_current_dir() {
            copy.current_dir(d);
        }
        c = copy;
        // SAFETY: the closure runs in the forked child before exec and calls only
        // async-signal-safe functions (setgroups, setgid, setuid).
        unsafe {
            c.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(NOBODY) != 0
                    || libc::setuid(NOBODY) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // The copy was just written: a child forked meanwhile by another test's thread can still
    // hold its write descriptor until that child execs, so exec may briefly see ETXTBSY.
    for _ in 0..100 {
        match c.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            other => return Run::from(other.unwrap()),
        }
    }
    Run::from(c.output().unwrap())
}

fn chown_tree(dir: &Path, uid: u32) {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::lchown(c.as_ptr(), uid, uid) }, 0, "{dir:?}");
    if dir.is_dir() && !dir.is_symlink() {
        for e in std::fs::read_dir(dir).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn an_unreadable_state_folder_is_exit_5_with_the_state_untouched() {
    let p = Project::local(&format!("resources:\n{}{}", random("a"), random("b")));
    p.run(&["up"]).ok();
    let state_dir = p.path().join(".pulumi-harness");
    let before = std::fs::read(state_dir.join("dev.json")).unwrap();
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        // The engine and the plugin are reachable by anyone (target/ is 0755); the project
        // becomes the unprivileged user's.
        std::fs::set_permissions(p.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        chown_tree(p.path(), 65534);
    }
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    for args in [&["up", "--yes"][..], &["preview"], &["destroy", "--yes"]] {
        let r = run_without_read_access(&p, args);
        assert_eq!(r.code, 5, "{args:?}: {}", r.describe());
        assert!(
            r.stderr.contains("cannot read the state folder")
                && r.stderr.contains(".pulumi-harness"),
            "{args:?}: {}",
            r.describe()
        );
        assert!(!r.stdout.contains("created stack"), "{}", r.describe());
        let mode = std::fs::metadata(&state_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0, "{args:?}: the folder's mode was changed");
    }
    let config = run_without_read_access(&p, &["config", "set", "x", "y"]);
    assert_eq!(config.code, 5, "{}", config.describe());
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(std::fs::read(state_dir.join("dev.json")).unwrap(), before);
    assert_eq!(p.resources().len(), 2);
    assert!(!state_dir.join("dev.journal").exists());
}

/// The state as `stack export` writes it.
fn export(p: &Project) -> Json {
    let out = p.command(&["stack", "export"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn import(p: &Project, doc: &Json) -> Run {
    let file = p.path().join("import.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    Run::from(
        p.command(&["stack", "import", "--file", file.to_str().unwrap()])
            .output()
            .unwrap(),
    )
}

/// A change to a deployment.
type Edit = Box<dyn Fn(&mut Json)>;

fn index_of(doc: &Json, name: &str) -> usize {
    doc["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["urn"].as_str().unwrap().ends_with(&format!("::{name}")))
        .unwrap()
}

#[test]
fn duplicate_urns_are_refused_on_load_and_on_import() {
    let p = Project::local(&format!("resources:\n{}{}", random("a"), random("b")));
    p.run(&["up"]).ok();
    let good = export(&p);
    let a = index_of(&good, "a");
    let mut dup = good.clone();
    let mut twin = dup["deployment"]["resources"][a].clone();
    twin["id"] = json!("another-id");
    dup["deployment"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(twin);
    let urn = good["deployment"]["resources"][a]["urn"]
        .as_str()
        .unwrap()
        .to_string();

    // On import: refused, nothing written.
    let before = std::fs::read(p.path().join(".pulumi-harness/dev.json")).unwrap();
    let r = import(&p, &dup);
    assert_eq!(r.code, 5, "{}", r.describe());
    assert!(
        r.stderr.contains("both the live resource") && r.stderr.contains(&urn),
        "{}",
        r.describe()
    );
    assert_eq!(
        std::fs::read(p.path().join(".pulumi-harness/dev.json")).unwrap(),
        before
    );
    // Malformed URNs, custom resources without ids and dangling references are refused too.
    let b = index_of(&good, "b");
    let broken: [(&str, Edit); 4] = [
        (
            "not a well-formed URN",
            Box::new(move |d: &mut Json| d["deployment"]["resources"][b]["urn"] = json!("b")),
        ),
        (
            "has no `id`",
            Box::new(move |d: &mut Json| d["deployment"]["resources"][b]["id"] = json!("")),
        ),
        (
            "which is not in the deployment",
            Box::new(move |d: &mut Json| {
                d["deployment"]["resources"][b]["dependencies"] =
                    json!(["urn:pulumi:dev::t::local:index:Random::nowhere"])
            }),
        ),
        (
            "belongs to stack `prod`",
            Box::new(move |d: &mut Json| {
                let u = d["deployment"]["resources"][b]["urn"].as_str().unwrap();
                d["deployment"]["resources"][b]["urn"] = json!(u.replace(":dev::", ":prod::"))
            }),
        ),
    ];
    for (needle, edit) in broken.iter() {
        let mut doc = good.clone();
        edit(&mut doc);
        let r = import(&p, &doc);
        assert_eq!(r.code, 5, "{needle}: {}", r.describe());
        assert!(r.stderr.contains(needle), "{needle}: {}", r.describe());
    }
    assert_eq!(
        std::fs::read(p.path().join(".pulumi-harness/dev.json")).unwrap(),
        before
    );

    // On load: a state file with two live entries of one URN is not used, and not rewritten.
    let mut state = p.state();
    let mut twin = state["deployment"]["resources"][index_of(&state, "a")].clone();
    twin["id"] = json!("another-id");
    state["deployment"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(twin);
    let text = serde_json::to_vec_pretty(&state).unwrap();
    std::fs::write(p.path().join(".pulumi-harness/dev.json"), &text).unwrap();
    for args in [&["up"][..], &["preview"], &["refresh"], &["destroy"]] {
        let r = p.run(args);
        assert_eq!(r.code, 5, "{args:?}: {}", r.describe());
        assert!(
            r.stderr.contains("both the live resource") && r.stderr.contains(&urn),
            "{args:?}: {}",
            r.describe()
        );
        assert_eq!(
            std::fs::read(p.path().join(".pulumi-harness/dev.json")).unwrap(),
            text
        );
    }
    // Fixed by importing a good deployment.
    import(&p, &good).ok();
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("a")["op"], "same", "{}", r.describe());
    p.run(&["destroy"]).ok();
}

#[test]
fn deployments_of_versions_1_and_2_are_imported_as_pulumi_migrates_them() {
    let p = Project::local(&format!(
        "resources:\n{}  b:\n    type: local:index:Random\n    properties:\n      length: 4\n      prefix: ${{a.result}}\n",
        random("a")
    ));
    p.run(&["up"]).ok();
    let good = export(&p);
    for version in [2, 1] {
        // What an older Pulumi wrote: no secrets provider, no propertyDependencies, no
        // timestamps, `null` lists, and in version 1 `defaults`.
        let mut old = good.clone();
        old["version"] = json!(version);
        let d = old["deployment"].as_object_mut().unwrap();
        d.remove("secrets_providers");
        for r in d["resources"].as_array_mut().unwrap() {
            let r = r.as_object_mut().unwrap();
            for k in ["propertyDependencies", "created", "modified"] {
                r.remove(k);
            }
            r.entry("initErrors").or_insert(Json::Null);
            if version == 1 {
                r.insert("defaults".into(), json!({}));
                r.remove("provider");
            }
        }
        if version == 1 {
            // Version 1 had no first-class providers.
            d["resources"]
                .as_array_mut()
                .unwrap()
                .retain(|r| !r["type"].as_str().unwrap().starts_with("pulumi:providers:"));
        }
        let r = import(&p, &old);
        assert_eq!(r.code, 0, "version {version}: {}", r.describe());
        assert!(!r.stderr.contains("defaults"), "{}", r.describe());
        let state = p.state();
        assert_eq!(state["version"], 3);
        let b = &state["deployment"]["resources"][index_of(&state, "b")];
        let a_urn = good["deployment"]["resources"][index_of(&good, "a")]["urn"].clone();
        assert_eq!(
            b["propertyDependencies"]["prefix"],
            json!([a_urn]),
            "every input depends on all dependencies: {b}"
        );
        let r = p.run(&["up"]).ok();
        assert_eq!(
            r.step("a")["op"],
            "same",
            "version {version}: {}",
            r.describe()
        );
        assert_eq!(
            r.step("b")["op"],
            "same",
            "version {version}: {}",
            r.describe()
        );
    }
    p.run(&["destroy"]).ok();
}

#[test]
fn export_with_secrets_to_an_existing_file_makes_it_owner_only() {
    let p = Project::local(&format!("resources:\n{}", random("a")));
    p.run(&["up"]).ok();
    let file = p.path().join("state.json");
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = Run::from(
        p.command(&[
            "stack",
            "export",
            "--show-secrets",
            "--file",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let doc: Json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["version"], 3);
}
