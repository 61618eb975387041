//! `cargo xtask codegen [--check]`: generates the clientset's group-version accessors
//! (`crates/clientset/src/generated/`) from k8s-openapi's `Resource` impls.
//!
//! The source of truth is the k8s-openapi crate the workspace resolves (found with
//! `cargo metadata`): every Kubernetes version it ships (`src/v1_NN/`) is read, and for
//! each `impl crate::Resource for T` the generator records the group, version, kind,
//! plural (`URL_PATH_SEGMENT`) and scope, whether `T` is listable
//! (`impl crate::ListableResource`) and whether it has a status subresource (a listable
//! kind with a `status` field; this matches kube-apiserver's discovery for every built-in
//! group). Accessors of a resource that only some versions have are wrapped in
//! k8s-openapi's `k8s_if_ge_1_NN!`/`k8s_if_le_1_NN!` macros, so the clientset compiles
//! with whichever version feature the final binary picks.
//!
//! Output is one file per group-version plus `mod.rs`, formatted with rustfmt.
//! `--check` regenerates in memory and fails (exit 1) when the checked-in files differ.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

/// Where the generated code lives, relative to the workspace root.
const OUT_DIR: &str = "crates/clientset/src/generated";

pub(crate) fn run(args: &[String]) -> ExitCode {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        [flag, dir, tag] if flag == "--import-protos" => {
            return crate::codegen_protobuf::import(dir, tag);
        }
        _ => {
            eprintln!("usage: cargo xtask codegen [--check | --import-protos DIR TAG]");
            return ExitCode::from(2);
        }
    };
    let files = match generate() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("xtask codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = crate::workspace_root().join(OUT_DIR);
    let result = if check {
        check_files(&out, &files)
    } else {
        write_files(&out, &files)
    };
    let result = result
        .and_then(|()| crate::codegen_protobuf::run(check))
        .and_then(|()| crate::codegen_testserver_pb::run(check));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One resource as one Kubernetes version of k8s-openapi defines it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Resource {
    group: String,
    version: String,
    kind: String,
    plural: String,
    /// `k8s_openapi::api::apps::v1::Deployment`.
    path: String,
    namespaced: bool,
    listable: bool,
    status: bool,
}

/// All resources, each with the Kubernetes minor versions that have it.
struct Model {
    crate_version: String,
    minors: BTreeSet<u32>,
    resources: BTreeMap<Resource, BTreeSet<u32>>,
}

fn generate() -> Result<BTreeMap<String, String>, String> {
    let (src, crate_version) = k8s_openapi_source()?;
    let model = read_model(&src, crate_version)?;
    render(&model)
}

/// The `src` directory and version of the k8s-openapi package `cargo metadata` resolves.
pub(crate) fn k8s_openapi_source() -> Result<(PathBuf, String), String> {
    // Only the host's packages: resolving for every platform would download crates no
    // build here needs.
    let host = host_triple()?;
    let out = crate::cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host,
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed ({})", out.status));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cannot read cargo metadata's output: {e}"))?;
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata's output has no packages")?;
    let pkg = packages
        .iter()
        .find(|p| p["name"] == "k8s-openapi")
        .ok_or("the workspace does not depend on k8s-openapi")?;
    let manifest = pkg["manifest_path"]
        .as_str()
        .ok_or("k8s-openapi has no manifest_path")?;
    let version = pkg["version"].as_str().unwrap_or("?").to_owned();
    let dir = Path::new(manifest)
        .parent()
        .ok_or("k8s-openapi's manifest path has no parent")?;
    Ok((dir.join("src"), version))
}

/// The host target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .ok_or_else(|| "rustc -vV printed no host triple".to_owned())
}

fn read_model(src: &Path, crate_version: String) -> Result<Model, String> {
    let mut minors = BTreeSet::new();
    let mut resources: BTreeMap<Resource, BTreeSet<u32>> = BTreeMap::new();
    let entries =
        std::fs::read_dir(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", src.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(minor) = name.strip_prefix("v1_").and_then(|m| m.parse::<u32>().ok()) else {
            continue;
        };
        minors.insert(minor);
        let mut files = Vec::new();
        rust_files(&entry.path(), &mut files)?;
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let rel = file
                .strip_prefix(entry.path())
                .map_err(|_| format!("{} is outside {}", file.display(), name))?;
            for r in parse_file(&text, rel) {
                resources.entry(r).or_default().insert(minor);
            }
        }
    }
    if minors.is_empty() || resources.is_empty() {
        return Err(format!(
            "no Kubernetes versions or resources found under {}",
            src.display()
        ));
    }
    Ok(Model {
        crate_version,
        minors,
        resources,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The value of `const NAME: &'static str = "value";` in `block`.
fn const_str<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("const {name}:")))?;
    let start = line.find('"')? + 1;
    let end = line.rfind('"')?;
    line.get(start..end)
}

/// The top-level resources one k8s-openapi file defines (object metadata, a plural, and
/// a namespace or cluster scope: subresource types such as `Scale` are left out).
fn parse_file(text: &str, rel: &Path) -> Vec<Resource> {
    let mut out = Vec::new();
    let module: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let marker = "impl crate::Resource for ";
    let mut rest = text;
    while let Some(pos) = rest.find(marker) {
        rest = &rest[pos + marker.len()..];
        let Some(name_end) = rest.find(|c: char| !c.is_alphanumeric() && c != '_') else {
            break;
        };
        let ty = &rest[..name_end];
        let block = rest.split('}').next().unwrap_or_default();
        let (Some(group), Some(version), Some(kind), Some(plural)) = (
            const_str(block, "GROUP"),
            const_str(block, "VERSION"),
            const_str(block, "KIND"),
            const_str(block, "URL_PATH_SEGMENT"),
        ) else {
            continue;
        };
        let namespaced = if block.contains("type Scope = crate::NamespaceResourceScope") {
            true
        } else if block.contains("type Scope = crate::ClusterResourceScope") {
            false
        } else {
            continue;
        };
        let object_meta = text.contains(&format!("impl crate::Metadata for {ty} {{"))
            && text.contains("type Ty = crate::apimachinery::pkg::apis::meta::v1::ObjectMeta;");
        if plural.is_empty() || !object_meta {
            continue;
        }
        let listable = text.contains(&format!("impl crate::ListableResource for {ty} {{"));
        let has_status_field = text.contains("    pub status: ");
        let mut path = String::from("k8s_openapi");
        for m in &module {
            path.push_str("::");
            path.push_str(m);
        }
        path.push_str("::");
        path.push_str(ty);
        out.push(Resource {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            path,
            namespaced,
            listable,
            status: listable && has_status_field,
        });
    }
    out
}

/// Indices (in chars) where a new word starts in a CamelCase kind: `CSIDriver` ->
/// `[3]`, `PersistentVolumeClaim` -> `[10, 16]`.
fn word_starts(kind: &str) -> BTreeSet<usize> {
    let chars: Vec<char> = kind.chars().collect();
    let mut out = BTreeSet::new();
    for i in 1..chars.len() {
        let (prev, cur) = (chars[i - 1], chars[i]);
        let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
        if cur.is_uppercase()
            && (prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower))
        {
            out.insert(i);
        }
    }
    out
}

/// The accessor of a resource: its plural split at the kind's word boundaries
/// (`persistentvolumeclaims` of `PersistentVolumeClaim` -> `persistent_volume_claims`).
fn resource_method(kind: &str, plural: &str) -> String {
    let lower = kind.to_lowercase();
    let common = lower
        .chars()
        .zip(plural.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let starts = word_starts(kind);
    let mut out = String::new();
    for (i, c) in plural.chars().enumerate() {
        if i < common && starts.contains(&i) {
            out.push('_');
        }
        out.push(if c == '-' || c == '.' { '_' } else { c });
    }
    out
}

/// `core` for the core group, else the group's first DNS label (client-go's rule).
fn group_label(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Wraps `body` in k8s-openapi's version macros so it exists exactly in `set`.
fn gate(set: &BTreeSet<u32>, all: &BTreeSet<u32>, body: &str) -> String {
    if set == all {
        return body.to_owned();
    }
    let (Some(&min), Some(&max)) = (all.first(), all.last()) else {
        return body.to_owned();
    };
    // Contiguous runs of minors.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &m in set {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == m => *end = m,
            _ => runs.push((m, m)),
        }
    }
    let mut out = String::new();
    for (a, b) in runs {
        let wrapped = match (a == min, b == max) {
            (true, true) => body.to_owned(),
            _ if a == b => wrap(&format!("k8s_if_1_{a}"), body),
            (true, false) => wrap(&format!("k8s_if_le_1_{b}"), body),
            (false, true) => wrap(&format!("k8s_if_ge_1_{a}"), body),
            (false, false) => wrap(
                &format!("k8s_if_ge_1_{a}"),
                &wrap(&format!("k8s_if_le_1_{b}"), body),
            ),
        };
        out.push_str(&wrapped);
    }
    out
}

fn wrap(mac: &str, body: &str) -> String {
    let mut out = format!("k8s_openapi::{mac}! {{\n");
    for line in body.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("}\n");
    out
}

fn header(model: &Model) -> String {
    let first = model.minors.first().copied().unwrap_or_default();
    let last = model.minors.last().copied().unwrap_or_default();
    format!(
        "// @generated by `cargo xtask codegen` (xtask/src/codegen.rs) from the `Resource` impls\n\
         // of k8s-openapi {} (Kubernetes 1.{first} to 1.{last}). Do not edit by hand: run\n\
         // `cargo xtask codegen`; CI runs `cargo xtask codegen --check`.\n\n",
        model.crate_version
    )
}

struct GroupVersion<'a> {
    group: &'a str,
    version: &'a str,
    resources: Vec<(&'a Resource, &'a BTreeSet<u32>)>,
}

fn render(model: &Model) -> Result<BTreeMap<String, String>, String> {
    let mut gvs: BTreeMap<(String, String), GroupVersion<'_>> = BTreeMap::new();
    for (r, set) in &model.resources {
        gvs.entry((group_label(&r.group).to_owned(), r.version.clone()))
            .or_insert_with(|| GroupVersion {
                group: &r.group,
                version: &r.version,
                resources: Vec::new(),
            })
            .resources
            .push((r, set));
    }
    let mut files = BTreeMap::new();
    let mut mods = Vec::new();
    for ((label, version), gv) in &gvs {
        if let Some((other, _)) = gv.resources.iter().find(|(r, _)| r.group != gv.group) {
            return Err(format!(
                "groups {:?} and {:?} share the accessor name {label}_{version}",
                gv.group, other.group
            ));
        }
        let module = format!("{label}_{version}");
        let text = render_group_version(model, gv, label)?;
        files.insert(format!("{module}.rs"), format_rust(&text)?);
        let ty = format!("{}{}", upper_first(label), upper_first(version));
        let gv_set: BTreeSet<u32> = gv
            .resources
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        let export = gate(
            &gv_set,
            &model.minors,
            &format!("pub use self::{module}::{ty};\n"),
        );
        mods.push((module, export));
    }
    let mut m = String::new();
    m.push_str(
        "//! The group-version accessors of [`Clientset`](crate::Clientset), one module per\n",
    );
    m.push_str("//! group-version, generated from k8s-openapi's resource metadata.\n\n");
    m.push_str(&header(model));
    for (module, _) in &mods {
        let _ = writeln!(m, "mod {module};");
    }
    m.push('\n');
    for (_, export) in &mods {
        m.push_str(export);
    }
    files.insert("mod.rs".to_owned(), format_rust(&m)?);
    Ok(files)
}

fn render_group_version(
    model: &Model,
    gv: &GroupVersion<'_>,
    label: &str,
) -> Result<String, String> {
    let module = format!("{label}_{}", gv.version);
    let ty = format!("{}{}", upper_first(label), upper_first(gv.version));
    let api_version = if gv.group.is_empty() {
        gv.version.to_owned()
    } else {
        format!("{}/{}", gv.group, gv.version)
    };
    let gv_set: BTreeSet<u32> = gv
        .resources
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .collect();

    let mut methods = String::new();
    let mut statuses = String::new();
    let mut names: BTreeMap<String, Vec<&BTreeSet<u32>>> = BTreeMap::new();
    for (r, set) in &gv.resources {
        let method = resource_method(&r.kind, &r.plural);
        let taken = names.entry(method.clone()).or_default();
        if taken.iter().any(|s| !s.is_disjoint(set)) {
            return Err(format!(
                "two {api_version} resources would both be called {method}()"
            ));
        }
        taken.push(set);
        let mut body = String::new();
        if r.namespaced {
            let _ = write!(
                body,
                "/// `{plural}` (`{kind}`) in `namespace`.\n\
                 pub fn {method}(&self, namespace: &str) -> crate::Api<{path}> {{\n    \
                     crate::Api::namespaced(self.client.clone(), namespace)\n\
                 }}\n",
                plural = r.plural,
                kind = r.kind,
                path = r.path,
            );
            if r.listable {
                let _ = write!(
                    body,
                    "\n/// `{plural}` (`{kind}`) in every namespace: list and watch.\n\
                     pub fn {method}_all_namespaces(&self) -> crate::AllNamespaces<{path}> {{\n    \
                         crate::AllNamespaces::new(self.client.clone())\n\
                     }}\n",
                    plural = r.plural,
                    kind = r.kind,
                    path = r.path,
                );
            }
        } else {
            let _ = write!(
                body,
                "/// `{plural}` (`{kind}`, cluster-scoped).\n\
                 pub fn {method}(&self) -> crate::Api<{path}> {{\n    \
                     crate::Api::cluster(self.client.clone())\n\
                 }}\n",
                plural = r.plural,
                kind = r.kind,
                path = r.path,
            );
        }
        if !methods.is_empty() {
            methods.push('\n');
        }
        methods.push_str(&gate(set, &gv_set, &body));
        if r.status {
            let line = format!("impl crate::HasStatus for {} {{}}\n", r.path);
            statuses.push_str(&gate(set, &model.minors, &line));
        }
    }

    let mut body = String::new();
    let _ = write!(
        body,
        "/// The `{api_version}` group-version: one typed client per resource, all sharing the\n\
         /// clientset's [`RestClient`](kubecto_rest_core::RestClient).\n\
         #[derive(Clone, Debug)]\n\
         pub struct {ty} {{\n    \
             client: kubecto_rest_core::RestClient,\n\
         }}\n\
         \n\
         impl crate::Clientset {{\n    \
             /// Typed clients for `{api_version}`.\n    \
             pub fn {module}(&self) -> {ty} {{\n        \
                 {ty} {{\n            \
                     client: self.rest_client().clone(),\n        \
                 }}\n    \
             }}\n\
         }}\n\
         \n\
         impl {ty} {{\n"
    );
    for line in methods.lines() {
        if line.is_empty() {
            body.push('\n');
        } else {
            body.push_str("    ");
            body.push_str(line);
            body.push('\n');
        }
    }
    body.push_str("}\n");
    if !statuses.is_empty() {
        body.push('\n');
        body.push_str(&statuses);
    }
    let mut out = header(model);
    out.push_str(&gate(&gv_set, &model.minors, &body));
    Ok(out)
}

/// Formats `code` with rustfmt (edition 2024), as `cargo fmt` would.
pub(crate) fn format_rust(code: &str) -> Result<String, String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = std::process::Command::new(rustfmt)
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(code.as_bytes())
            .map_err(|e| format!("cannot write to rustfmt: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rustfmt rejected the generated code: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("rustfmt wrote invalid UTF-8: {e}"))
}

fn existing_files(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        out.insert(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}

fn check_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), String> {
    let mut stale = Vec::new();
    for (name, text) in files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    for name in existing_files(dir)? {
        if !files.contains_key(&name) {
            stale.push(format!("{name} should not exist"));
        }
    }
    if stale.is_empty() {
        println!(
            "{OUT_DIR}: {} files up to date with k8s-openapi",
            files.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{OUT_DIR} is stale ({}); run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        ))
    }
}

fn write_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in existing_files(dir)? {
        if !files.contains_key(&name) {
            let path = dir.join(&name);
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    let mut changed = 0;
    for (name, text) in files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        changed += 1;
    }
    println!("{OUT_DIR}: {} files, {changed} rewritten", files.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_follow_the_kind() {
        assert_eq!(resource_method("Pod", "pods"), "pods");
        assert_eq!(
            resource_method("PersistentVolumeClaim", "persistentvolumeclaims"),
            "persistent_volume_claims"
        );
        assert_eq!(resource_method("CSIDriver", "csidrivers"), "csi_drivers");
        assert_eq!(resource_method("APIService", "apiservices"), "api_services");
        assert_eq!(
            resource_method("NetworkPolicy", "networkpolicies"),
            "network_policies"
        );
        assert_eq!(
            resource_method("ServiceCIDR", "servicecidrs"),
            "service_cidrs"
        );
        assert_eq!(resource_method("Endpoints", "endpoints"), "endpoints");
        assert_eq!(
            resource_method("ComponentStatus", "componentstatuses"),
            "component_statuses"
        );
    }

    #[test]
    fn group_labels() {
        assert_eq!(group_label(""), "core");
        assert_eq!(group_label("apps"), "apps");
        assert_eq!(group_label("rbac.authorization.k8s.io"), "rbac");
    }

    #[test]
    fn gates() {
        let all: BTreeSet<u32> = (33..=37).collect();
        assert_eq!(gate(&all, &all, "x\n"), "x\n");
        let late: BTreeSet<u32> = (36..=37).collect();
        assert_eq!(
            gate(&late, &all, "x\n"),
            "k8s_openapi::k8s_if_ge_1_36! {\n    x\n}\n"
        );
        assert_eq!(
            gate(&[35].into(), &all, "x\n"),
            "k8s_openapi::k8s_if_1_35! {\n    x\n}\n"
        );
        let mid: BTreeSet<u32> = [34, 35].into();
        assert_eq!(
            gate(&mid, &all, "x\n"),
            "k8s_openapi::k8s_if_ge_1_34! {\n    k8s_openapi::k8s_if_le_1_35! {\n        x\n    }\n}\n"
        );
    }

    #[test]
    fn parses_a_resource_impl() {
        let text = "pub struct Pod {\n    pub status: Option<X>,\n}\n\
            impl crate::Resource for Pod {\n    const API_VERSION: &'static str = \"v1\";\n    const GROUP: &'static str = \"\";\n    const KIND: &'static str = \"Pod\";\n    const VERSION: &'static str = \"v1\";\n    const URL_PATH_SEGMENT: &'static str = \"pods\";\n    type Scope = crate::NamespaceResourceScope;\n}\n\
            impl crate::ListableResource for Pod {\n}\n\
            impl crate::Metadata for Pod {\n    type Ty = crate::apimachinery::pkg::apis::meta::v1::ObjectMeta;\n}\n";
        let r = parse_file(text, Path::new("api/core/v1/pod.rs"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].path, "k8s_openapi::api::core::v1::Pod");
        assert!(r[0].namespaced && r[0].listable && r[0].status);
    }
}
