//! Pod subresources: `log` (whole or streamed), `eviction`, `binding` and
//! `ephemeralcontainers`.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Binding, Pod};
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, PatchOptions, Result, Status, UpdateOptions,
};
use serde::Serialize;

use crate::api::{Api, Verb};
use crate::patch::Patch;
use crate::verbs::{object_name, to_body};

/// `PodLogOptions`: which container's log, and how much of it.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogOptions {
    /// The container (required when the pod has more than one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Keep the stream open and send new lines as they are written.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub follow: bool,
    /// The previous (terminated) instance of the container.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub previous: bool,
    /// Only the last this many lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_lines: Option<i64>,
    /// Only lines newer than this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_seconds: Option<i64>,
    /// Only lines after this RFC 3339 time (`2026-01-02T15:04:05Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_time: Option<String>,
    /// Prefix every line with its RFC 3339 timestamp.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timestamps: bool,
    /// Stop after this many bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// Options with every field unset: the whole log of the only container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the container.
    #[must_use]
    pub fn container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }

    /// Sets follow.
    #[must_use]
    pub fn follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }

    /// Sets previous.
    #[must_use]
    pub fn previous(mut self, previous: bool) -> Self {
        self.previous = previous;
        self
    }

    /// Only the last `lines` lines.
    #[must_use]
    pub fn tail_lines(mut self, lines: i64) -> Self {
        self.tail_lines = Some(lines);
        self
    }

    /// Only lines newer than `seconds`.
    #[must_use]
    pub fn since_seconds(mut self, seconds: i64) -> Self {
        self.since_seconds = Some(seconds);
        self
    }

    /// Only lines after this RFC 3339 time.
    #[must_use]
    pub fn since_time(mut self, time: impl Into<String>) -> Self {
        self.since_time = Some(time.into());
        self
    }

    /// Sets timestamps.
    #[must_use]
    pub fn timestamps(mut self, timestamps: bool) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Stop after `bytes` bytes.
    #[must_use]
    pub fn limit_bytes(mut self, bytes: i64) -> Self {
        self.limit_bytes = Some(bytes);
        self
    }
}

impl Api<Pod> {
    /// The pod's log as text (invalid UTF-8 is replaced, not an error). With
    /// `follow`, this waits for the container to end; use
    /// [`log_stream`](Self::log_stream) to read as it is written.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api): `is_not_found()`, a 400 when the
    /// container must be named or has not started.
    pub async fn logs(&self, name: &str, options: &LogOptions) -> Result<String> {
        let bytes = self
            .target
            .sub(Verb::Get, name, "log")?
            .params(options)
            .send()
            .await?
            .bytes()
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The pod's log as raw chunks as the kubelet sends them; with `follow`, the stream
    /// stays open until the container ends or the stream is dropped. The request is made
    /// here, so a missing pod or container is this call's error.
    ///
    /// # Errors
    /// As [`logs`](Self::logs).
    pub async fn log_stream(
        &self,
        name: &str,
        options: &LogOptions,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + 'static> {
        let resp = self
            .target
            .sub(Verb::Get, name, "log")?
            .params(options)
            .send()
            .await?;
        Ok(resp.stream())
    }

    /// The pod's log line by line (without the newline; invalid UTF-8 replaced), as the
    /// lines arrive; a last line without a newline is yielded when the stream ends.
    ///
    /// # Errors
    /// As [`logs`](Self::logs); a connection failure mid-stream is the stream's last item.
    pub async fn log_lines(
        &self,
        name: &str,
        options: &LogOptions,
    ) -> Result<impl Stream<Item = Result<String>> + Send + 'static> {
        let chunks = Box::pin(self.log_stream(name, options).await?);
        Ok(futures_util::stream::unfold(
            (chunks, Lines::default(), false),
            |(mut chunks, mut lines, mut done)| async move {
                loop {
                    if let Some(line) = lines.next_line() {
                        return Some((Ok(line), (chunks, lines, done)));
                    }
                    if done {
                        return lines.rest().map(|l| (Ok(l), (chunks, lines, true)));
                    }
                    match chunks.next().await {
                        Some(Ok(bytes)) => lines.push(&bytes),
                        Some(Err(e)) => return Some((Err(e), (chunks, lines, true))),
                        None => done = true,
                    }
                }
            },
        ))
    }

    /// Evicts the pod (`POST pods/{name}/eviction`, a `policy/v1` `Eviction`), which
    /// honours PodDisruptionBudgets where a plain delete does not.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api): `is_too_many_requests()` when a
    /// disruption budget forbids it now, `is_not_found()`.
    pub async fn evict(&self, name: &str, options: &DeleteOptions) -> Result<Status> {
        let namespace = self.namespace().unwrap_or_default();
        let eviction = serde_json::json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
            "deleteOptions": options,
        });
        self.target
            .sub(Verb::Post, name, "eviction")?
            .body(to_body("Eviction", &eviction)?)
            .send()
            .await?
            .into()
            .await
    }

    /// Binds the pod named by `binding.metadata.name` to `binding.target` (a node), as a
    /// scheduler does (`POST pods/{name}/binding`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](kubecto_rest_core::Error::InvalidRequest) without a
    /// name; [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()` when already
    /// bound).
    pub async fn bind(&self, binding: &Binding, options: &CreateOptions) -> Result<Status> {
        self.target
            .sub(Verb::Post, object_name(binding)?, "binding")?
            .params(options)
            .body(to_body("Binding", binding)?)
            .send()
            .await?
            .into()
            .await
    }

    /// GET the pod through its `ephemeralcontainers` subresource.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api).
    pub async fn get_ephemeral_containers(&self, name: &str) -> Result<Pod> {
        self.target
            .sub(Verb::Get, name, "ephemeralcontainers")?
            .send()
            .await?
            .into()
            .await
    }

    /// PUT the pod's `spec.ephemeralContainers` (only additions are allowed).
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()`, `is_invalid()`).
    pub async fn update_ephemeral_containers(
        &self,
        pod: &Pod,
        options: &UpdateOptions,
    ) -> Result<Pod> {
        self.target
            .put_sub(
                object_name(pod)?,
                "ephemeralcontainers",
                "Pod",
                pod,
                options,
            )
            .await
    }

    /// PATCH the pod's ephemeral containers, e.g. a strategic merge patch adding one to
    /// `spec.ephemeralContainers` (what `kubectl debug` sends).
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_ephemeral_containers<P: Serialize>(
        &self,
        name: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<Pod> {
        self.target
            .patch_sub(name, "ephemeralcontainers", patch, options)
            .await
    }
}

/// Splits a byte stream into lines across chunk boundaries.
#[derive(Debug, Default)]
struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, without its `\n` (and a `\r` before it).
    fn next_line(&mut self) -> Option<String> {
        let end = self.buf.iter().position(|b| *b == b'\n')?;
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// What is left after the last newline, if anything.
    fn rest(&mut self) -> Option<String> {
        if self.buf.is_empty() {
            None
        } else {
            let rest = std::mem::take(&mut self.buf);
            Some(String::from_utf8_lossy(&rest).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks() {
        let text = b"first\nsecond line\r\n\nlast";
        for size in 1..text.len() {
            let mut lines = Lines::default();
            let mut out = Vec::new();
            for chunk in text.chunks(size) {
                lines.push(chunk);
                while let Some(l) = lines.next_line() {
                    out.push(l);
                }
            }
            out.extend(lines.rest());
            assert_eq!(
                out,
                ["first", "second line", "", "last"],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn log_options_as_query() {
        let opts = LogOptions::new()
            .container("c")
            .previous(true)
            .limit_bytes(10);
        let value = serde_json::to_value(&opts).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"container": "c", "previous": true, "limitBytes": 10})
        );
    }
}
