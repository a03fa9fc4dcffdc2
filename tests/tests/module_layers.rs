//! No import circles between the server's modules (ARCHITECTURE.md, "Layers").
//!
//! Reads `server/src` as text: every path through `crate::` or `super::` (in `use` trees too) is an edge from
//! the file's module to the longest module that path names. A module's own descendants are its face (it may
//! re-export them), so edges into them do not count; test modules are left out. A circle between two or more
//! modules fails the test with the modules it joins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`api::reports`) → source text, for every `.rs` file under `root`.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read server/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a module");
                out.insert(module_name(root, &path), text);
            }
        }
    }
    out
}

fn module_name(root: &Path, file: &Path) -> String {
    let relative: PathBuf = file
        .strip_prefix(root)
        .expect("under root")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a module without comments and without its `#[cfg(test)]` tail.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or(text);
    body.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a `use` tree or expression path spells from `text` on (just after `crate::` or `super::`):
/// `{a::b, c::{d, e}}` gives `a::b`, `c::d`, `c::e`.
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    walk(&chars, &mut 0, &[], &mut out);
    out
}

fn walk(chars: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    loop {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
        if *i < chars.len() && chars[*i] == '{' {
            *i += 1;
            loop {
                walk(chars, i, &path, out);
                while *i < chars.len() && chars[*i].is_whitespace() {
                    *i += 1;
                }
                match chars.get(*i) {
                    Some(',') => *i += 1,
                    Some('}') => {
                        *i += 1;
                        break;
                    }
                    _ => break,
                }
                while *i < chars.len() && chars[*i].is_whitespace() {
                    *i += 1;
                }
                if chars.get(*i) == Some(&'}') {
                    *i += 1;
                    break;
                }
            }
            return;
        }
        let start = *i;
        while *i < chars.len() && is_ident(chars[*i]) {
            *i += 1;
        }
        if start == *i {
            out.push(path);
            return;
        }
        path.push(chars[start..*i].iter().collect());
        if chars.get(*i) == Some(&':') && chars.get(*i + 1) == Some(&':') {
            *i += 2;
        } else {
            out.push(path);
            return;
        }
    }
}

/// Edges from each module to the modules it names, outside its own subtree.
fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    let mut graph = BTreeMap::new();
    for (name, text) in modules {
        let here: Vec<String> = name
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let code = code(text);
        let mut targets = BTreeSet::new();
        for (at, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            let before = code[..at].chars().next_back();
            if before.is_some_and(is_ident) || code[..at].ends_with("super::") {
                continue; // part of a longer name, or counted from the first `super::`
            }
            let (base, rest) = if code[at..].starts_with("crate::") {
                (Vec::new(), &code[at + "crate::".len()..])
            } else {
                let mut base = here.clone();
                let mut rest = &code[at..];
                // `super` of `a::b` is `a`, whether it lives in `a/b.rs` or `a/b/mod.rs`.
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
                (base, rest)
            };
            for path in paths(rest) {
                let full: Vec<String> = base.iter().cloned().chain(path).collect();
                let target = (0..=full.len())
                    .rev()
                    .map(|n| full[..n].join("::"))
                    .find(|m| known.contains(m.as_str()))
                    .unwrap_or_default();
                let inside =
                    target == *name || name.is_empty() || target.starts_with(&format!("{name}::"));
                if !inside {
                    targets.insert(target);
                }
            }
        }
        graph.insert(name.clone(), targets);
    }
    graph
}

/// Strongly connected components of two or more modules (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.graph.contains_key(w) {
                    continue;
                }
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.out
}

/// Each circle of `krate` as its edges, `from → to`.
fn crate_circles(krate: &str) -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    let graph = edges(&modules(&root));
    circles(&graph)
        .into_iter()
        .map(|circle| {
            circle
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| circle.contains(to))
                        .map(move |to| format!("{from} → {to}"))
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_reader_sees_use_trees_and_super_paths() {
    let mut text = BTreeMap::new();
    text.insert(String::new(), "pub mod a; pub mod b;".to_string());
    text.insert(
        "a".to_string(),
        "use crate::{b::{X, c::Y}, a::inner};".to_string(),
    );
    text.insert("b".to_string(), "fn f() { super::a::g() }".to_string());
    text.insert("b::c".to_string(), "use super::super::a;".to_string());
    text.insert(
        "a::inner".to_string(),
        "use super::super::b::c;".to_string(),
    );
    let graph = edges(&text);
    assert_eq!(
        graph["a"],
        BTreeSet::from(["b".to_string(), "b::c".to_string()])
    );
    assert_eq!(graph["b"], BTreeSet::from(["a".to_string()]));
    assert_eq!(graph["b::c"], BTreeSet::from(["a".to_string()]));
    assert_eq!(graph["a::inner"], BTreeSet::from(["b::c".to_string()]));
    assert_eq!(
        circles(&graph),
        vec![vec!["a".to_string(), "b".to_string(), "b::c".to_string()]]
    );
}

#[test]
fn the_server_has_no_import_circle() {
    let found = crate_circles("server");
    assert!(
        found.is_empty(),
        "modules of server/src import each other in a circle (see ARCHITECTURE.md, Layers): {found:#?}"
    );
}
