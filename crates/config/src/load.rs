//! Reading kubeconfig files: parsing, resolving relative paths, the loading rules
//! (explicit path, `$KUBECONFIG`, `~/.kube/config`) and kubectl's merge.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Files, Result};
use crate::limits::{MAX_KUBECONFIG_BYTES, MAX_YAML_DEPTH, read_limited};
use crate::model::{Kubeconfig, NamedExtension};

/// Field names whose values are secret: a parse error on them never quotes the value.
const SECRET_FIELDS: &[&str] = &["token", "password", "client-key-data", "value", "config"];

impl Kubeconfig {
    /// Parse a kubeconfig from YAML (or JSON) text.
    ///
    /// `origin` is the file the text came from: it is recorded on every entry and
    /// named in errors. Relative paths are left as they are; use
    /// [`Kubeconfig::read_from`] to have them resolved against the file's directory.
    /// Empty text is an empty kubeconfig, as for kubectl.
    ///
    /// # Errors
    /// [`Error::Parse`] with the line, column and field path of the problem, or the
    /// line and column where the YAML nests deeper than [`MAX_YAML_DEPTH`].
    pub fn from_yaml(text: &str, origin: Option<&Path>) -> Result<Self> {
        let mut config = if text.trim().is_empty() {
            Kubeconfig::default()
        } else {
            // The field path of a failure ("clusters[0].cluster.server"), for the message.
            let mut field = String::new();
            serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
                serde_path_to_error::deserialize::<_, Option<Kubeconfig>>(de).map_err(|e| {
                    field = e.path().to_string();
                    e.into_inner()
                })
            })
            .map_err(|e| parse_error(&e, &field, origin))?
            // A document that is only `null` or `---`: empty, as an empty file.
            .unwrap_or_default()
        };
        if let Some(origin) = origin {
            config.set_source(origin);
        }
        Ok(config)
    }

    /// Read one kubeconfig file, parse it and resolve its relative paths
    /// (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`, and
    /// an exec `command` containing a `/`) against the directory of the file.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read or is larger than
    /// [`MAX_KUBECONFIG_BYTES`] (16 MiB), [`Error::Parse`]
    /// when it is not a kubeconfig.
    pub fn read_from(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_limited(path, MAX_KUBECONFIG_BYTES, "a kubeconfig file")
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )
                })
            })
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let mut config = Kubeconfig::from_yaml(&text, Some(path))?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(dir) = abs.parent() {
            config.resolve_relative_paths(dir);
        }
        Ok(config)
    }

    /// Load a kubeconfig with kubectl's default loading rules:
    /// see [`LoadingRules::from_env`].
    ///
    /// # Errors
    /// As [`LoadingRules::load`].
    pub fn read() -> Result<Self> {
        LoadingRules::from_env().load()
    }

    /// Make every relative path in this kubeconfig absolute against `dir`
    /// (what [`Kubeconfig::read_from`] does with the file's directory).
    pub fn resolve_relative_paths(&mut self, dir: &Path) {
        fn fix(p: &mut Option<PathBuf>, dir: &Path) {
            if let Some(path) = p
                && !path.as_os_str().is_empty()
                && path.is_relative()
            {
                *path = dir.join(&*path);
            }
        }
        for c in &mut self.clusters {
            fix(&mut c.cluster.certificate_authority, dir);
        }
        for u in &mut self.users {
            let user = &mut u.user;
            fix(&mut user.client_certificate, dir);
            fix(&mut user.client_key, dir);
            fix(&mut user.token_file, dir);
            if let Some(exec) = &mut user.exec {
                // As client-go: a bare command name is looked up in PATH; a path is
                // relative to the kubeconfig.
                let cmd = Path::new(&exec.command);
                if exec.command.contains(std::path::MAIN_SEPARATOR) && cmd.is_relative() {
                    exec.command = dir.join(cmd).to_string_lossy().into_owned();
                }
            }
        }
    }

    /// Merge `lower` into `self` with kubectl's rule: the first file wins. An entry of
    /// `clusters`, `users`, `contexts` or `extensions` is taken whole from the first
    /// kubeconfig that has that name; `current-context` and each preference come from
    /// the first kubeconfig that sets them.
    #[must_use]
    pub fn merge(mut self, lower: Kubeconfig) -> Kubeconfig {
        fn merge_named<T>(mine: &mut Vec<T>, theirs: Vec<T>, name: fn(&T) -> &str) {
            let have: HashSet<String> = mine.iter().map(|e| name(e).to_owned()).collect();
            mine.extend(theirs.into_iter().filter(|e| !have.contains(name(e))));
        }
        merge_named(&mut self.clusters, lower.clusters, |c| &c.name);
        merge_named(&mut self.users, lower.users, |u| &u.name);
        merge_named(&mut self.contexts, lower.contexts, |c| &c.name);
        merge_named(
            &mut self.extensions,
            lower.extensions,
            |e: &NamedExtension| &e.name,
        );
        merge_named(
            &mut self.preferences.extensions,
            lower.preferences.extensions,
            |e: &NamedExtension| &e.name,
        );
        if self.preferences.colors.is_none() {
            self.preferences.colors = lower.preferences.colors;
        }
        if self.current_context.as_deref().is_none_or(str::is_empty)
            && lower
                .current_context
                .as_deref()
                .is_some_and(|c| !c.is_empty())
        {
            self.current_context = lower.current_context;
            self.current_context_source = lower.current_context_source;
        }
        if self.api_version.is_none() {
            self.api_version = lower.api_version;
        }
        if self.kind.is_none() {
            self.kind = lower.kind;
        }
        for s in lower.sources {
            if !self.sources.contains(&s) {
                self.sources.push(s);
            }
        }
        self
    }

    /// Whether this kubeconfig holds nothing that selects or defines a context: no
    /// contexts, clusters or users, and no `current-context` (an empty file, or one
    /// with only comments). [`crate::infer`] then tries the in-cluster configuration,
    /// as client-go does.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
            && self.users.is_empty()
            && self.contexts.is_empty()
            && self.current_context.as_deref().is_none_or(str::is_empty)
    }

    /// Record `origin` as the file of every entry and of `current-context`.
    fn set_source(&mut self, origin: &Path) {
        let origin = origin.to_path_buf();
        for c in &mut self.clusters {
            c.source = Some(origin.clone());
        }
        for u in &mut self.users {
            u.source = Some(origin.clone());
        }
        for c in &mut self.contexts {
            c.source = Some(origin.clone());
        }
        if self.current_context.is_some() {
            self.current_context_source = Some(origin.clone());
        }
        self.sources = vec![origin];
    }

    /// The files this kubeconfig came from, for error messages.
    pub(crate) fn files(&self) -> Files {
        Files(self.sources.clone().into())
    }
}

/// How kubeconfigs are parsed (serde-saphyr: a pure-Rust YAML 1.2 parser with YAML 1.1's
/// merge keys): numbers as kubectl's YAML 1.1 reads them (`0644` is octal), nesting
/// bounded in linear time, and no snippet of the file in messages: it holds secrets.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        budget: serde_saphyr::budget! {
            max_depth: MAX_YAML_DEPTH,
            flow_nesting_limit: MAX_YAML_DEPTH,
        },
    }
}

/// Turn a YAML error into [`Error::Parse`] without ever quoting a secret. `field` is the
/// path of the field being read when it happened (empty at the top level).
fn parse_error(e: &serde_saphyr::Error, field: &str, origin: Option<&Path>) -> Error {
    let (line, column) = match e.location() {
        Some(l) => (
            usize::try_from(l.line()).ok(),
            usize::try_from(l.column()).ok(),
        ),
        None => (None, None),
    };
    let e = e.without_snippet();
    let mut message = e.to_string();
    // The budget's depth (block nesting), or the scanner's flow nesting limit.
    let too_deep = matches!(
        e,
        serde_saphyr::Error::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
            ..
        }
    ) || message.starts_with("recursion limit exceeded");
    if too_deep {
        message = format!("the YAML is nested deeper than {MAX_YAML_DEPTH} levels");
    }
    // The parser appends " at line L, column C"; we print our own.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let field = field.trim_start_matches('.');
    if !field.is_empty() {
        // "users[0].user.token: expected string scalar": never more than the path when
        // the field is a secret.
        let last = field.rsplit('.').next().unwrap_or(field);
        let last = last.split('[').next().unwrap_or(last);
        message = if SECRET_FIELDS.contains(&last) || field.contains(".env[") {
            format!("{field}: invalid value (not shown: the field holds a secret)")
        } else {
            format!("{field}: {message}")
        };
    }
    Error::Parse {
        path: origin.map(Path::to_path_buf),
        line,
        column,
        message,
    }
}

/// Which kubeconfig files to read, in kubectl's order.
///
/// 1. an explicit path (`--kubeconfig`): that file alone, and it must exist;
/// 2. else `$KUBECONFIG`, a list of files separated as `PATH` is (`:` on Unix,
///    `;` on Windows): the files that exist are merged, first file wins;
/// 3. else `~/.kube/config`.
///
/// The environment is read once, by [`LoadingRules::from_env`]; tests and embedders
/// can set each input instead.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LoadingRules {
    /// The explicit path, if any.
    pub explicit_path: Option<PathBuf>,
    /// The value of `$KUBECONFIG`, if set.
    pub kubeconfig_var: Option<OsString>,
    /// The home directory, if known.
    pub home_dir: Option<PathBuf>,
}

impl LoadingRules {
    /// Rules from this process's environment: `$KUBECONFIG` and the home directory.
    #[must_use]
    pub fn from_env() -> Self {
        LoadingRules {
            explicit_path: None,
            kubeconfig_var: std::env::var_os("KUBECONFIG"),
            home_dir: home::home_dir(),
        }
    }

    /// Use this file and nothing else (kubectl's `--kubeconfig`).
    #[must_use]
    pub fn explicit_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit_path = Some(path.into());
        self
    }

    /// Pretend `$KUBECONFIG` is `value` (None: unset).
    #[must_use]
    pub fn kubeconfig_var(mut self, value: Option<OsString>) -> Self {
        self.kubeconfig_var = value;
        self
    }

    /// Pretend the home directory is `dir` (None: unknown).
    #[must_use]
    pub fn home_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.home_dir = dir;
        self
    }

    /// The candidate files in precedence order, and whether each must exist.
    fn candidates(&self) -> (Vec<PathBuf>, bool) {
        if let Some(p) = &self.explicit_path {
            return (vec![p.clone()], true);
        }
        if let Some(var) = self.kubeconfig_var.as_ref().filter(|v| !v.is_empty()) {
            let mut seen = HashSet::new();
            let files = std::env::split_paths(var)
                .filter(|p| !p.as_os_str().is_empty())
                .filter(|p| seen.insert(p.clone()))
                .collect();
            return (files, false);
        }
        let files = self
            .home_dir
            .iter()
            .map(|h| h.join(".kube").join("config"))
            .collect();
        (files, false)
    }

    /// Read and merge the files these rules designate.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no file exists; [`Error::Read`] when the explicit file
    /// (or an existing listed file) cannot be read; [`Error::Parse`] for a file that is
    /// not a kubeconfig.
    pub fn load(&self) -> Result<Kubeconfig> {
        let (candidates, must_exist) = self.candidates();
        let mut merged: Option<Kubeconfig> = None;
        for path in &candidates {
            if !must_exist && !path.exists() {
                tracing::debug!(path = %path.display(), "kubeconfig file does not exist; skipped");
                continue;
            }
            let next = Kubeconfig::read_from(path)?;
            merged = Some(match merged {
                None => next,
                Some(first) => first.merge(next),
            });
        }
        merged.ok_or(Error::NotFound {
            tried: Files(candidates.into()),
        })
    }
}
