//! Object metadata the server owns: names, UIDs, timestamps, validation.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Now as RFC 3339 in UTC with second precision, as Kubernetes writes timestamps.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` timestamp; `None` for anything else.
pub(crate) fn epoch_seconds(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    let n = |from: usize, to: usize| ts.get(from..to)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + n(11, 13)? * 3600 + n(14, 16)? * 60 + n(17, 19)?)
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A random version-4 UUID.
pub(crate) fn new_uid() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Five random characters from Kubernetes' generateName alphabet.
pub(crate) fn random_suffix() -> String {
    // k8s.io/apimachinery/pkg/util/rand: consonants and digits without look-alikes.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    fill_random(&mut b);
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        // No OS randomness: fall back to the clock; uniqueness within a process still
        // holds because the store never reuses a UID it has seen in practice.
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = (n >> ((i % 16) * 8)) as u8 ^ i as u8;
        }
    }
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// Is `s` an RFC 1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters)?
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Is `s` an RFC 1123 subdomain (dot-separated labels, at most 253 characters)?
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Resources whose names must be RFC 1123 labels rather than subdomains.
fn needs_label_name(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("", "namespaces") | ("", "services") | ("", "replicationcontrollers")
    )
}

/// Validate an object name for a resource; the error is `(reason, message)` for a 422 cause.
pub(crate) fn validate_name(
    group: &str,
    plural: &str,
    name: &str,
) -> Result<(), (&'static str, String)> {
    if name.is_empty() {
        return Err((
            "FieldValueRequired",
            "Required value: name or generateName is required".into(),
        ));
    }
    let (ok, msg) = if needs_label_name(group, plural) {
        (is_dns1123_label(name), DNS1123_LABEL_MSG)
    } else {
        (is_dns1123_subdomain(name), DNS1123_SUBDOMAIN_MSG)
    };
    if ok {
        Ok(())
    } else {
        Err((
            "FieldValueInvalid",
            format!("Invalid value: {name:?}: {msg}"),
        ))
    }
}

/// The string at a path of fields ("" when missing).
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Is the object being deleted?
pub(crate) fn terminating(v: &Value) -> bool {
    v["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_back() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_799] {
            assert_eq!(epoch_seconds(&rfc3339(secs)), Some(secs as i64));
        }
        assert_eq!(epoch_seconds("2026-11-27T02:41:03"), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_747_663), "2026-11-27T02:47:43Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn uids_are_v4_and_distinct() {
        let a = new_uid();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_uid());
        assert_eq!(random_suffix().len(), 5);
    }

    #[test]
    fn names() {
        assert!(validate_name("", "pods", "web-1.a").is_ok());
        assert!(validate_name("", "pods", "Bad_Name").is_err());
        assert!(validate_name("", "namespaces", "a.b").is_err());
        assert_eq!(
            validate_name("", "pods", "").unwrap_err().0,
            "FieldValueRequired"
        );
        assert!(!is_dns1123_label(&"a".repeat(64)));
    }
}
