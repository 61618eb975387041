//! The server's modules import one way: each stage only from the stages below it
//! (`server` -> `route` -> `handlers` -> `objects` -> `logic` -> `shared` -> `storage`,
//! with `controllers` beside the handlers, `streams` (exec, attach, port-forward on
//! upgraded connections) beside the router, and `protobuf`, the transcoder, at the bottom
//! beside `storage`), and no set of modules imports itself in a circle. Read from the source: every `crate::` path, `use crate::{..}` groups included.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each stage and the stages it may import from (besides itself).
const STAGES: &[(&str, &[&str])] = &[
    ("storage", &[]),
    ("protobuf", &[]),
    ("shared", &["storage", "protobuf"]),
    ("logic", &["shared", "storage", "protobuf"]),
    ("objects", &["logic", "shared", "storage", "protobuf"]),
    (
        "controllers",
        &["objects", "logic", "shared", "storage", "protobuf"],
    ),
    (
        "handlers",
        &["objects", "logic", "shared", "storage", "protobuf"],
    ),
    (
        "route",
        &[
            "handlers", "objects", "logic", "shared", "storage", "protobuf",
        ],
    ),
    (
        "streams",
        &["objects", "logic", "shared", "storage", "protobuf"],
    ),
    (
        "server",
        &[
            "streams", "route", "handlers", "objects", "logic", "shared", "storage", "protobuf",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module path (`handlers::read`, `crate` for lib.rs) -> file, for every module file.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || (prefix.is_empty() && name == "main") {
            continue;
        }
        let mut p = prefix.to_vec();
        if name != "mod" && !(prefix.is_empty() && name == "lib") {
            p.push(name);
        }
        let key = if p.is_empty() {
            "crate".to_owned()
        } else {
            p.join("::")
        };
        out.insert(key, path);
    }
}

/// The source without `//` comments (string literals holding `//` are left alone).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut cut = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if !in_str && c == '/' && prev == '/' {
                cut = i - 1;
                break;
            }
            prev = c;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Paths named by a use-tree or path starting right after `crate::`; returns them
/// (as segment lists, `crate` excluded) and the rest of the text.
fn tree<'a>(mut s: &'a str, prefix: &[String], out: &mut Vec<Vec<String>>) -> &'a str {
    let mut path = prefix.to_vec();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('{') {
            s = rest;
            loop {
                s = s.trim_start();
                if let Some(rest) = s.strip_prefix('}') {
                    return rest;
                }
                s = tree(s, &path, out);
                s = s.trim_start();
                s = s.strip_prefix(',').unwrap_or(s);
            }
        }
        let (seg, rest) = ident(s);
        if seg.is_empty() {
            out.push(path);
            return s;
        }
        path.push(seg.to_owned());
        s = rest;
        match s.strip_prefix("::") {
            Some(rest) => s = rest,
            None => {
                out.push(path);
                return s;
            }
        }
    }
}

/// Every module path a file names through `crate::`.
fn imports(text: &str) -> Vec<Vec<String>> {
    let text = code(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            rest = after;
            continue;
        }
        rest = tree(after, &[], &mut out);
    }
    out
}

/// The longest prefix of `path` that is a module.
fn resolve(path: &[String], mods: &BTreeMap<String, PathBuf>) -> String {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| mods.contains_key(m))
        .unwrap_or_else(|| "crate".to_owned())
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut mods = BTreeMap::new();
    modules(&src(), &[], &mut mods);
    let mut graph = BTreeMap::new();
    for (m, file) in &mods {
        let text = std::fs::read_to_string(file).unwrap();
        let deps: BTreeSet<String> = imports(&text)
            .iter()
            .map(|p| resolve(p, &mods))
            .filter(|d| d != m)
            .collect();
        graph.insert(m.clone(), deps);
    }
    graph
}

fn stage(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    impl<'g> T<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn no_module_imports_itself_in_a_circle() {
    let graph = graph();
    assert!(graph.len() > 40, "modules not found: {graph:?}");
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
}

#[test]
fn each_stage_imports_only_the_stages_below_it() {
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some((_, allowed)) = STAGES.iter().find(|(s, _)| *s == stage(&module)) else {
            continue;
        };
        for dep in deps {
            let to = stage(&dep);
            if to != stage(&module) && !allowed.contains(&to) {
                wrong.push(format!("{module} imports {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the stages: {wrong:#?}");
}

#[test]
fn the_reader_sees_use_groups_and_inline_paths() {
    let text = "use crate::logic::{apply, patch::{self, PatchError}};\n\
                // crate::commented::out\n\
                let x = crate::shared::meta::now_rfc3339();\n";
    let found: Vec<String> = imports(text).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        [
            "logic::apply",
            "logic::patch::self",
            "logic::patch::PatchError",
            "shared::meta::now_rfc3339",
        ]
    );
}
