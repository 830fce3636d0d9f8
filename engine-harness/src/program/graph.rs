//! The dependency graph: what each resource refers to, its order, and cycles.

use super::eval::{FUNCTIONS, unsupported_function};
use super::invoke::{Place, extract_invokes, slots};
use super::source::Source;
use super::template::{Reference, references};
use super::{AliasDecl, AliasParent, Project, ResourceDecl};
use crate::Error;
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap};

/// What a `${root}` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RootKind {
    Resource,
    Variable,
    Config,
    Builtin,
}

pub(super) fn root_kind(p: &Project, root: &str) -> Option<RootKind> {
    if p.resource(root).is_some() {
        Some(RootKind::Resource)
    } else if p.variables.contains_key(root) {
        Some(RootKind::Variable)
    } else if p.config.contains_key(root) {
        Some(RootKind::Config)
    } else if root == "pulumi" {
        Some(RootKind::Builtin)
    } else {
        None
    }
}

pub(super) fn unknown_root(p: &Project, r: &Reference) -> String {
    let mut known: Vec<&str> = p.resources.iter().map(|r| r.name.as_str()).collect();
    known.extend(p.variables.keys().map(String::as_str));
    known.extend(p.config.keys().map(String::as_str));
    format!(
        "`${{{}}}` refers to `{}`, which is not a resource, variable or config key of this program; declare it, or use one of: {}",
        r.text,
        r.root,
        if known.is_empty() {
            "(none)".to_string()
        } else {
            known.join(", ")
        }
    )
}

/// The resources and invokes a template uses, directly or through variables and the
/// arguments of the invokes it holds.
#[derive(Debug, Clone, Default)]
pub(super) struct Deps {
    pub(super) resources: BTreeSet<String>,
    pub(super) invokes: BTreeSet<usize>,
}

impl Deps {
    fn extend(&mut self, other: &Deps) {
        self.resources.extend(other.resources.iter().cloned());
        self.invokes.extend(other.invokes.iter().copied());
    }
}

/// Computes [`Deps`], remembering each variable's.
struct DepWalker<'p> {
    p: &'p Project,
    variables: HashMap<String, Deps>,
}

impl DepWalker<'_> {
    /// The dependencies of the templates `values`; `stack` holds the variables being followed,
    /// to report a cycle among them.
    fn of<'v>(
        &mut self,
        values: impl IntoIterator<Item = &'v Json>,
        stack: &mut Vec<String>,
    ) -> Result<Deps, String> {
        let mut d = Deps::default();
        for v in values {
            for r in references(v)? {
                match root_kind(self.p, &r.root) {
                    Some(RootKind::Resource) => {
                        d.resources.insert(r.root.clone());
                    }
                    Some(RootKind::Variable) => d.extend(&self.variable(&r.root, stack)?),
                    _ => {}
                }
            }
            let mut found = BTreeSet::new();
            slots(v, &mut found);
            for j in found {
                d.invokes.insert(j);
                d.extend(&self.invoke(j, stack)?);
            }
        }
        Ok(d)
    }

    fn variable(&mut self, name: &str, stack: &mut Vec<String>) -> Result<Deps, String> {
        if let Some(d) = self.variables.get(name) {
            return Ok(d.clone());
        }
        if stack.iter().any(|s| s == name) {
            stack.push(name.to_string());
            return Err(format!(
                "variables refer to each other in a cycle: {}; break the cycle",
                stack.join(" -> ")
            ));
        }
        stack.push(name.to_string());
        let p = self.p;
        let d = self.of([&p.variables[name]], stack)?;
        stack.pop();
        self.variables.insert(name.to_string(), d.clone());
        Ok(d)
    }

    fn invoke(&mut self, j: usize, stack: &mut Vec<String>) -> Result<Deps, String> {
        let p = self.p;
        let inv = &p.invokes[j];
        let mut d = self.of(inv.arguments.values(), stack)?;
        d.resources.extend(inv.provider.iter().cloned());
        Ok(d)
    }
}

/// Lifts the `fn::invoke`s of resources, variables and outputs into `p.invokes`.
fn lift_invokes(src: &Source, p: &mut Project) -> Result<(), Error> {
    let mut invokes = Vec::new();
    let place = |path: &[&str], line: usize| Place {
        src,
        path: path.iter().map(|s| s.to_string()).collect(),
        line,
    };
    for r in &mut p.resources {
        let name = r.name.clone();
        for (k, v) in r.properties.iter_mut() {
            let at = place(&["resources", &name, "properties", k], r.line);
            extract_invokes(&at, v, &mut invokes)?;
        }
        if let Some(get) = &mut r.get {
            extract_invokes(
                &place(&["resources", &name, "get", "id"], r.line),
                &mut get.id,
                &mut invokes,
            )?;
            for (k, v) in get.state.iter_mut() {
                let at = place(&["resources", &name, "get", "state", k], r.line);
                extract_invokes(&at, v, &mut invokes)?;
            }
        }
    }
    for (name, v) in p.variables.iter_mut() {
        let at = place(&["variables", name], src.child_key("variables", name));
        extract_invokes(&at, v, &mut invokes)?;
    }
    for (name, v) in p.outputs.iter_mut() {
        let at = place(&["outputs", name], src.child_key("outputs", name));
        extract_invokes(&at, v, &mut invokes)?;
    }
    p.invokes = invokes;
    Ok(())
}

/// Every template of a resource: its properties and its `get`.
fn resource_templates(r: &ResourceDecl) -> Vec<&Json> {
    let mut out: Vec<&Json> = r.properties.values().collect();
    if let Some(get) = &r.get {
        out.push(&get.id);
        out.extend(get.state.values());
    }
    out
}

/// Checks that each reference in `values` names something of the program.
fn check_roots<'v>(
    src: &Source,
    p: &Project,
    line: usize,
    values: impl IntoIterator<Item = &'v Json>,
) -> Result<(), Error> {
    for v in values {
        for rf in references(v).map_err(|e| src.err(line, e))? {
            if root_kind(p, &rf.root).is_none() {
                return Err(src.err(
                    src.find(line, &format!("${{{}", rf.text)),
                    unknown_root(p, &rf),
                ));
            }
        }
    }
    Ok(())
}

/// Checks that `name`, given as the provider of something of package `package`, is a provider
/// resource of that package.
fn check_provider(p: &Project, name: &str, package: &str, user: &str) -> Result<(), String> {
    match p.resource(name) {
        Some(r) if r.is_provider() && r.package == package => Ok(()),
        Some(r) if r.is_provider() => Err(format!(
            "`provider` of {user} is `{name}`, a provider of package `{}`, but {user} belongs to package `{package}`; use a `pulumi:providers:{package}` resource",
            r.package
        )),
        Some(r) => Err(format!(
            "`provider` of {user} is `{name}`, which is a `{}`, not a provider resource; declare one with `type: pulumi:providers:{package}`",
            r.type_token
        )),
        None => Err(format!(
            "`provider` of {user} names `{name}`, which is not a resource of this program; declare it with `type: pulumi:providers:{package}`"
        )),
    }
}

/// Checks the resources that `options` name: provider, parent, alias parents, `dependsOn`.
fn check_options(src: &Source, p: &Project, r: &ResourceDecl) -> Result<(), Error> {
    let opt_line = |key: &str| {
        src.key_line(&["resources", &r.name, "options", key])
            .unwrap_or(r.line)
    };
    let o = &r.options;
    if let Some(prov) = &o.provider {
        check_provider(p, prov, &r.package, &format!("`{}`", r.name))
            .map_err(|e| src.err(opt_line("provider"), e))?;
    }
    if let Some(parent) = &o.parent
        && p.resource(parent).is_none()
    {
        return Err(src.err(
            opt_line("parent"),
            format!("`parent` of `{}` names `{parent}`, which is not a resource of this program; fix the name", r.name),
        ));
    }
    for a in &o.aliases {
        if let AliasDecl::Spec {
            parent: AliasParent::Resource(parent),
            ..
        } = a
            && p.resource(parent).is_none()
        {
            return Err(src.err(
                opt_line("aliases"),
                format!("an alias of `{}` names parent `{parent}`, which is not a resource of this program; give the old parent's URN as `parentUrn`", r.name),
            ));
        }
    }
    for d in &o.depends_on {
        if p.resource(d).is_none() {
            return Err(src.err(
                opt_line("dependsOn"),
                format!("`dependsOn` of `{}` names `{d}`, which is not a resource of this program; fix the name", r.name),
            ));
        }
    }
    Ok(())
}

pub(super) fn resolve_dependencies(src: &Source, mut p: Project) -> Result<Project, Error> {
    let unsupported = p
        .resources
        .iter()
        .map(|r| {
            (
                r.line,
                Json::Array(resource_templates(r).into_iter().cloned().collect()),
            )
        })
        .chain(
            p.variables
                .iter()
                .map(|(k, v)| (src.child_key("variables", k), v.clone())),
        )
        .chain(
            p.outputs
                .iter()
                .map(|(k, v)| (src.child_key("outputs", k), v.clone())),
        );
    for (line, v) in unsupported {
        if let Some(f) = unsupported_function(&v) {
            return Err(src.err(
                src.find(line, &f),
                format!(
                    "`{f}` is not supported by engine-harness; use one of {} or plain values",
                    FUNCTIONS.join(", ")
                ),
            ));
        }
    }
    lift_invokes(src, &mut p)?;

    for (name, v) in &p.variables {
        check_roots(src, &p, src.child_key("variables", name), [v])?;
    }
    for (name, v) in &p.outputs {
        check_roots(src, &p, src.child_key("outputs", name), [v])?;
    }
    for inv in &p.invokes {
        check_roots(src, &p, inv.line, inv.arguments.values())?;
        if let Some(prov) = &inv.provider {
            check_provider(
                &p,
                prov,
                inv.package(),
                &format!("`fn::invoke` of `{}`", inv.function),
            )
            .map_err(|e| src.err(inv.line, e))?;
        }
    }
    for r in &p.resources {
        check_roots(src, &p, r.line, resource_templates(r))?;
        check_options(src, &p, r)?;
    }

    let mut walker = DepWalker {
        p: &p,
        variables: HashMap::new(),
    };
    for name in p.variables.keys() {
        walker
            .variable(name, &mut Vec::new())
            .map_err(|e| src.err(src.child_key("variables", name), e))?;
    }
    let mut invoke_deps = Vec::new();
    for j in 0..p.invokes.len() {
        let d = walker
            .invoke(j, &mut Vec::new())
            .map_err(|e| src.err(p.invokes[j].line, e))?;
        invoke_deps.push(d);
    }
    let mut all_deps = Vec::new();
    for r in &p.resources {
        let mut deps = walker
            .of(resource_templates(r), &mut Vec::new())
            .map_err(|e| src.err(r.line, e))?;
        let o = &r.options;
        deps.resources.extend(o.depends_on.iter().cloned());
        deps.resources.extend(o.provider.iter().cloned());
        deps.resources.extend(o.parent.iter().cloned());
        if deps.resources.contains(&r.name) {
            return Err(src.err(
                r.line,
                format!(
                    "resource `{}` depends on itself; remove the self-reference",
                    r.name
                ),
            ));
        }
        all_deps.push(deps);
    }
    for (r, deps) in p.resources.iter_mut().zip(all_deps) {
        r.dependencies = deps.resources;
        r.invokes = deps.invokes;
    }
    for (inv, deps) in p.invokes.iter_mut().zip(invoke_deps) {
        inv.dependencies = deps.resources;
        inv.invokes = deps.invokes;
    }
    if let Some(cycle) = find_cycle(&p) {
        let first = p.resource(&cycle[0]).map(|r| r.line).unwrap_or(1);
        return Err(src.err(
            first,
            format!(
                "resources depend on each other in a cycle: {}; remove one of these references",
                cycle.join(" -> ")
            ),
        ));
    }
    Ok(p)
}

pub(super) fn find_cycle(p: &Project) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = p
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut color = vec![0u8; p.resources.len()];
    let mut stack = Vec::new();
    fn visit(
        i: usize,
        p: &Project,
        index: &HashMap<&str, usize>,
        color: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        color[i] = 1;
        stack.push(i);
        for d in &p.resources[i].dependencies {
            let j = index[d.as_str()];
            if color[j] == 1 {
                let pos = stack.iter().position(|x| *x == j).unwrap_or(0);
                let mut c: Vec<String> = stack[pos..]
                    .iter()
                    .map(|k| p.resources[*k].name.clone())
                    .collect();
                c.push(p.resources[j].name.clone());
                return Some(c);
            }
            if color[j] == 0
                && let Some(c) = visit(j, p, index, color, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        color[i] = 2;
        None
    }
    for i in 0..p.resources.len() {
        if color[i] == 0
            && let Some(c) = visit(i, p, &index, &mut color, &mut stack)
        {
            return Some(c);
        }
    }
    None
}
