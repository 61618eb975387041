//! Authentication and a minimal authorization, as kube-apiserver answers them:
//! a client certificate signed by the client CA (user = subject CN, groups = O), else
//! a bearer token from the accepted set, else anonymous, which is refused with 401
//! when authentication is required. A user marked forbidden gets 403 with
//! kube-apiserver's RBAC wording. `Impersonate-User` switches the user that the
//! forbidden check and the request record see.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::shared::status::ApiError;

/// The user a token given to `require_token` stands for.
pub(crate) const TOKEN_USER: &str = "kubecto-admin";

/// What the builder asked for: TLS, client CAs, tokens, forbidden users.
#[derive(Clone, Default)]
pub(crate) struct Options {
    pub tls: bool,
    pub server_names: Option<Vec<String>>,
    pub client_cas: Vec<String>,
    pub tokens: Vec<(String, String)>,
    pub forbidden: Vec<String>,
    pub required: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<&String> = self.tokens.iter().map(|(_, u)| u).collect();
        f.debug_struct("Options")
            .field("tls", &self.tls)
            .field("server_names", &self.server_names)
            .field("client_cas", &self.client_cas.len())
            .field("token_users", &users)
            .field("forbidden", &self.forbidden)
            .field("required", &self.required)
            .finish()
    }
}

impl Options {
    /// Generate the CA (when TLS is on) and set up authentication.
    pub(crate) fn build(&self) -> Result<Security, String> {
        let tls = if self.tls {
            let names = match &self.server_names {
                Some(n) => n.clone(),
                None => crate::server::tls::DEFAULT_SERVER_NAMES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            };
            Some(crate::server::tls::Tls::new(&names, &self.client_cas)?)
        } else {
            if !self.client_cas.is_empty() {
                return Err("a client CA needs TLS (call .tls())".to_owned());
            }
            None
        };
        let authn = Authn {
            required: self.required,
            ..Authn::default()
        };
        for (token, user) in &self.tokens {
            authn.add_token(token, user);
        }
        for user in &self.forbidden {
            authn.forbid(user);
        }
        Ok(Security { tls, authn })
    }
}

/// The TLS and authentication state of a running server.
#[derive(Debug, Default)]
pub(crate) struct Security {
    pub tls: Option<crate::server::tls::Tls>,
    pub authn: Authn,
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// The authentication settings of one server (all off by default).
#[derive(Default)]
pub(crate) struct Authn {
    /// Refuse anonymous requests with 401.
    pub required: bool,
    /// Accepted bearer tokens and whom they stand for.
    tokens: RwLock<BTreeMap<String, String>>,
    /// Users answered 403 whatever they ask.
    forbidden: RwLock<BTreeSet<String>>,
    /// Users whose client certificates are refused with 401 (as an expired or revoked
    /// certificate is).
    revoked_certs: RwLock<BTreeSet<String>>,
}

impl std::fmt::Debug for Authn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authn")
            .field("required", &self.required)
            .field("tokens", &read(&self.tokens).len())
            .field("forbidden", &*read(&self.forbidden))
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Authn {
    pub(crate) fn add_token(&self, token: &str, user: &str) {
        write(&self.tokens).insert(token.to_owned(), user.to_owned());
    }

    pub(crate) fn revoke_token(&self, token: &str) -> bool {
        write(&self.tokens).remove(token).is_some()
    }

    /// Replace every accepted token of `user` by `new`.
    pub(crate) fn rotate(&self, user: &str, new: &str) {
        let mut tokens = write(&self.tokens);
        tokens.retain(|_, u| u != user);
        tokens.insert(new.to_owned(), user.to_owned());
    }

    /// A token accepted for `user`, if any.
    pub(crate) fn token_of(&self, user: &str) -> Option<String> {
        read(&self.tokens)
            .iter()
            .find(|(_, u)| *u == user)
            .map(|(t, _)| t.clone())
    }

    pub(crate) fn forbid(&self, user: &str) {
        write(&self.forbidden).insert(user.to_owned());
    }

    pub(crate) fn revoke_certs(&self, user: &str) {
        write(&self.revoked_certs).insert(user.to_owned());
    }

    pub(crate) fn allow(&self, user: &str) {
        write(&self.forbidden).remove(user);
    }

    /// The identity of a request, or the 401/403 answer to give instead.
    ///
    /// `peer` is the verified client certificate's identity, if one was presented.
    pub(crate) fn check(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        peer: Option<&Identity>,
    ) -> Result<Option<Identity>, ApiError> {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        let who = if let Some(p) = peer {
            if read(&self.revoked_certs).contains(&p.user) {
                return Err(unauthorized());
            }
            Some(p.clone())
        } else if let Some(token) = bearer {
            match read(&self.tokens).get(token) {
                Some(user) => Some(Identity {
                    user: user.clone(),
                    groups: vec!["system:authenticated".to_owned()],
                }),
                None => return Err(unauthorized()),
            }
        } else {
            None
        };
        let Some(mut who) = who else {
            return if self.required {
                Err(unauthorized())
            } else {
                Ok(None)
            };
        };
        if read(&self.forbidden).contains(&who.user) {
            return Err(forbidden(&who.user, method, path, query));
        }
        if let Some(as_user) = headers
            .get("impersonate-user")
            .and_then(|v| v.to_str().ok())
        {
            who = Identity {
                user: as_user.to_owned(),
                groups: headers
                    .get_all("impersonate-group")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect(),
            };
            if read(&self.forbidden).contains(&who.user) {
                return Err(forbidden(&who.user, method, path, query));
            }
        }
        Ok(Some(who))
    }
}

/// kube-apiserver's 401 body.
fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized", None)
}

/// kube-apiserver's 403 body for a request RBAC refuses.
fn forbidden(user: &str, method: &str, path: &str, query: &str) -> ApiError {
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segs.as_slice() {
        ["api", _version, rest @ ..] => Some(("", rest)),
        ["apis", group, _version, rest @ ..] => Some((*group, rest)),
        _ => None,
    };
    let Some((group, rest)) = rest.filter(|(_, r)| !r.is_empty()) else {
        let verb = method.to_ascii_lowercase();
        let message = format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\"");
        return ApiError::new(403, "Forbidden", message, Some(json!({})));
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(*ns), more),
        other => (None, other),
    };
    let resource = rest[0];
    let name = rest.get(1).copied();
    let subresource = rest.get(2).copied();
    let verb = match (method, name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "get",
    };
    let full = match subresource {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_owned(),
    };
    let subject = match group {
        "" => resource.to_owned(),
        g => format!("{resource}.{g}"),
    };
    let subject = match name {
        Some(n) => format!("{subject} \"{n}\""),
        None => subject,
    };
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    let message = format!(
        "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in API group \"{group}\" {scope}"
    );
    let mut details = Map::new();
    if let Some(n) = name {
        details.insert("name".to_owned(), json!(n));
    }
    if !group.is_empty() {
        details.insert("group".to_owned(), json!(group));
    }
    details.insert("kind".to_owned(), json!(resource));
    ApiError::new(403, "Forbidden", message, Some(Value::Object(details)))
}
