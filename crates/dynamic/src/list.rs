//! [`UnstructuredList`]: a LIST answer of any kind.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::unstructured::Unstructured;

/// A list of objects of any kind, as a LIST answers: `apiVersion`, `kind` (`ConfigMapList`),
/// list `metadata` (resourceVersion, continue) and `items`. Items of built-in lists come
/// without `apiVersion`/`kind`; [`DynamicResource::list`](crate::DynamicResource::list)
/// fills them in from the list, as client-go does.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnstructuredList {
    /// The list's `apiVersion`.
    #[serde(default)]
    pub api_version: String,
    /// The list's kind (`ConfigMapList`).
    #[serde(default)]
    pub kind: String,
    /// The list's metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The objects.
    #[serde(default, deserialize_with = "null_is_empty")]
    pub items: Vec<Unstructured>,
}

fn null_is_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Unstructured>, D::Error> {
    Ok(Option::<Vec<Unstructured>>::deserialize(d)?.unwrap_or_default())
}

impl UnstructuredList {
    /// `metadata.resourceVersion`: where a watch started after this list should begin.
    pub fn resource_version(&self) -> Option<&str> {
        self.metadata.get("resourceVersion")?.as_str()
    }

    /// `metadata.continue`: the token of the next page, if there is one.
    pub fn continue_token(&self) -> Option<&str> {
        self.metadata
            .get("continue")?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// The kind of the items: the list's kind without `List`.
    pub fn item_kind(&self) -> Option<&str> {
        self.kind.strip_suffix("List").filter(|k| !k.is_empty())
    }

    /// Gives every item without `apiVersion`/`kind` the list's.
    pub(crate) fn fill_item_types(&mut self) {
        let api_version = self.api_version.clone();
        let kind = self.item_kind().map(str::to_owned);
        for item in &mut self.items {
            if item.api_version().is_none() && !api_version.is_empty() {
                item.set_api_version(&api_version);
            }
            if let (None, Some(k)) = (item.kind(), kind.as_deref()) {
                item.set_kind(k);
            }
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl IntoIterator for UnstructuredList {
    type Item = Unstructured;
    type IntoIter = std::vec::IntoIter<Unstructured>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_list_items_get_their_kind() {
        let mut list: UnstructuredList = serde_json::from_str(
            r#"{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"resourceVersion":"5","continue":""},
                "items":[{"metadata":{"name":"a"}},{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}]}"#,
        )
        .unwrap();
        list.fill_item_types();
        assert_eq!(list.items[0].kind(), Some("ConfigMap"));
        assert_eq!(list.items[0].api_version(), Some("v1"));
        assert_eq!(list.resource_version(), Some("5"));
        assert_eq!(list.continue_token(), None);
        let empty: UnstructuredList =
            serde_json::from_str(r#"{"kind":"PartialObjectMetadataList","items":null}"#).unwrap();
        assert!(empty.is_empty());
    }
}
