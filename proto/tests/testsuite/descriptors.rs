//! Our compiled protocol against Pulumi's: every package, import, message, field (name, number,
//! label, type, json name, oneof), enum value, reserved range and RPC of the descriptors that the
//! pinned PyPI `pulumi` release ships in its generated `*_pb2.py` modules, compared with
//! [`pulumirpc::FILE_DESCRIPTOR_SET`]. A difference fails the test unless `DIFFERENCES.md`
//! lists it; a listed difference that no longer occurs fails it too, so the list stays true.
//! Options (`go_package`, `deprecated`) are not compared: they do not change the wire.

use prost::Message;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use test_support::programs::venv_python;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Pulumi's descriptors, as the Python SDK's generated modules hold them.
fn published() -> FileDescriptorSet {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pulumi.fds");
    let script = manifest_dir().join("tests/dump_descriptors.py");
    let out = Command::new(venv_python())
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dump_descriptors.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    FileDescriptorSet::decode(std::fs::read(&path).unwrap().as_slice()).unwrap()
}

/// One line per fact of a file, each naming its file and full path.
fn facts(file: &FileDescriptorProto) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let f = file.name();
    out.insert(format!("{f}: package {}", file.package()));
    for dep in &file.dependency {
        out.insert(format!("{f}: import {dep}"));
    }
    let scope = format!(".{}", file.package());
    for e in &file.enum_type {
        enum_facts(f, &scope, e, &mut out);
    }
    for m in &file.message_type {
        message_facts(f, &scope, m, &mut out);
    }
    for s in &file.service {
        service_facts(f, &scope, s, &mut out);
    }
    out
}

fn enum_facts(f: &str, scope: &str, e: &EnumDescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", e.name());
    out.insert(format!("{f}: enum {name}"));
    for v in &e.value {
        out.insert(format!(
            "{f}: enum {name} value {} = {}",
            v.name(),
            v.number()
        ));
    }
}

fn message_facts(f: &str, scope: &str, m: &DescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", m.name());
    let map_entry = m.options.as_ref().is_some_and(|o| o.map_entry());
    out.insert(format!(
        "{f}: message {name}{}",
        if map_entry { " (map entry)" } else { "" }
    ));
    for field in &m.field {
        let oneof = match field.oneof_index {
            Some(i) => format!(
                " oneof {}",
                m.oneof_decl
                    .get(i as usize)
                    .map(|o| o.name())
                    .unwrap_or("?")
            ),
            None => String::new(),
        };
        out.insert(format!(
            "{f}: message {name} field {} = {} {:?} {:?} {} json={}{}{}",
            field.name(),
            field.number(),
            field.label(),
            field.r#type(),
            field.type_name(),
            field
                .json_name
                .clone()
                .unwrap_or_else(|| default_json_name(field.name())),
            oneof,
            if field.proto3_optional() {
                " proto3_optional"
            } else {
                ""
            },
        ));
    }
    for r in &m.reserved_range {
        out.insert(format!(
            "{f}: message {name} reserved {}..{}",
            r.start(),
            r.end()
        ));
    }
    for r in &m.reserved_name {
        out.insert(format!("{f}: message {name} reserved \"{r}\""));
    }
    for e in &m.enum_type {
        enum_facts(f, &name, e, out);
    }
    for nested in &m.nested_type {
        message_facts(f, &name, nested, out);
    }
}

/// The JSON name protobuf gives a field that declares none (lowerCamelCase): some published
/// modules leave the default out of their descriptors.
fn default_json_name(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn service_facts(f: &str, scope: &str, s: &ServiceDescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", s.name());
    out.insert(format!("{f}: service {name}"));
    for m in &s.method {
        out.insert(format!(
            "{f}: service {name} rpc {}({}{}) returns ({}{})",
            m.name(),
            if m.client_streaming() { "stream " } else { "" },
            m.input_type(),
            if m.server_streaming() { "stream " } else { "" },
            m.output_type(),
        ));
    }
}

fn all_facts(set: &FileDescriptorSet) -> BTreeSet<String> {
    set.file.iter().flat_map(facts).collect()
}

/// The deliberate differences `DIFFERENCES.md` lists: each a line `- \`<difference>\`: why`,
/// where the difference reads `missing here: <fact>` or `only here: <fact>`.
fn deliberate(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once('`').map(|(d, _)| d.to_string()))
        .collect()
}

#[test]
fn descriptors_match_the_published_pulumi_release() {
    let theirs = all_facts(&published());
    let ours = all_facts(&FileDescriptorSet::decode(pulumirpc::FILE_DESCRIPTOR_SET).unwrap());
    assert!(
        theirs.len() > 1000,
        "the published descriptors hold only {} facts: is the pulumi package complete?",
        theirs.len()
    );
    let mut found = BTreeSet::new();
    for fact in theirs.difference(&ours) {
        found.insert(format!("missing here: {fact}"));
    }
    for fact in ours.difference(&theirs) {
        found.insert(format!("only here: {fact}"));
    }
    let listed = deliberate(&manifest_dir().join("DIFFERENCES.md"));
    let unlisted: Vec<_> = found.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "differences from Pulumi's published descriptors not listed in proto/DIFFERENCES.md:\n{}\n\n\
         listed there but no longer found:\n{}",
        unlisted
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        stale
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
}
