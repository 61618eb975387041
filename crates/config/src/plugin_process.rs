//! Running an exec credential plugin's process within bounds: one deadline for the
//! whole run, stdout read up to [`MAX_EXEC_STDOUT_BYTES`], only the head of stderr kept
//! (the rest read and dropped, so the plugin never blocks on a full pipe), and — on
//! Unix, when the plugin does not talk to the terminal — its own process group, so
//! that a timeout kills whatever the plugin started along with it.
//!
//! client-go waits for the plugin's pipes to close; a plugin that starts a background
//! helper holding stdout then looks hung although it printed its credential and exited.
//! Here, once the plugin itself has exited, the pipes get [`EXIT_GRACE`] to close; after
//! that what was read is used and the process group is killed.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::time::Instant;

use crate::limits::{MAX_EXEC_STDERR_BYTES, MAX_EXEC_STDOUT_BYTES};

/// How long the pipes may stay open after the plugin exited (held by a process it
/// started) before its output is taken as complete.
pub(crate) const EXIT_GRACE: Duration = Duration::from_millis(250);

/// A plugin that ran to its exit.
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: StderrHead,
}

/// Why a plugin did not run to its exit.
pub(crate) enum Failure {
    /// It could not be started, or waiting for it failed.
    Io(std::io::Error),
    /// It ran past the deadline and was killed (with its process group).
    TimedOut(StderrHead),
    /// It printed more than [`MAX_EXEC_STDOUT_BYTES`] and was killed.
    StdoutTooLarge(StderrHead),
}

/// The first [`MAX_EXEC_STDERR_BYTES`] of stderr, and how many bytes came after them.
#[derive(Default)]
pub(crate) struct StderrHead {
    pub head: Vec<u8>,
    pub dropped: u64,
}

impl StderrHead {
    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_EXEC_STDERR_BYTES.saturating_sub(self.head.len());
        let keep = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..keep]);
        self.dropped += (bytes.len() - keep) as u64;
    }
}

/// Run `cmd` (stdout and, unless `interactive`, stderr piped) until it exits, at most
/// `timeout`. An interactive plugin keeps this process's group: in a group of its own
/// it would be a background job and stop at its first read from the terminal.
pub(crate) async fn run(
    mut cmd: tokio::process::Command,
    interactive: bool,
    timeout: Duration,
) -> Result<Finished, Failure> {
    #[cfg(unix)]
    if !interactive {
        cmd.process_group(0);
    }
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().map_err(Failure::Io)?;
    // The plugin leads its group; the group is killed when this future ends early
    // (dropped, timed out, too much output) or leaves its pipes held after the grace.
    let mut group = Group(if interactive { None } else { child.id() });
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out = Vec::new();
    let mut err = StderrHead::default();
    let mut out_buf = vec![0u8; 16 << 10];
    let mut err_buf = vec![0u8; 4 << 10];
    let mut status = None;
    let deadline = Instant::now() + timeout;
    let mut until = deadline;
    while status.is_none() || stdout.is_some() || stderr.is_some() {
        tokio::select! {
            read = read_some(stdout.as_mut(), &mut out_buf) => match read {
                Ok(0) => stdout = None,
                Ok(n) if out.len() + n > MAX_EXEC_STDOUT_BYTES => {
                    return Err(Failure::StdoutTooLarge(err));
                }
                Ok(n) => out.extend_from_slice(&out_buf[..n]),
                Err(e) => return Err(Failure::Io(e)),
            },
            read = read_some(stderr.as_mut(), &mut err_buf) => match read {
                Ok(n) if n > 0 => err.push(&err_buf[..n]),
                // stderr only feeds an error message: a read error ends it like EOF.
                _ => stderr = None,
            },
            exited = child.wait(), if status.is_none() => {
                status = Some(exited.map_err(Failure::Io)?);
                until = deadline.min(Instant::now() + EXIT_GRACE);
            }
            () = tokio::time::sleep_until(until) => {
                if status.is_none() {
                    group.kill();
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    return Err(Failure::TimedOut(err));
                }
                tracing::debug!(
                    "exec plugin exited but something it started still holds its output; \
                     using what it printed and killing its process group"
                );
                break;
            }
        }
    }
    if stdout.is_none() && stderr.is_none() {
        // Exited and closed its pipes: anything it left running in the background
        // let go of them on purpose and is left alone.
        group.0 = None;
    }
    let status = status.ok_or_else(|| Failure::Io(std::io::Error::other("no exit status")))?;
    Ok(Finished {
        status,
        stdout: out,
        stderr: err,
    })
}

/// Read from `pipe` into `buf`; a closed (`None`) pipe never completes.
async fn read_some<R: AsyncRead + Unpin>(
    pipe: Option<&mut R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

/// The plugin's process group, killed (SIGKILL) when dropped unless cleared.
struct Group(Option<u32>);

impl Group {
    fn kill(&mut self) {
        let Some(pgid) = self.0.take() else {
            return;
        };
        #[cfg(unix)]
        if let Some(pid) = i32::try_from(pgid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            && let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL)
            && e != rustix::io::Errno::SRCH
        {
            tracing::debug!(pgid, "cannot kill the exec plugin's process group: {e}");
        }
        #[cfg(not(unix))]
        let _ = pgid;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}
