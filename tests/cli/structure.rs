//! The rules of ARCHITECTURE.md that a machine can check: no two modules of `src/` import each
//! other, directly or round a longer circle (counting `use crate::...` lines, inline
//! `crate::x::y` paths and `super::` paths, tests aside), and the layers below the commands never
//! reach for the command layer's error type.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::harness::root;

/// Every module of `src/` by its path (`judge::audit`), with its source (unit tests cut off).
fn modules() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let text = match text.find("#[cfg(test)]\nmod tests") {
                    Some(at) => text[..at].to_string(),
                    None => text,
                };
                found.insert(module_path(&path), text);
            }
        }
    }
    found
}

fn module_path(path: &Path) -> String {
    let relative = path.strip_prefix(root().join("src")).unwrap();
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.retain(|p| p != "lib" && p != "main");
    parts.join("::")
}

/// The longest known module a path names.
fn resolve<'a>(
    path: &str,
    here: &str,
    modules: &'a BTreeMap<String, String>,
) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len()).rev().find_map(|n| {
        let candidate = parts[..n].join("::");
        modules
            .get_key_value(&candidate)
            .map(|(k, _)| k)
            .filter(|k| k.as_str() != here)
    })
}

/// The paths after each `prefix` in `text`: `crate::judge::clients::Asked` gives
/// `judge::clients::Asked`.
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // A whole word: not the tail of another identifier (`my_crate::`).
            text[..*at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches(':')
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Which modules each module uses.
fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (module, text) in modules {
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let mut targets = BTreeSet::new();
        let mut add = |path: String| {
            if let Some(t) = resolve(&path, module, modules)
                && !module.starts_with(&format!("{t}::"))
                && t != parent
            {
                targets.insert(t.clone());
            }
        };
        for path in paths_after(text, "crate::") {
            add(path.to_string());
        }
        for path in paths_after(text, "super::") {
            add(match parent {
                "" => path.to_string(),
                p => format!("{p}::{path}"),
            });
        }
        // `use crate::{a::X, b}`.
        for group in text.split("use crate::{").skip(1) {
            let group = group.split('}').next().unwrap_or_default();
            for item in group.split([',', ' ', '\n']) {
                let item = item
                    .split("::{")
                    .next()
                    .unwrap_or_default()
                    .trim_matches(':');
                if !item.is_empty() {
                    add(item.to_string());
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// The circles of the graph (its strongly connected parts of more than one module).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Two modules are in one circle when each reaches the other.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in edges.keys() {
        if done.contains(m) || !reached[m].contains(m) {
            continue;
        }
        let circle: Vec<String> = reached[m]
            .iter()
            .filter(|other| reached[*other].contains(m))
            .cloned()
            .collect();
        done.extend(circle.iter().cloned());
        out.push(circle);
    }
    out
}

#[test]
fn no_modules_import_each_other_even_round_a_circle() {
    let modules = modules();
    assert!(modules.len() > 50, "read {} modules", modules.len());
    let edges = edges(&modules);
    // The analysis sees inline paths: fleet uses judge::clients, serve uses fleet.
    assert!(
        edges["fleet"].contains("judge::clients"),
        "{:?}",
        edges["fleet"]
    );
    assert!(
        edges["serve::probe"].contains("fleet"),
        "{:?}",
        edges["serve::probe"]
    );
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "modules that import each other: {found:?}"
    );
}

#[test]
fn a_circle_is_found_where_there_is_one() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["b"][..]),
        ("b", &["c"]),
        ("c", &["a"]),
        ("d", &["a"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.iter().map(|t| t.to_string()).collect()))
    .collect();
    assert_eq!(cycles(&edges), [["a", "b", "c"]]);
}

#[test]
fn the_layers_below_the_commands_never_use_the_command_error() {
    let below = ["fleet", "clients", "tls", "judge", "probe"];
    let offenders: Vec<String> = modules()
        .into_iter()
        .filter(|(m, text)| {
            below
                .iter()
                .any(|b| m == b || m.starts_with(&format!("{b}::")))
                && text.contains("crate::error")
        })
        .map(|(m, _)| m)
        .collect();
    assert!(offenders.is_empty(), "{offenders:?} use crate::error");
}
