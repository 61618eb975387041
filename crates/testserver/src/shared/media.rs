//! Content negotiation: which representation an Accept header asks for, as
//! kube-apiserver negotiates it (the object itself, a `Table`, `PartialObjectMetadata`,
//! or aggregated discovery), and in which encoding: JSON, or protobuf for the object itself
//! ([`protobuf_first`]; `Table` and `PartialObjectMetadata` are served in JSON only, so a
//! protobuf range asking for them is passed over). A read whose Accept header allows none
//! of these gets 406. YAML and CBOR answers are not served.

use crate::shared::status::ApiError;

/// The media type of aggregated discovery (`apidiscovery.k8s.io/v2`).
pub(crate) const AGGREGATED_CT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// What the client asked to get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// The object or list itself.
    Object,
    /// A `Table` of this meta.k8s.io version (`v1` or `v1beta1`).
    Table(String),
    /// `PartialObjectMetadata` / `PartialObjectMetadataList` of this meta.k8s.io version.
    Metadata(String),
}

/// Negotiate the Accept header for a GET of one object (`list: false`) or a list.
pub(crate) fn negotiate(accept: &str, list: bool) -> Result<Output, ApiError> {
    if accept.trim().is_empty() {
        return Ok(Output::Object);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        if media == PROTOBUF && get("as").is_none() {
            return Ok(Output::Object);
        }
        if !matches!(media, "application/json" | "application/*" | "*/*") {
            continue;
        }
        let version = get("v").unwrap_or_default();
        let meta_group = get("g") == Some("meta.k8s.io") && matches!(version, "v1" | "v1beta1");
        match get("as") {
            None => return Ok(Output::Object),
            Some("Table") if meta_group => return Ok(Output::Table(version.to_owned())),
            Some("PartialObjectMetadata") if meta_group && !list => {
                return Ok(Output::Metadata(version.to_owned()));
            }
            Some("PartialObjectMetadataList") if meta_group && list => {
                return Ok(Output::Metadata(version.to_owned()));
            }
            _ => {}
        }
    }
    Err(ApiError::new(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor",
        None,
    ))
}

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The media ranges of an Accept header: each media type and its parameters.
fn ranges(accept: &str) -> impl Iterator<Item = (&str, Vec<&str>)> {
    accept.split(',').map(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        (media, parts.collect())
    })
}

/// Is protobuf the first encoding the Accept header asks for that the server serves? (A
/// protobuf `Table` or `PartialObjectMetadata` is not served, and is passed over.)
pub(crate) fn protobuf_first(accept: &str) -> bool {
    for (media, params) in ranges(accept) {
        let special = params.iter().any(|p| p.starts_with("as="));
        match media {
            PROTOBUF if !special => return true,
            "application/json" | "application/*" | "*/*" => return false,
            _ => {}
        }
    }
    false
}

/// Does the Accept header allow a plain JSON answer (an object with no protobuf form)?
pub(crate) fn accepts_json(accept: &str) -> bool {
    accept.trim().is_empty()
        || ranges(accept).any(|(media, params)| {
            matches!(media, "application/json" | "application/*" | "*/*")
                && !params.iter().any(|p| p.starts_with("as="))
        })
}

/// Does the Accept header ask for aggregated discovery?
pub(crate) fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(kubectl, true).unwrap(),
            Output::Table("v1".into())
        );
        assert_eq!(
            negotiate(
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                true
            )
            .unwrap(),
            Output::Metadata("v1".into())
        );
        assert_eq!(
            negotiate("application/json", false).unwrap(),
            Output::Object
        );
        assert_eq!(
            negotiate(
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                false
            )
            .unwrap_err()
            .code,
            406
        );
    }

    #[test]
    fn protobuf_is_negotiated_for_objects_only() {
        let pb = "application/vnd.kubernetes.protobuf";
        assert_eq!(negotiate(pb, false).unwrap(), Output::Object);
        assert!(protobuf_first(pb));
        assert!(protobuf_first(&format!("{pb}, application/json")));
        assert!(!accepts_json(pb));
        assert!(accepts_json(&format!("{pb}, application/json")));
        assert!(!protobuf_first(
            "application/json, application/vnd.kubernetes.protobuf"
        ));
        // A protobuf Table is not served: the JSON Table after it is.
        let table = "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        assert!(!protobuf_first(table));
        assert_eq!(negotiate(table, true).unwrap(), Output::Table("v1".into()));
        assert_eq!(
            negotiate(&format!("{pb};as=Table;v=v1;g=meta.k8s.io"), true)
                .unwrap_err()
                .code,
            406
        );
    }
}
