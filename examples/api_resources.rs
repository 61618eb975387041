//! `kubectl api-resources`, over kubecto-discovery.
//!
//! ```text
//! cargo run --example api_resources -- --kubeconfig ~/.kube/config
//! ```
//!
//! Discovers the server's preferred resources (aggregated discovery: two requests for the
//! whole cluster; the legacy endpoints against an older server), keeps the resources that
//! have verbs, sorts them as kubectl does (by group, then name) and prints kubectl's table:
//! `NAME SHORTNAMES APIVERSION NAMESPACED KIND`, columns padded as Go's tabwriter pads
//! them. As kubectl, it prints what it could discover and, if some group-versions failed,
//! reports each on stderr and exits with status 1.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use kubecto_config::Overrides;
use kubecto_discovery::{DiscoveryClient, FailedGroupVersions};

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("api_resources") {
        Ok(path) => path,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    match run(kubeconfig.as_deref(), &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("api_resources: {}", kubecto_examples::describe(&failure));
            ExitCode::FAILURE
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    group: String,
    name: String,
    short_names: String,
    api_version: String,
    namespaced: bool,
    kind: String,
}

/// Discover and print the table to `out`. The table is printed even when some
/// group-versions failed; the failure is returned after it.
pub(crate) async fn run(kubeconfig: Option<&Path>, out: &mut dyn Write) -> Result<(), Failure> {
    let config = kubecto_config::from_flags(kubeconfig, &Overrides::default())
        .await?
        .config;
    let discovery = DiscoveryClient::new(&config).map_err(Failure::Discovery)?;
    let preferred = discovery
        .server_preferred_resources()
        .await
        .map_err(Failure::Discovery)?;

    let mut rows = Vec::new();
    for list in &preferred.lists {
        let gv = list.gv();
        for r in list.resources.iter().filter(|r| !r.verbs.is_empty()) {
            rows.push(Row {
                group: gv.group.clone(),
                name: r.name.clone(),
                short_names: r.short_names.join(","),
                api_version: list.group_version.clone(),
                namespaced: r.namespaced,
                kind: r.kind.clone(),
            });
        }
    }
    // kubectl: a stable sort by group, then name.
    rows.sort_by(|a, b| a.group.cmp(&b.group).then_with(|| a.name.cmp(&b.name)));
    out.write_all(table(&rows).as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::Output)?;
    if preferred.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Partial(preferred.failed))
    }
}

/// The table as kubectl prints it: Go's `tabwriter` with minwidth 6, padding 3, spaces;
/// every column but the last padded to its widest cell.
pub(crate) fn table(rows: &[Row]) -> String {
    let header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].map(str::to_owned);
    let lines: Vec<[String; 5]> = std::iter::once(header)
        .chain(rows.iter().map(|r| {
            [
                r.name.clone(),
                r.short_names.clone(),
                r.api_version.clone(),
                r.namespaced.to_string(),
                r.kind.clone(),
            ]
        }))
        .collect();
    let mut widths = [0usize; 4];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line.iter()) {
            *w = (*w).max((cell.chars().count() + 3).max(6));
        }
    }
    let mut text = String::new();
    for line in &lines {
        for (cell, w) in line.iter().zip(widths) {
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        text.push_str(&line[4]);
        text.push('\n');
    }
    text
}

/// Why the table could not be printed, or is incomplete.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kubeconfig could not be loaded (its message names the file and field).
    Kubeconfig(kubecto_config::Error),
    /// Discovery failed as a whole (the client could not be built, `/api` or `/apis`).
    Discovery(kubecto_discovery::Error),
    /// Some group-versions could not be discovered; the table holds the rest.
    Partial(FailedGroupVersions),
    /// Writing the table failed.
    Output(std::io::Error),
}

impl From<kubecto_config::Error> for Failure {
    fn from(e: kubecto_config::Error) -> Self {
        Failure::Kubeconfig(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Kubeconfig(e) => write!(f, "{e}"),
            Failure::Discovery(_) => f.write_str("cannot discover the server's resources"),
            Failure::Partial(failed) => write!(f, "{failed}"),
            Failure::Output(_) => f.write_str("cannot write the table"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Kubeconfig(e) => std::error::Error::source(e),
            Failure::Discovery(e) => Some(e),
            Failure::Partial(_) => None,
            Failure::Output(e) => Some(e),
        }
    }
}
