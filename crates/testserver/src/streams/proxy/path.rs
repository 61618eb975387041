//! URL paths as Go's `path` and `net/url` packages treat them, for the proxy: `path.Clean`
//! and `path.Join`, apimachinery's `JoinPreservingTrailingSlash`, and the escaping
//! `URL.EscapedPath` gives a decoded path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What `url.shouldEscape` escapes in a path: everything but letters, digits, `-_.~` and
/// `$&+,/:;=@`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// Go's `path.Clean`: one slash between elements, no `.`, `..` resolved (at the root
/// dropped), no trailing slash; `""` becomes `"."`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.Join`: the non-empty elements joined with `/` and cleaned; `""` when all
/// are empty.
pub(crate) fn join(elems: &[&str]) -> String {
    let nonempty: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if nonempty.is_empty() {
        return String::new();
    }
    clean(&nonempty.join("/"))
}

/// apimachinery's `JoinPreservingTrailingSlash("", subpath)`, as `ProxyREST.Connect`
/// joins a location's empty path and the request's subpath: cleaned, keeping a trailing
/// slash.
pub(crate) fn join_preserving_trailing_slash(subpath: &str) -> String {
    let mut out = join(&[subpath]);
    if subpath.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// A decoded path as `URL.EscapedPath` writes it on the request line.
pub(crate) fn escape(p: &str) -> String {
    utf8_percent_encode(p, PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_and_join_follow_go() {
        assert_eq!(clean("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean(""), ".");
        assert_eq!(
            join(&["/api/v1/x/proxy", "/hello/"]),
            "/api/v1/x/proxy/hello"
        );
        assert_eq!(join(&["", ""]), "");
        assert_eq!(join_preserving_trailing_slash("/a//b/"), "/a/b/");
        assert_eq!(join_preserving_trailing_slash("/"), "/");
        assert_eq!(join_preserving_trailing_slash(""), "");
        assert_eq!(escape("/a b/c:d?e%"), "/a%20b/c:d%3Fe%25");
    }
}
