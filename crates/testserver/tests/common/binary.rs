#![allow(dead_code)]
//! Runs the `kubecto-testserver` binary for tests that drive it with third-party clients.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running server binary with a kubeconfig for it; killed on drop.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    dir: PathBuf,
}

impl ServerProcess {
    /// Start the binary on a free port, seeded with `seed` (a manifest file or directory).
    pub fn start(name: &str, seed: Option<&str>) -> ServerProcess {
        ServerProcess::start_with(name, seed, &[])
    }

    /// [`ServerProcess::start`] with more command-line flags (`--controllers`).
    pub fn start_with(name: &str, seed: Option<&str>, flags: &[&str]) -> ServerProcess {
        let dir = std::env::temp_dir().join(format!("kubecto-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kubeconfig = dir.join("kubeconfig");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubecto-testserver"));
        // Its start-up logs ("seeded ...", "wrote kubeconfig ...") stay out of test output.
        cmd.env("RUST_LOG", "warn");
        cmd.args(["--port", "0", "--kubeconfig-out"])
            .arg(&kubeconfig);
        if let Some(seed) = seed {
            cmd.args(["--seed", seed]);
        }
        cmd.args(flags);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kubecto-testserver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read banner");
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected banner {line:?}"
        );
        ServerProcess {
            child,
            url,
            kubeconfig,
            dir,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
