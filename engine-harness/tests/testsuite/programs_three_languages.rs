//! One stack written three times, in Pulumi YAML, Python and TypeScript
//! (`tests/programs/stack-{yaml,python,typescript}`), driven by the real `engine-harness` binary
//! with the real SDKs (installed by the tests, cached under the target directory) and the
//! example provider: each goes through preview, up, a no-op up, an in-place update from a
//! config change, refresh and destroy, and the three leave the same state shape and the same
//! files. Then a Python program that raises, and, in Python and TypeScript, the resource
//! options an explicit provider, an alias, `get` and `import`.

use crate::support;

use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::programs::*;
use support::*;

/// The passphrase the stacks' secrets are encrypted with.
const PASS: &str = "three languages, one stack";
/// The secret set with `config set --secret`; it must never be in the state in clear.
const TOKEN: &str = "tok-3lang-never-in-clear";
/// Pulumi's signature key of a secret value.
const SECRET_SIG: &str = "4dabf18193072939515e22adb298388d";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Yaml,
    Python,
    TypeScript,
}

impl Lang {
    fn fixture(self) -> &'static str {
        match self {
            Lang::Yaml => "stack-yaml",
            Lang::Python => "stack-python",
            Lang::TypeScript => "stack-typescript",
        }
    }

    /// The SDK of a program in this language (none for YAML).
    fn sdk(self) -> Option<Sdk> {
        match self {
            Lang::Yaml => None,
            Lang::Python => Some(Sdk::Python),
            Lang::TypeScript => Some(Sdk::Node),
        }
    }
}

/// Runs the harness in `p` with the passphrase; operations get `--json` (and `--yes`).
fn harness(p: &Project, args: &[&str]) -> Run {
    let out = p
        .run_command(args)
        .env("PULUMI_CONFIG_PASSPHRASE", PASS)
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
        .output()
        .expect("run engine-harness");
    Run::from(out)
}

/// Runs `args` and asserts success, naming the language and the command.
fn ok(lang: Lang, p: &Project, args: &[&str]) -> Run {
    let run = harness(p, args);
    assert_eq!(run.code, 0, "{lang:?} {args:?}:\n{}", run.describe());
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "{lang:?} {args:?} shows the secret:\n{}",
        run.describe()
    );
    run
}

/// A copy of the fixture, with the example provider, the SDK and the stack's config.
fn project(lang: Lang) -> Project {
    let p = fixture_project(lang.fixture(), lang.sdk());
    ok(lang, &p, &["config", "set", "local:root", "."]);
    ok(lang, &p, &["config", "set", "prefix", "v1-"]);
    ok(lang, &p, &["config", "set", "token", TOKEN, "--secret"]);
    p
}

/// The stack outputs of a run (masked: `[secret]`, `[unknown]`).
fn outputs(run: &Run) -> Map<String, Json> {
    run.events
        .iter()
        .find(|e| e["event"] == "outputs")
        .and_then(|e| e["outputs"].as_object().cloned())
        .unwrap_or_default()
}

fn is_secret(v: &Json) -> bool {
    v.get(SECRET_SIG).is_some()
}

/// What a value is, for the shape: its JSON kind, or `secret`.
fn kind(v: &Json) -> &'static str {
    match v {
        _ if is_secret(v) => "secret",
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn kinds(m: &Json) -> Json {
    let map = m.as_object().cloned().unwrap_or_default();
    Json::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), json!(kind(v))))
            .collect(),
    )
}

/// The state's shape: each resource's URN, type, parent, dependencies, provider (its URN,
/// without the id) and every other recorded field, with the input and output values replaced
/// by their kinds; ids and times left out.
fn shape(state: &Json) -> Vec<Json> {
    let resources = state["deployment"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<Json> = resources
        .iter()
        .map(|r| {
            let mut m = r.as_object().cloned().unwrap();
            for k in ["id", "created", "modified"] {
                m.remove(k);
            }
            m.insert("inputs".into(), kinds(&r["inputs"]));
            m.insert("outputs".into(), kinds(&r["outputs"]));
            if let Some(Json::String(p)) = m.get("provider") {
                let urn = p.rsplit_once("::").map(|(u, _)| u).unwrap_or(p);
                m.insert("provider".into(), json!(urn));
            }
            Json::Object(m)
        })
        .collect();
    out.sort_by_key(|r| r["urn"].as_str().unwrap().to_string());
    out
}

/// The files under `dir`, relative, with their permission bits.
fn files_under(dir: &Path) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                out.insert(rel, mode);
            }
        }
    }
    out
}

/// The state file (and the journal, if any) hold no secret in clear.
fn assert_no_secret_in_state(lang: Lang, p: &Project) {
    for (file, _) in files_under(&p.path().join(".pulumi-harness")) {
        let text = std::fs::read_to_string(p.path().join(".pulumi-harness").join(&file))
            .unwrap_or_default();
        assert!(
            !text.contains(TOKEN),
            "{lang:?}: .pulumi-harness/{file} holds the secret in clear"
        );
    }
}

/// The four resources of the stack, as sorted step triples with one op and status.
fn all_steps(op: &str, status: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = ["greeting", "outdir", "secret", "suffix"]
        .iter()
        .map(|n| s(op, n, status))
        .collect();
    v.sort();
    v
}

/// What a language's run left, for comparing the three.
struct Observed {
    lang: Lang,
    after_up: Vec<Json>,
    after_update: Vec<Json>,
    files: BTreeMap<String, u32>,
}

/// preview, up, no-op up, config change and up, refresh, destroy; each checked.
fn lifecycle(lang: Lang) -> Observed {
    let p = project(lang);
    let out = p.path().join("out");
    let has_invoke = lang != Lang::Yaml;

    // Preview: everything planned, outputs that come from the provider unknown, nothing
    // written.
    let preview = ok(lang, &p, &["preview"]);
    assert_eq!(preview.steps(), all_steps("create", "planned"), "{lang:?}");
    let o = outputs(&preview);
    assert_eq!(o["suffix"], "[unknown]", "{lang:?}: {o:?}");
    assert_eq!(o["greetingSize"], "[unknown]", "{lang:?}: {o:?}");
    // YAML and Python keep an unknown secret secret; the Node.js SDK sends an unknown output
    // as the bare unknown, dropping its secretness: masked either way.
    assert!(
        o["secretSha"] == "[secret]" || o["secretSha"] == "[unknown]",
        "{lang:?}: {o:?}"
    );
    if has_invoke {
        assert_eq!(o["greetingHash"], "[unknown]", "{lang:?}: {o:?}");
    }
    assert!(!out.exists(), "{lang:?}: preview wrote files");
    assert!(
        !p.path().join(".pulumi-harness/dev.json").exists(),
        "{lang:?}: preview wrote state"
    );

    // Up: created, with the dependency through the Random's result.
    let up = ok(lang, &p, &["up"]);
    assert_eq!(up.steps(), all_steps("create", "ok"), "{lang:?}");
    let o = outputs(&up);
    let suffix = o["suffix"].as_str().unwrap().to_string();
    assert!(
        suffix.starts_with("v1-") && suffix.len() == 9,
        "{lang:?}: {suffix}"
    );
    assert_eq!(o["greetingSize"], json!(15), "{lang:?}: {o:?}");
    assert_eq!(o["secretSha"], "[secret]", "{lang:?}: {o:?}");
    let greeting = p.resource("greeting").unwrap();
    if has_invoke {
        assert_eq!(
            o["greetingHash"], greeting["outputs"]["sha256"],
            "{lang:?}: the invoke hashed the greeting's content"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("greeting.txt")).unwrap(),
        format!("hello {suffix}"),
        "{lang:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("secret.txt")).unwrap(),
        TOKEN,
        "{lang:?}"
    );
    let secret = p.resource("secret").unwrap();
    for v in [
        &secret["inputs"]["content"],
        &secret["outputs"]["content"],
        &secret["outputs"]["sha256"],
    ] {
        assert!(is_secret(v), "{lang:?}: not secret in the state: {v}");
        assert!(v.get("ciphertext").is_some(), "{lang:?}: {v}");
    }
    assert_no_secret_in_state(lang, &p);
    let after_up = shape(&p.state());
    let files = files_under(&out);

    // A no-op up: all the same, no state written.
    let again = ok(lang, &p, &["up"]);
    assert_eq!(again.steps(), all_steps("same", "ok"), "{lang:?}");
    assert_eq!(again.summary()["stateBytesWritten"], 0, "{lang:?}");
    assert_eq!(outputs(&again), o, "{lang:?}");

    // A config change: the Random's prefix is updated in place (keeping its random part), and
    // the File whose content uses it with it.
    ok(lang, &p, &["config", "set", "prefix", "v2-"]);
    let update = ok(lang, &p, &["up"]);
    let mut want = vec![
        s("same", "outdir", "ok"),
        s("same", "secret", "ok"),
        s("update", "greeting", "ok"),
        s("update", "suffix", "ok"),
    ];
    want.sort();
    assert_eq!(update.steps(), want, "{lang:?}");
    let o2 = outputs(&update);
    assert_eq!(
        o2["suffix"],
        json!(format!("v2-{}", &suffix[3..])),
        "{lang:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("greeting.txt")).unwrap(),
        format!("hello v2-{}", &suffix[3..]),
        "{lang:?}"
    );
    if has_invoke {
        assert_eq!(
            o2["greetingHash"],
            p.resource("greeting").unwrap()["outputs"]["sha256"],
            "{lang:?}"
        );
        assert_ne!(o2["greetingHash"], o["greetingHash"], "{lang:?}");
    }
    let after_update = shape(&p.state());
    assert_eq!(
        after_update, after_up,
        "{lang:?}: an update keeps the shape"
    );
    assert_no_secret_in_state(lang, &p);

    // Refresh: the world is as recorded.
    let refresh = ok(lang, &p, &["refresh"]);
    assert_eq!(refresh.steps(), all_steps("same", "ok"), "{lang:?}");
    assert_eq!(refresh.summary()["stateBytesWritten"], 0, "{lang:?}");
    assert_eq!(shape(&p.state()), after_update, "{lang:?}");

    // Destroy: nothing left, on disk or in the state.
    let destroy = ok(lang, &p, &["destroy"]);
    assert_eq!(destroy.steps(), all_steps("delete", "ok"), "{lang:?}");
    assert!(!out.exists(), "{lang:?}: {:?}", files_under(&out));
    let state = p.state();
    let left = state["deployment"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(left.is_empty(), "{lang:?}: {left:#?}");
    Observed {
        lang,
        after_up,
        after_update,
        files,
    }
}

#[test]
fn one_stack_in_yaml_python_and_typescript_gives_the_same_state_and_files() {
    // Installed before the threads start, so that the three runs time only themselves.
    python_venv();
    node_modules();
    let observed: Vec<Observed> = std::thread::scope(|scope| {
        let handles: Vec<_> = [Lang::Yaml, Lang::Python, Lang::TypeScript]
            .into_iter()
            .map(|lang| scope.spawn(move || lifecycle(lang)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let [yaml, python, ts] = &observed[..] else {
        unreachable!()
    };
    assert_eq!(python.after_up, ts.after_up, "Python and TypeScript differ");
    assert_eq!(python.after_update, ts.after_update);
    assert_eq!(yaml.after_up, python.after_up, "YAML and Python differ");
    assert_eq!(yaml.after_update, python.after_update);
    let stack = |shape: &[Json]| {
        shape
            .iter()
            .find(|r| r["type"] == "pulumi:pulumi:Stack")
            .unwrap()["outputs"]
            .clone()
    };
    for shape in [&yaml.after_up, &python.after_up, &ts.after_up] {
        assert!(
            stack(shape).get("greetingHash").is_some(),
            "every program exports the invoke's result"
        );
    }
    // The shape has what the comparison is about.
    let greeting = python
        .after_up
        .iter()
        .find(|r| r["urn"] == "urn:pulumi:dev::three::local:index:File::greeting")
        .expect("the greeting File, under the same URN");
    assert_eq!(
        greeting["dependencies"],
        json!([
            "urn:pulumi:dev::three::local:index:Directory::outdir",
            "urn:pulumi:dev::three::local:index:Random::suffix"
        ])
    );
    assert_eq!(
        greeting["parent"],
        "urn:pulumi:dev::three::pulumi:pulumi:Stack::three-dev"
    );
    assert_eq!(
        greeting["provider"],
        "urn:pulumi:dev::three::pulumi:providers:local::default"
    );
    let files = BTreeMap::from([
        ("greeting.txt".to_string(), 0o644),
        ("secret.txt".to_string(), 0o600),
    ]);
    for o in &observed {
        assert_eq!(o.files, files, "{:?}", o.lang);
    }
}

#[test]
fn a_python_program_that_raises_fails_and_keeps_what_it_created() {
    let p = sdk_project(Sdk::Python, "raises");
    let run = p.run(&["up"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let program = format!("program {} failed (exit status 1)", p.path().display());
    assert!(run.stderr.contains(&program), "{}", run.describe());
    assert!(
        run.stderr
            .contains("ValueError: bad thing happened in the program"),
        "{}",
        run.describe()
    );
    assert_eq!(run.steps(), vec![s("create", "before", "ok")]);
    let before = p.resource("before").expect("`before` is in the state");
    assert_eq!(before["type"], "local:index:Random");
    // The next run finds it there.
    let run = p.run(&["up"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(run.steps(), vec![s("same", "before", "ok")]);
}

/// The `python-options` or `typescript-options` fixture, with its config.
fn options_project(lang: Lang) -> (Project, std::path::PathBuf, std::path::PathBuf) {
    let sdk = lang.sdk().expect("the YAML program has no options fixture");
    let p = sdk_project(sdk, "options");
    let alt = p.path().join("alt");
    let existing = p.path().join("existing");
    std::fs::create_dir_all(&alt).unwrap();
    std::fs::create_dir_all(&existing).unwrap();
    std::fs::write(existing.join("adopted.txt"), "was here first\n").unwrap();
    ok(lang, &p, &["config", "set", "stage", "1"]);
    ok(
        lang,
        &p,
        &["config", "set", "altRoot", alt.to_str().unwrap()],
    );
    ok(
        lang,
        &p,
        &["config", "set", "existing", existing.to_str().unwrap()],
    );
    (p, alt, existing)
}

#[test]
fn python_explicit_provider_alias_get_and_import() {
    explicit_provider_alias_get_and_import(Lang::Python);
}

#[test]
fn typescript_explicit_provider_alias_get_and_import() {
    explicit_provider_alias_get_and_import(Lang::TypeScript);
}

fn explicit_provider_alias_get_and_import(lang: Lang) {
    let (p, alt, existing) = options_project(lang);
    let urn = |t: &str, n: &str| format!("urn:pulumi:dev::options::{t}::{n}");

    // Stage 1: an explicit provider with its own root; the File lands under it.
    let up = ok(lang, &p, &["up"]);
    assert_eq!(
        up.steps(),
        vec![
            s("create", "elsewhere", "ok"),
            s("create", "mine", "ok"),
            s("create", "old", "ok"),
        ],
        "{lang:?}"
    );
    assert!(alt.join("elsewhere.txt").is_file());
    assert!(!p.path().join("elsewhere.txt").exists());
    let elsewhere = p.resource("elsewhere").unwrap();
    let mine_urn = urn("pulumi:providers:local", "mine");
    assert!(
        elsewhere["provider"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{mine_urn}::")),
        "{elsewhere}"
    );
    let state = p.state();
    let mine = state["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"] == mine_urn.as_str())
        .expect("the explicit provider is in the state")
        .clone();
    assert_eq!(mine["inputs"]["root"], alt.to_str().unwrap());
    let old = p.resource("old").unwrap();
    let kept = outputs(&up)["kept"].clone();

    // Stage 2: the Random renamed with an alias (no replace), a Directory read with `get`.
    ok(lang, &p, &["config", "set", "stage", "2"]);
    let up = ok(lang, &p, &["up"]);
    assert_eq!(
        up.steps(),
        vec![
            s("read", "got", "ok"),
            s("same", "elsewhere", "ok"),
            s("same", "mine", "ok"),
            s("same", "renamed", "ok"),
        ],
        "{lang:?}"
    );
    let renamed = p.resource("renamed").expect("recorded under its new name");
    assert_eq!(renamed["id"], old["id"]);
    assert_eq!(
        renamed["urn"],
        urn("local:index:Random", "renamed").as_str()
    );
    assert!(p.resource("old").is_none(), "the old URN is gone");
    let o = outputs(&up);
    assert_eq!(o["kept"], kept);
    assert_eq!(o["gotPath"], existing.to_str().unwrap());
    let got = p.resource("got").unwrap();
    assert_eq!(got["external"], true);
    assert_eq!(got["id"], existing.to_str().unwrap());

    // Stage 3: adopt an existing File with `import_`.
    ok(lang, &p, &["config", "set", "stage", "3"]);
    let adopted_file = existing.join("adopted.txt");
    let run = harness(&p, &["up"]);
    assert_eq!(run.code, 0, "{lang:?}: {}", run.describe());
    assert_eq!(run.step("adopted")["op"], "import", "{}", run.describe());
    let adopted = p.resource("adopted").unwrap();
    assert_eq!(adopted["id"], adopted_file.to_str().unwrap());
    assert_eq!(
        adopted["importID"],
        adopted_file.to_str().unwrap(),
        "the import id is kept in the state, as Pulumi keeps it"
    );
    assert_eq!(
        std::fs::read_to_string(&adopted_file).unwrap(),
        "was here first\n"
    );

    // Destroy: the provider's file goes; what `get` read stays.
    ok(lang, &p, &["destroy"]);
    assert!(!alt.join("elsewhere.txt").exists());
    assert!(existing.is_dir(), "`get` must not delete what it read");
    let left = p.resources();
    assert!(left.is_empty(), "{left:#?}");
}
