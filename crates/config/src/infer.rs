//! One call for "whatever this program should talk to": the kubeconfig if there is
//! one, else the pod's in-cluster configuration.

use std::path::Path;

use kubecto_rest_core::Config;

use crate::error::{Error, Files, Result};
use crate::in_cluster::InCluster;
use crate::load::LoadingRules;
use crate::select::Overrides;

/// A configuration and where it came from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Inferred {
    /// The rest-core configuration.
    pub config: Config,
    /// The namespace to use by default (the context's, the pod's, or `default`).
    pub namespace: String,
    /// Where the configuration came from.
    pub source: Source,
}

/// Where an [`Inferred`] configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A kubeconfig: the context used and the files read.
    Kubeconfig {
        /// The context's name.
        context: String,
        /// The files merged.
        files: Files,
    },
    /// The pod's service account.
    InCluster,
}

/// The configuration from this process's environment, as kubectl finds it without
/// flags: [`from_flags`] with no `--kubeconfig` and no overrides.
///
/// # Errors
/// As [`from_flags`].
pub async fn infer() -> Result<Inferred> {
    from_flags(None, &Overrides::default()).await
}

/// The configuration a command-line program should use, found the way kubectl finds
/// it (client-go's `BuildConfigFromFlags` and deferred loading), in this order:
///
/// 1. `kubeconfig`, the program's `--kubeconfig` flag: that file alone, which must exist;
/// 2. else every existing file of `$KUBECONFIG` (a list separated as `PATH` is),
///    merged first-file-wins;
/// 3. else `~/.kube/config`;
/// 4. else, when step 2 or 3 found no file, or the kubeconfig is empty
///    ([`crate::Kubeconfig::is_empty`]), the pod's in-cluster configuration
///    ([`InCluster::from_env`]).
///
/// The kubeconfig's current context is used, or the one `overrides` names, with the
/// other overrides applied (kubectl's `--context`, `--namespace`, `--server`, ...).
///
/// A kubeconfig that exists but is broken (not YAML, no current context, a missing
/// file it names) is an error, not a reason to fall back: it would be surprising to
/// talk to another cluster than the one configured. When no source exists the error
/// ([`Error::NoConfig`]) says why each was not used.
///
/// An exec plugin in the kubeconfig is run now (see
/// [`crate::SelectedContext::rest_config_async`]).
///
/// ```no_run
/// # async fn run() -> Result<(), kubecto_config::Error> {
/// // `--kubeconfig` as the program's arguments gave it, if at all.
/// let flag: Option<std::path::PathBuf> = std::env::args_os().nth(1).map(Into::into);
/// let inferred =
///     kubecto_config::from_flags(flag.as_deref(), &kubecto_config::Overrides::default())
///         .await?;
/// println!("namespace {}", inferred.namespace);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`LoadingRules::load`], [`crate::Kubeconfig::select`],
/// [`crate::SelectedContext::rest_config_async`] and [`InCluster::load`], and
/// [`Error::NoConfig`].
pub async fn from_flags(kubeconfig: Option<&Path>, overrides: &Overrides) -> Result<Inferred> {
    let rules = match kubeconfig {
        Some(path) => LoadingRules::from_env().explicit_path(path),
        None => LoadingRules::from_env(),
    };
    infer_with(&rules, &InCluster::from_env(), overrides).await
}

/// [`from_flags`] with explicit inputs. `overrides` apply to a kubeconfig; of them
/// only `namespace` and `server` apply to the in-cluster configuration.
///
/// With an explicit path in `rules`, a missing file is an error (no fallback).
///
/// # Errors
/// As [`from_flags`].
pub async fn infer_with(
    rules: &LoadingRules,
    in_cluster: &InCluster,
    overrides: &Overrides,
) -> Result<Inferred> {
    let no_kubeconfig = match rules.load() {
        Ok(kubeconfig) if !kubeconfig.is_empty() => {
            let selected = kubeconfig.select(overrides)?;
            let config = selected.rest_config_async().await?;
            tracing::debug!(context = %selected.context_name, "configuration from kubeconfig");
            return Ok(Inferred {
                config,
                namespace: selected.namespace().to_owned(),
                source: Source::Kubeconfig {
                    context: selected.context_name.clone(),
                    files: selected.files.clone(),
                },
            });
        }
        // As client-go: an empty kubeconfig is no configuration at all.
        Ok(empty) => Error::Empty {
            files: empty.files(),
        },
        Err(not_found @ Error::NotFound { .. }) if rules.explicit_path.is_none() => not_found,
        Err(e) => return Err(e),
    };
    match in_cluster.load() {
        Ok(mut inferred) => {
            tracing::debug!("no kubeconfig; in-cluster configuration");
            if let Some(ns) = overrides.namespace.as_ref().filter(|n| !n.is_empty()) {
                inferred.namespace.clone_from(ns);
            }
            if let Some(server) = overrides.server.as_ref().filter(|s| !s.is_empty()) {
                inferred.config.host.clone_from(server);
            }
            Ok(inferred)
        }
        Err(e @ Error::NotInCluster { .. }) => Err(Error::NoConfig {
            kubeconfig: Box::new(no_kubeconfig),
            in_cluster: Box::new(e),
        }),
        Err(e) => Err(e),
    }
}
