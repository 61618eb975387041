//! Which proxy a request goes through: the one URL of a kubeconfig's `proxy-url`, or the
//! environment's, read as client-go reads it (Go's `httpproxy.FromEnvironment`): `HTTPS_PROXY`
//! for `https` servers, `HTTP_PROXY` for `http` ones, upper case before lower case, empty
//! values skipped; `NO_PROXY` entries are `*`, IP addresses, CIDRs, and domain names with an
//! optional leading `.` or `*.` and an optional `:port`; loopback servers never use it.
//!
//! hyper-util's `Matcher::from_env` follows curl instead, which differs from Go on seven
//! points; `env_rules_are_go_s_not_curl_s` below tests each one.

use std::net::IpAddr;

use http::Uri;

use crate::config::SecretString;

/// The protocol spoken to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProxyScheme {
    /// `http://`: a `CONNECT` tunnel over TCP.
    Http,
    /// `https://`: TLS to the proxy, then a `CONNECT` tunnel inside it.
    Https,
    /// `socks5://` or `socks5h://`: the proxy resolves the server's name either way.
    Socks5,
}

/// One proxy: where it is and the credentials its URL carried. `Debug` and [`shown`]
/// never include the credentials.
///
/// [`shown`]: ProxyTarget::shown
#[derive(Clone)]
pub(crate) struct ProxyTarget {
    pub(crate) scheme: ProxyScheme,
    /// The host as in a URL (an IPv6 address in brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The user name and password of the URL, percent-decoded.
    pub(crate) credentials: Option<(String, SecretString)>,
}

impl std::fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl ProxyTarget {
    /// `scheme://host:port`, without the credentials: for messages.
    pub(crate) fn shown(&self) -> String {
        let scheme = match self.scheme {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks5 => "socks5",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    /// The host without IPv6 brackets, for a TLS server name.
    pub(crate) fn bare_host(&self) -> &str {
        strip_brackets(&self.host)
    }

    /// The URI the TCP connector dials.
    pub(crate) fn dial_uri(&self) -> Result<Uri, String> {
        format!("http://{}:{}", self.host, self.port)
            .parse()
            .map_err(|e| format!("invalid proxy address {}: {e}", self.shown()))
    }

    /// Parses a proxy URL: `scheme://[user[:password]@]host[:port]`, a missing scheme
    /// meaning `http` and a missing port the scheme's (80, 443, 1080) as in Go. Messages
    /// never quote the URL, which may hold a password.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let with_scheme;
        let url = if url.contains("://") {
            url
        } else {
            with_scheme = format!("http://{url}");
            &with_scheme
        };
        let (scheme_str, _) = url.split_once("://").unwrap_or(("", ""));
        let scheme = match scheme_str.to_ascii_lowercase().as_str() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            "socks5" | "socks5h" => ProxyScheme::Socks5,
            other => {
                return Err(format!(
                    "unsupported proxy scheme {other:?}: http://, https://, socks5:// and socks5h:// proxies are supported"
                ));
            }
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid proxy URL ({e})"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| "the proxy URL has no host".to_owned())?;
        let host = authority.host();
        if host.is_empty() {
            return Err("the proxy URL has no host".to_owned());
        }
        let port = authority.port_u16().unwrap_or(match scheme {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            ProxyScheme::Socks5 => 1080,
        });
        let credentials = authority.as_str().rsplit_once('@').map(|(userinfo, _)| {
            let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(user), SecretString::new(decode(pass)))
        });
        Ok(Self {
            scheme,
            host: host.to_owned(),
            port,
            credentials,
        })
    }
}

/// A proxy from the environment, or why its variable cannot be used (naming the variable).
pub(crate) type EnvProxy = Option<Result<ProxyTarget, String>>;

/// Where requests go.
#[derive(Debug)]
pub(crate) enum ProxyRules {
    /// Straight to the server.
    Direct,
    /// Through this proxy, whatever the server (kubeconfig `proxy-url`).
    Always(ProxyTarget),
    /// As the environment says.
    Environment {
        http: EnvProxy,
        https: EnvProxy,
        no_proxy: NoProxy,
    },
}

impl ProxyRules {
    /// The rules of the process's environment.
    pub(crate) fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The environment's rules with the variables `var` gives.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        // The first of the names with a non-empty value, as Go's getEnvAny.
        let first = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| var(n).filter(|v| !v.is_empty()).map(|v| (n, v)))
        };
        let parse = |found: Option<(&str, String)>| {
            found
                .map(|(name, value)| ProxyTarget::parse(&value).map_err(|e| format!("{name}: {e}")))
        };
        let mut http = parse(first(["HTTP_PROXY", "http_proxy"]));
        // A CGI request can set HTTP_PROXY through its Proxy header (httpoxy): Go refuses it.
        if http.is_some() && var("REQUEST_METHOD").is_some_and(|m| !m.is_empty()) {
            http = Some(Err("refusing to use HTTP_PROXY in a CGI environment (REQUEST_METHOD is set), as Go does".to_owned()));
        }
        Self::Environment {
            http,
            https: parse(first(["HTTPS_PROXY", "https_proxy"])),
            no_proxy: NoProxy::parse(
                &first(["NO_PROXY", "no_proxy"]).map_or(String::new(), |(_, v)| v),
            ),
        }
    }

    /// The proxy for a request to `dst`, if any; an error when the environment names one
    /// that cannot be used.
    pub(crate) fn pick(&self, dst: &Uri) -> Option<Result<&ProxyTarget, &str>> {
        let (http, https, no_proxy) = match self {
            Self::Direct => return None,
            Self::Always(target) => return Some(Ok(target)),
            Self::Environment {
                http,
                https,
                no_proxy,
            } => (http, https, no_proxy),
        };
        let proxy = match dst.scheme_str() {
            Some("https") => https.as_ref()?,
            Some("http") => http.as_ref()?,
            _ => return None,
        };
        let host = dst.host()?;
        let port = dst
            .port_u16()
            .unwrap_or(if dst.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        if !no_proxy.use_proxy(host, port) {
            return None;
        }
        Some(proxy.as_ref().map_err(String::as_str))
    }

    /// Whether some request may go to an `https://` proxy.
    pub(crate) fn needs_tls(&self) -> bool {
        let https = |p: &EnvProxy| matches!(p, Some(Ok(t)) if t.scheme == ProxyScheme::Https);
        match self {
            Self::Direct => false,
            Self::Always(t) => t.scheme == ProxyScheme::Https,
            Self::Environment { http, https: s, .. } => https(http) || https(s),
        }
    }
}

fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// `NO_PROXY`, parsed as Go parses it.
#[derive(Debug, Default)]
pub(crate) struct NoProxy {
    /// `*`: no request uses the proxy.
    all: bool,
    /// CIDRs, and addresses with an optional port.
    ips: Vec<IpRule>,
    /// Domain names (as `.suffix`) with an optional port.
    domains: Vec<DomainRule>,
}

#[derive(Debug)]
enum IpRule {
    Net { addr: IpAddr, prefix: u8 },
    Addr { addr: IpAddr, port: Option<u16> },
}

#[derive(Debug)]
struct DomainRule {
    /// Always starts with `.`.
    suffix: String,
    /// Whether the name itself matches too (the entry had no leading `.`).
    and_itself: bool,
    port: Option<u16>,
}

impl NoProxy {
    pub(crate) fn parse(list: &str) -> Self {
        let mut out = Self::default();
        for entry in list.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return Self {
                    all: true,
                    ..Self::default()
                };
            }
            if let Some(net) = parse_cidr(&entry) {
                out.ips.push(net);
                continue;
            }
            // host:port, [v6]:port, or a bare host (a bare IPv6 address has colons too).
            let (host, port) = match split_host_port(&entry) {
                Some((h, p)) => match p.parse::<u16>() {
                    Ok(p) => (h, Some(p)),
                    Err(_) => continue,
                },
                None => (entry.as_str(), None),
            };
            let host = strip_brackets(host);
            if host.is_empty() {
                continue;
            }
            if let Ok(addr) = host.parse::<IpAddr>() {
                out.ips.push(IpRule::Addr { addr, port });
                continue;
            }
            // `*.y.com` is `.y.com`: subdomains only.
            let host = host
                .strip_prefix('*')
                .filter(|h| h.starts_with('.'))
                .unwrap_or(host);
            let (suffix, and_itself) = if host.starts_with('.') {
                (host.to_owned(), false)
            } else {
                (format!(".{host}"), true)
            };
            out.domains.push(DomainRule {
                suffix,
                and_itself,
                port,
            });
        }
        out
    }

    /// Whether a request to `host:port` goes through the proxy (Go's `useProxy`).
    pub(crate) fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = strip_brackets(host).to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        if self.all {
            return false;
        }
        let port_ok = |p: Option<u16>| p.is_none_or(|p| p == port);
        if let Some(ip) = ip {
            let hit = self.ips.iter().any(|rule| match *rule {
                IpRule::Net { addr, prefix } => in_net(ip, addr, prefix),
                IpRule::Addr { addr, port: p } => {
                    addr.to_canonical() == ip.to_canonical() && port_ok(p)
                }
            });
            if hit {
                return false;
            }
        }
        !self.domains.iter().any(|d| {
            (host.ends_with(&d.suffix) || (d.and_itself && host == d.suffix[1..]))
                && port_ok(d.port)
        })
    }
}

/// `host:port` or `[v6]:port`; `None` for a bare host (including a bare IPv6 address).
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return after.strip_prefix(':').map(|p| (&s[..host.len() + 2], p));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, p)),
        _ => None,
    }
}

fn parse_cidr(s: &str) -> Option<IpRule> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(IpRule::Net { addr, prefix })
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip.to_canonical(), net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(vars: &[(&str, &str)]) -> ProxyRules {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyRules::from_vars(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn via(rules: &ProxyRules, url: &str) -> Option<String> {
        let uri: Uri = url.parse().unwrap();
        rules.pick(&uri).map(|p| match p {
            Ok(t) => t.shown(),
            Err(e) => format!("error: {e}"),
        })
    }

    /// Each case where curl's rules (hyper-util's `Matcher::from_env`) and Go's differ,
    /// answered as Go answers it.
    #[test]
    fn env_rules_are_go_s_not_curl_s() {
        let p = Some("http://p:3128".to_owned());
        // 1. ALL_PROXY is not read (Go has no ALL_PROXY).
        assert_eq!(
            via(&rules(&[("ALL_PROXY", "http://p:3128")]), "https://k:6443"),
            None
        );
        // 2. An empty upper-case variable does not hide the lower-case one.
        let r = rules(&[("HTTPS_PROXY", ""), ("https_proxy", "http://p:3128")]);
        assert_eq!(via(&r, "https://k:6443"), p);
        // 3. `*` anywhere in NO_PROXY covers IP addresses too.
        let r = rules(&[("HTTPS_PROXY", "p:3128"), ("NO_PROXY", "a.com, *")]);
        assert_eq!(via(&r, "https://10.1.2.3:6443"), None);
        // 4. A leading dot matches subdomains only.
        let r = rules(&[("HTTPS_PROXY", "p:3128"), ("NO_PROXY", ".y.com")]);
        assert_eq!(via(&r, "https://x.y.com"), None);
        assert_eq!(via(&r, "https://y.com"), p);
        // 5. `*.y.com` is `.y.com`.
        let r = rules(&[("HTTPS_PROXY", "p:3128"), ("NO_PROXY", "*.y.com")]);
        assert_eq!(via(&r, "https://x.y.com"), None);
        assert_eq!(via(&r, "https://y.com"), p);
        // 6. Entries with a port match that port only (443 when the URL has none).
        let r = rules(&[
            ("HTTPS_PROXY", "p:3128"),
            ("NO_PROXY", "k.com:6443,10.0.0.1:443,[fd00::1]:6443"),
        ]);
        assert_eq!(via(&r, "https://k.com:6443"), None);
        assert_eq!(via(&r, "https://k.com"), p);
        assert_eq!(via(&r, "https://10.0.0.1"), None);
        assert_eq!(via(&r, "https://10.0.0.1:6443"), p);
        assert_eq!(via(&r, "https://[fd00::1]:6443"), None);
        // 7. A proxy URL that cannot be used fails the request, naming the variable,
        //    instead of silently connecting directly.
        let r = rules(&[("HTTPS_PROXY", "ftp://alice:pw@p")]);
        let got = via(&r, "https://k.com").unwrap();
        assert!(
            got.starts_with("error: HTTPS_PROXY: unsupported proxy scheme \"ftp\""),
            "{got}"
        );
        assert!(!got.contains("pw"), "{got}");
    }

    #[test]
    fn env_rules_as_go_documents_them() {
        let p = Some("http://p:3128".to_owned());
        let r = rules(&[
            ("https_proxy", "p:3128"),
            ("HTTP_PROXY", "socks5://s"),
            ("no_proxy", " Foo.COM , 10.0.0.0/8,fd00::/8, 192.168.1.7"),
        ]);
        // Domains match themselves and their subdomains, case-insensitively.
        assert_eq!(via(&r, "https://foo.com"), None);
        assert_eq!(via(&r, "https://BAR.foo.com"), None);
        assert_eq!(via(&r, "https://barfoo.com"), p);
        // CIDRs and addresses.
        assert_eq!(via(&r, "https://10.200.0.1:6443"), None);
        assert_eq!(via(&r, "https://11.0.0.1:6443"), p);
        assert_eq!(via(&r, "https://[fd00::5]:6443"), None);
        assert_eq!(via(&r, "https://192.168.1.7"), None);
        // Loopback never goes through the environment's proxy.
        for url in [
            "https://localhost:6443",
            "https://127.0.0.2",
            "https://[::1]:1",
        ] {
            assert_eq!(via(&r, url), None, "{url}");
        }
        // http servers take HTTP_PROXY, with the scheme's default port.
        assert_eq!(
            via(&r, "http://k.example"),
            Some("socks5://s:1080".to_owned())
        );
        // No variable, no proxy.
        assert_eq!(via(&rules(&[]), "https://k"), None);
        // CGI: HTTP_PROXY is refused, HTTPS_PROXY still used.
        let r = rules(&[
            ("REQUEST_METHOD", "GET"),
            ("HTTP_PROXY", "http://evil"),
            ("HTTPS_PROXY", "https://p"),
        ]);
        assert!(via(&r, "http://k").unwrap().contains("CGI"));
        assert_eq!(via(&r, "https://k"), Some("https://p:443".to_owned()));
    }

    #[test]
    fn proxy_urls_parse_with_their_credentials_kept_apart() {
        let t = ProxyTarget::parse("HTTPS://al%40ice:s3%3Acret@[::1]:8443/ignored").unwrap();
        assert_eq!(t.scheme, ProxyScheme::Https);
        assert_eq!(t.shown(), "https://[::1]:8443");
        assert_eq!(t.bare_host(), "::1");
        let (user, pass) = t.credentials.clone().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("al@ice", "s3:cret"));
        assert!(!format!("{t:?}").contains("cret"));
        assert_eq!(ProxyTarget::parse("socks5h://s").unwrap().port, 1080);
        assert!(ProxyTarget::parse("http://").is_err());
        assert!(ProxyTarget::parse("not a url").is_err());
    }
}
