//! One call for "whatever this program should talk to": the kubeconfig if there is
//! one, else the pod's in-cluster configuration.

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

/// The configuration from this process's environment, in this order:
///
/// 1. **kubeconfig**, by kubectl's loading rules ([`LoadingRules::from_env`]):
///    every existing file of `$KUBECONFIG`, else `~/.kube/config`, with its current
///    context;
/// 2. **in-cluster** ([`InCluster::from_env`]), only when step 1 found no file at all.
///
/// A kubeconfig that exists but is broken (not YAML, no current context, a missing
/// file it names) is an error, not a reason to fall back: it would be surprising to
/// talk to another cluster than the one configured. When neither source exists the
/// error ([`Error::NoConfig`]) says why each was not used.
///
/// An exec plugin in the kubeconfig is run now (see
/// [`crate::SelectedContext::rest_config_async`]).
///
/// # Errors
/// As [`LoadingRules::load`], [`crate::Kubeconfig::select`],
/// [`crate::SelectedContext::rest_config_async`] and [`InCluster::load`], and
/// [`Error::NoConfig`].
pub async fn infer() -> Result<Inferred> {
    infer_with(
        &LoadingRules::from_env(),
        &InCluster::from_env(),
        &Overrides::default(),
    )
    .await
}

/// [`infer`] with explicit inputs. `overrides` apply to a kubeconfig; of them only
/// `namespace` and `server` apply to the in-cluster configuration.
///
/// With an explicit path in `rules`, a missing file is an error (no fallback).
///
/// # Errors
/// As [`infer`].
pub async fn infer_with(
    rules: &LoadingRules,
    in_cluster: &InCluster,
    overrides: &Overrides,
) -> Result<Inferred> {
    match rules.load() {
        Ok(kubeconfig) => {
            let selected = kubeconfig.select(overrides)?;
            let config = selected.rest_config_async().await?;
            tracing::debug!(context = %selected.context_name, "configuration from kubeconfig");
            Ok(Inferred {
                config,
                namespace: selected.namespace().to_owned(),
                source: Source::Kubeconfig {
                    context: selected.context_name.clone(),
                    files: selected.files.clone(),
                },
            })
        }
        Err(not_found @ Error::NotFound { .. }) if rules.explicit_path.is_none() => {
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
                    kubeconfig: Box::new(not_found),
                    in_cluster: Box::new(e),
                }),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}
