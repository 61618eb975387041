//! Finding messages in the generated table: by index, and the message of a kind.

use crate::protobuf::generated::{KINDS, MESSAGES};
use crate::protobuf::schema::Msg;

/// The message at an index of the table (`None` only for a corrupt index).
pub(crate) fn message(index: u16) -> Option<&'static Msg> {
    MESSAGES.get(usize::from(index))
}

/// Kinds a core (`v1`) object names that are meta/v1's messages.
const META_KINDS: &[&str] = &[
    "Status",
    "DeleteOptions",
    "WatchEvent",
    "APIVersions",
    "APIGroupList",
    "APIGroup",
    "APIResourceList",
];

/// The message of an `apiVersion` and `kind`, if the kind has one (custom resources do not).
pub(crate) fn message_for(api_version: &str, kind: &str) -> Option<&'static Msg> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let find = |g: &str, v: &str| {
        KINDS
            .binary_search_by(|(kg, kv, kk, _)| (*kg, *kv, *kk).cmp(&(g, v, kind)))
            .ok()
            .and_then(|i| message(KINDS[i].3))
    };
    find(group, version).or_else(|| {
        (META_KINDS.contains(&kind) && matches!(api_version, "v1" | "meta.k8s.io/v1"))
            .then(|| find("meta.k8s.io", "v1"))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf::schema::Ty;

    #[test]
    fn kinds_find_their_messages() {
        assert_eq!(
            message_for("v1", "Pod").map(|m| m.name),
            Some("k8s.io.api.core.v1.Pod")
        );
        assert_eq!(
            message_for("apps/v1", "DeploymentList").map(|m| m.name),
            Some("k8s.io.api.apps.v1.DeploymentList")
        );
        assert_eq!(
            message_for("v1", "Status").map(|m| m.name),
            Some("k8s.io.apimachinery.pkg.apis.meta.v1.Status")
        );
        assert!(message_for("pb.example.com/v1", "Widget").is_none());
        assert!(message_for("meta.k8s.io/v1", "Table").is_none());
    }

    #[test]
    fn the_table_is_sorted_and_its_indices_hold() {
        assert!(MESSAGES.windows(2).all(|w| w[0].name < w[1].name));
        assert!(
            KINDS
                .windows(2)
                .all(|w| (w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2))
        );
        for m in MESSAGES {
            assert_eq!(m.wire_order.len(), m.fields.len(), "{}", m.name);
            for f in m.fields {
                if let Ty::Message(i) = f.ty {
                    assert!(message(i).is_some(), "{}.{}", m.name, f.json);
                }
            }
        }
    }
}
