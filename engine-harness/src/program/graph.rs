//! The dependency graph: what each resource refers to, its order, and cycles.

#[allow(unused_imports)]
use super::*;

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

pub(super) fn resolve_dependencies(src: &Source, mut p: Project) -> Result<Project, Error> {
    // Direct resource references of each variable.
    let mut var_refs: HashMap<String, Vec<Reference>> = HashMap::new();
    for (name, v) in &p.variables {
        let line = src.child_key("variables", name);
        let refs = references(v).map_err(|e| src.err(line, e))?;
        for r in &refs {
            if root_kind(&p, &r.root).is_none() {
                return Err(src.err(src.find(line, &r.text), unknown_root(&p, r)));
            }
        }
        var_refs.insert(name.clone(), refs);
    }
    // Resource dependencies of each variable, following variables; detect variable cycles.
    pub(super) fn var_deps(
        p: &Project,
        var_refs: &HashMap<String, Vec<Reference>>,
        name: &str,
        stack: &mut Vec<String>,
    ) -> Result<BTreeSet<String>, String> {
        if stack.iter().any(|s| s == name) {
            stack.push(name.to_string());
            return Err(format!(
                "variables refer to each other in a cycle: {}; break the cycle",
                stack.join(" -> ")
            ));
        }
        stack.push(name.to_string());
        let mut out = BTreeSet::new();
        for r in var_refs.get(name).into_iter().flatten() {
            match root_kind(p, &r.root) {
                Some(RootKind::Resource) => {
                    out.insert(r.root.clone());
                }
                Some(RootKind::Variable) => out.extend(var_deps(p, var_refs, &r.root, stack)?),
                _ => {}
            }
        }
        stack.pop();
        Ok(out)
    }
    let mut var_resources = HashMap::new();
    for name in p.variables.keys() {
        let deps = var_deps(&p, &var_refs, name, &mut Vec::new())
            .map_err(|e| src.err(src.child_key("variables", name), e))?;
        var_resources.insert(name.clone(), deps);
    }
    let unsupported = p
        .resources
        .iter()
        .map(|r| (r.line, Json::Object(r.properties.clone())))
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
    let mut all_deps = Vec::new();
    for r in &p.resources {
        let refs =
            references(&Json::Object(r.properties.clone())).map_err(|e| src.err(r.line, e))?;
        let mut deps = BTreeSet::new();
        for rf in &refs {
            match root_kind(&p, &rf.root) {
                Some(RootKind::Resource) => {
                    deps.insert(rf.root.clone());
                }
                Some(RootKind::Variable) => deps.extend(var_resources[&rf.root].iter().cloned()),
                Some(_) => {}
                None => {
                    return Err(src.err(
                        src.find(r.line, &format!("${{{}", rf.text)),
                        unknown_root(&p, rf),
                    ));
                }
            }
        }
        for d in &r.options.depends_on {
            if p.resource(d).is_none() {
                return Err(src.err(
                    src.find(r.line, "dependsOn"),
                    format!("`dependsOn` of `{}` names `{d}`, which is not a resource of this program; fix the name", r.name),
                ));
            }
            deps.insert(d.clone());
        }
        if deps.contains(&r.name) {
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
        r.dependencies = deps;
    }
    for (name, v) in &p.outputs {
        let line = src.child_key("outputs", name);
        for rf in references(v).map_err(|e| src.err(line, e))? {
            if root_kind(&p, &rf.root).is_none() {
                return Err(src.err(src.find(line, &rf.text), unknown_root(&p, &rf)));
            }
        }
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
