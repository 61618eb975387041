//! The checks behind the test server's fuzz targets: label and field selector parsing and
//! matching, and the JSON, merge and strategic merge patch appliers, through the
//! `kubecto_testserver::__fuzz` hooks (the including module names them `hooks`).
//!
//! Included by `fuzz/src/lib.rs` (the fuzz targets) and by the test server's
//! `src/fuzzing.rs` (CI's replay of the committed corpora).

#![allow(dead_code)]

use serde_json::{Map, Value, json};

use super::hooks::{self, FieldSelector, LabelSelector};

/// Reads bytes from the input, zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    /// A string of up to `max` chars from `alphabet`.
    fn word(&mut self, alphabet: &[u8], max: u8) -> String {
        let n = self.byte() % (max + 1);
        (0..n)
            .map(|_| alphabet[usize::from(self.byte()) % alphabet.len()] as char)
            .collect()
    }
    /// Any text: up to 12 bytes, lossily UTF-8.
    fn text(&mut self) -> String {
        let n = usize::from(self.byte() % 13).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A valid label name or value: alphanumeric at both ends, `-_.` inside (`""` allowed
/// for values).
fn label_word(input: &mut Input, allow_empty: bool) -> String {
    let first = input.word(ALNUM, 1);
    if first.is_empty() {
        return if allow_empty {
            String::new()
        } else {
            "k".to_owned()
        };
    }
    let middle = input.word(b"abcXYZ019-_.", 10);
    if middle.is_empty() {
        return first;
    }
    let last = input.word(ALNUM, 1);
    let last = if last.is_empty() {
        "z".to_owned()
    } else {
        last
    };
    format!("{first}{middle}{last}")
}

/// A valid label key, sometimes with a DNS prefix.
fn label_key(input: &mut Input) -> String {
    let name = label_word(input, false);
    match input.byte() % 4 {
        0 => format!("{}x.example.com/{name}", input.word(LOWER, 5)),
        1 => format!("kubernetes.io/{name}"),
        _ => name,
    }
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

/// Fuzz target `selectors`. The first byte picks a mode.
///
/// - Any text as a label selector: parsing never panics and is deterministic; surrounding
///   whitespace changes nothing; the result matches labels made from the input without
///   panicking.
/// - Labels made from the input and a label selector built to match them (`k=v`, `k==v`,
///   `k in (v,w)`, `k!=w`, `k notin (w)`, `k`, `!absent`, with arbitrary spaces): it
///   parses and matches; with one term negated (`k!=v`, `!k`, ...) it does not.
/// - Any text as a field selector: parsing and validating never panic; matching an
///   object never panics; parsing is deterministic.
/// - An object with an arbitrary name and namespace and a field selector that names them
///   with `\` escapes: it parses, validates for config maps and matches; `!=` does not.
pub fn selectors(data: &[u8]) {
    let mut input = Input(data);
    match input.byte() % 4 {
        0 => any_label_selector(&mut input),
        1 => built_label_selector(&mut input),
        2 => any_field_selector(&mut input),
        _ => built_field_selector(&mut input),
    }
}

fn labels_from(input: &mut Input) -> Map<String, Value> {
    let mut labels = Map::new();
    for _ in 0..input.byte() % 4 {
        labels.insert(label_key(input), Value::String(label_word(input, true)));
    }
    labels
}

fn any_label_selector(input: &mut Input) {
    let labels = labels_from(input);
    let Ok(text) = std::str::from_utf8(input.0) else {
        return;
    };
    let parsed = LabelSelector::parse(text);
    assert_eq!(
        parsed,
        LabelSelector::parse(text),
        "not deterministic: {text:?}"
    );
    let padded = format!("  {text}\t");
    match (&parsed, LabelSelector::parse(&padded)) {
        (Ok(a), Ok(b)) => assert_eq!(*a, b, "whitespace around {text:?} changed it"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("whitespace around {text:?} changed it: {a:?} vs {b:?}"),
    }
    match parsed {
        Ok(sel) => {
            let _ = sel.matches(Some(&labels));
            let _ = sel.matches(None);
        }
        Err(e) => assert!(!e.is_empty(), "an empty error for {text:?}"),
    }
}

fn built_label_selector(input: &mut Input) {
    let labels = labels_from(input);
    let present: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let other = |v: &str| format!("{v}x1");
    let sp = |input: &mut Input| " ".repeat(usize::from(input.byte() % 3));
    let mut terms = Vec::new();
    let mut negated = Vec::new();
    for (k, v) in &present {
        let (a, b, c) = (sp(input), sp(input), sp(input));
        // `in` and `notin` take no empty value.
        let pick = input.byte() % 7;
        let pick = if v.is_empty() && matches!(pick, 2 | 4 | 6) {
            0
        } else {
            pick
        };
        let (term, neg) = match pick {
            0 => (format!("{a}{k}{b}={c}{v}"), format!("{k}!={v}")),
            1 => (format!("{a}{k}{b}=={c}{v}"), format!("{k}!={v}")),
            2 => (
                format!("{a}{k} {b}in{c}({v},{b}{})", other(v)),
                format!("{k} notin ({},{v})", other(v)),
            ),
            3 => (
                format!("{a}{k}{b}!={c}{}", other(v)),
                format!("{k}={}", other(v)),
            ),
            4 => (
                format!("{a}{k} {b}notin{c}({})", other(v)),
                format!("{k} in ({})", other(v)),
            ),
            5 => (format!("{a}{k}{b}"), format!("!{k}")),
            _ => (format!("{a}{k} {b}in{c}({v})"), format!("{k}!={v}")),
        };
        terms.push(term);
        negated.push(neg);
    }
    // A key that is absent.
    let absent = format!("absent{}", input.word(LOWER, 4));
    if !labels.contains_key(&absent) && input.byte().is_multiple_of(2) {
        terms.push(format!("!{absent}"));
        negated.push(absent.clone());
    }
    let text = terms.join(",");
    let sel = LabelSelector::parse(&text)
        .unwrap_or_else(|e| panic!("a valid selector {text:?} was refused: {e}"));
    assert!(
        sel.matches(Some(&labels)),
        "{text:?} does not match {labels:?}"
    );
    if terms.is_empty() {
        assert!(
            sel.matches(None),
            "the empty selector does not match everything"
        );
        return;
    }
    // Negate one term: then it must not match.
    let at = usize::from(input.byte()) % terms.len();
    let mut with_negation = terms.clone();
    with_negation[at] = negated[at].clone();
    let text = with_negation.join(",");
    let sel = LabelSelector::parse(&text)
        .unwrap_or_else(|e| panic!("a valid selector {text:?} was refused: {e}"));
    assert!(!sel.matches(Some(&labels)), "{text:?} matches {labels:?}");
}

const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "configmaps"),
    ("", "nodes"),
    ("", "events"),
    ("events.k8s.io", "events"),
    ("", "secrets"),
    ("", "namespaces"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("", "services"),
];

fn any_field_selector(input: &mut Input) {
    let (group, resource) = RESOURCES[usize::from(input.byte()) % RESOURCES.len()];
    let obj = json!({
        "metadata": {"name": input.text(), "namespace": input.text()},
        "spec": {"nodeName": input.text(), "hostNetwork": input.byte().is_multiple_of(2), "unschedulable": true},
        "status": {"phase": input.text(), "podIP": input.text(), "replicas": input.byte(), "succeeded": 1},
        "involvedObject": {"name": input.text(), "kind": "Pod"},
        "regarding": {"name": input.text()},
        "type": input.text(),
    });
    let Ok(text) = std::str::from_utf8(input.0) else {
        return;
    };
    let parsed = FieldSelector::parse(text);
    assert_eq!(
        parsed,
        FieldSelector::parse(text),
        "not deterministic: {text:?}"
    );
    match parsed {
        Ok(sel) => {
            let _ = sel.validate(group, resource);
            let _ = sel.matches(group, resource, &obj);
        }
        Err(e) => assert!(!e.is_empty(), "an empty error for {text:?}"),
    }
}

/// A field selector value with `\`, `,` and `=` escaped.
fn escape_field_value(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn built_field_selector(input: &mut Input) {
    let name = input.text();
    let namespace = input.text();
    let other = format!("{namespace}-other");
    let obj = json!({"metadata": {"name": name, "namespace": namespace}});
    let namespaced = [
        ("", "pods"),
        ("", "configmaps"),
        ("", "secrets"),
        ("apps", "replicasets"),
    ];
    let (group, resource) = namespaced[usize::from(input.byte()) % namespaced.len()];
    let ops = ["=", "=="];
    let op = ops[usize::from(input.byte() % 2)];
    let mut terms = [
        format!("metadata.name{op}{}", escape_field_value(&name)),
        format!("metadata.namespace!={}", escape_field_value(&other)),
    ];
    if input.byte().is_multiple_of(2) {
        terms.swap(0, 1);
    }
    let text = terms.join(",");
    let sel = FieldSelector::parse(&text).unwrap_or_else(|e| panic!("{text:?} was refused: {e}"));
    sel.validate(group, resource)
        .unwrap_or_else(|e| panic!("{text:?} is not valid for {resource}: {e}"));
    assert!(
        sel.matches(group, resource, &obj),
        "{text:?} does not match {obj}"
    );
    let text = format!("metadata.name!={}", escape_field_value(&name));
    let sel = FieldSelector::parse(&text).unwrap_or_else(|e| panic!("{text:?} was refused: {e}"));
    assert!(
        !sel.matches(group, resource, &obj),
        "{text:?} matches {obj}"
    );
}

// ---------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------

/// The input as two JSON documents split at the first NUL byte; `None` without one or
/// if either is not JSON.
fn two_documents(data: &[u8]) -> Option<(Value, Value)> {
    let at = data.iter().position(|b| *b == 0)?;
    let target = serde_json::from_slice(&data[..at]).ok()?;
    let patch = serde_json::from_slice(&data[at + 1..]).ok()?;
    Some((target, patch))
}

/// Whether `v` holds a `null` or a key starting with `$` anywhere.
fn has_null_or_directive(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null_or_directive),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_null_or_directive(v)),
        _ => false,
    }
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(m) => m.values().any(has_null),
        _ => false,
    }
}

/// Fuzz target `patches`. The first byte picks the applier; the rest is a target
/// document, a NUL byte and a patch (both JSON).
///
/// - JSON patch: applying the operations together gives what applying them one at a time
///   gives (or both fail); a patch whose operations are all `test`s leaves the document
///   as it was; a failure is a 400 or a 422.
/// - Merge patch (an object): applying it twice gives what applying it once gives; each
///   member it sets to `null` is gone and each scalar or array it sets is there (nulls
///   pruned).
/// - Strategic merge patch, with the Pod's patch metadata or none: never panics and
///   gives an object or a 400/422/500; with no metadata and a patch without `null`s or
///   `$` directives, it gives exactly what a merge patch gives.
pub fn patches(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((target, patch)) = two_documents(rest) else {
        return;
    };
    match mode % 3 {
        0 => check_json_patch(&target, &patch),
        1 => check_merge_patch(&target, &patch),
        _ => check_strategic(&target, &patch, mode & 0x80 != 0),
    }
}

fn check_json_patch(target: &Value, patch: &Value) {
    let together = hooks::json_patch(target, patch);
    if let Err((code, msg)) = &together {
        assert!(
            matches!(code, 400 | 422),
            "JSON patch failed with {code}: {msg}"
        );
    }
    let Value::Array(ops) = patch else {
        return;
    };
    if ops.is_empty() || !(target.is_object() || target.is_array()) {
        return;
    }
    let mut doc = Ok(target.clone());
    for op in ops {
        doc = doc.and_then(|d| hooks::json_patch(&d, &Value::Array(vec![op.clone()])));
    }
    match (&together, &doc) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "together vs one at a time: {target} {patch}"),
        (Err(_), Err(_)) => {}
        _ => panic!("together {together:?} vs one at a time {doc:?}: {target} {patch}"),
    }
    if ops
        .iter()
        .all(|op| op.get("op").and_then(Value::as_str) == Some("test"))
        && let Ok(after) = &together
    {
        assert_eq!(after, target, "test operations changed the document");
    }
}

/// Whether `v` holds a `null` inside an array (at any depth).
fn null_in_array(v: &Value, in_array: bool) -> bool {
    match v {
        Value::Null => in_array,
        Value::Array(items) => items.iter().any(|i| null_in_array(i, true)),
        Value::Object(m) => m.values().any(|i| null_in_array(i, in_array)),
        _ => false,
    }
}

fn check_merge_patch(target: &Value, patch: &Value) {
    let Value::Object(members) = patch else {
        return;
    };
    let mut once = target.clone();
    hooks::merge_patch(&mut once, patch);
    let mut twice = once.clone();
    hooks::merge_patch(&mut twice, patch);
    // Go's json-patch v4 is idempotent except for nulls inside arrays: an array put
    // where an object was is kept as sent, but an array replacing an array has its
    // objects' nulls pruned (`merge` prunes when the current value is not an object).
    if !null_in_array(patch, false) {
        assert_eq!(once, twice, "a merge patch applied twice: {target} {patch}");
    }
    let Value::Object(result) = &once else {
        panic!("an object patch gave {once}");
    };
    for (k, v) in members {
        match v {
            Value::Null => assert!(!result.contains_key(k), "{k} was not removed"),
            Value::Object(_) => assert!(
                result.get(k).is_some_and(Value::is_object),
                "{k} is not an object"
            ),
            v if !has_null(v) => assert_eq!(result.get(k), Some(v), "{k} was not set"),
            _ => {}
        }
    }
}

fn check_strategic(target: &Value, patch: &Value, pod: bool) {
    let kind = pod.then_some("Pod");
    let result = hooks::strategic_merge_patch(target, patch, kind);
    match &result {
        Ok(v) => assert!(v.is_object() || patch.is_null(), "not an object: {v}"),
        Err((code, msg)) => assert!(matches!(code, 400 | 422 | 500), "failed with {code}: {msg}"),
    }
    let Ok(once) = result else {
        return;
    };
    if !pod && target.is_object() && patch.is_object() && !has_null_or_directive(patch) {
        let mut merged = target.clone();
        hooks::merge_patch(&mut merged, patch);
        assert_eq!(
            once, merged,
            "strategic without metadata vs merge: {target} {patch}"
        );
    }
    // Not asserted: that applying it again changes nothing. Go's strategic merge patch is
    // not idempotent where the target lacks a field: the patch's value is taken whole,
    // unchecked, and merged by key only the second time (elements without their merge
    // key then fail, elements sharing one merge into the first).
}
