//! Reads tags from the many shapes CloudTrail writes them in.
//!
//! Seen in real records: `{"k": "v"}` maps (Lambda), `[{"key": "k", "value": "v"}]` lists (RDS,
//! EC2), `{"items": [...]}` and `{"Tag": [...]}` wrappers (EC2, S3's XML-derived JSON, where a
//! single tag is an object rather than a one-element list), `Key`/`Value` and `TagKey`/`TagValue`
//! `tagKey`/`tagValue` (KMS) spellings.

use std::collections::BTreeMap;

use serde_json::Value;

const KEY_FIELDS: [&str; 4] = ["key", "Key", "TagKey", "tagKey"];
const VALUE_FIELDS: [&str; 4] = ["value", "Value", "TagValue", "tagValue"];
const WRAPPERS: [&str; 8] = [
    "items", "item", "Tag", "TagSet", "tagSet", "Tags", "tags", "member",
];

/// Every tag found in `value`, in any of the shapes above. A tag with no value gets `""`.
pub(crate) fn tags_from_value(value: &Value) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    collect_tags(value, &mut tags);
    tags
}

fn collect_tags(value: &Value, tags: &mut BTreeMap<String, String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_tags(item, tags)),
        Value::Object(map) => {
            if let Some(key) = KEY_FIELDS.iter().find_map(|f| map.get(*f)?.as_str()) {
                let text = VALUE_FIELDS
                    .iter()
                    .find_map(|f| map.get(*f))
                    .map(scalar_text)
                    .unwrap_or_default();
                tags.insert(key.to_owned(), text);
            } else if let Some(inner) = single_wrapper(map) {
                collect_tags(inner, tags);
            } else {
                for (key, inner) in map {
                    if !inner.is_object() && !inner.is_array() {
                        tags.insert(key.clone(), scalar_text(inner));
                    }
                }
            }
        }
        _ => {}
    }
}

/// An object whose only member is a known wrapper around a list (`{"items": [...]}`).
fn single_wrapper(map: &serde_json::Map<String, Value>) -> Option<&Value> {
    if map.len() != 1 {
        return None;
    }
    let (key, inner) = map.iter().next()?;
    (WRAPPERS.contains(&key.as_str()) && (inner.is_array() || inner.is_object())).then_some(inner)
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Tag keys an untag request removes: a list of strings, or tag objects whose keys count.
pub(crate) fn tag_keys_from_value(value: &Value) -> Vec<String> {
    match value {
        Value::String(key) => vec![key.clone()],
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Value::Object(map) if single_wrapper(map).is_some() => single_wrapper(map)
            .map(tag_keys_from_value)
            .unwrap_or_default(),
        other => tags_from_value(other).into_keys().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(value: Value) -> Vec<(String, String)> {
        tags_from_value(&value).into_iter().collect()
    }

    #[test]
    fn every_shape() {
        let expected = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(pairs(json!({"a": "1", "b": "2"})), expected);
        assert_eq!(
            pairs(json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])),
            expected
        );
        assert_eq!(
            pairs(json!({"items": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]})),
            expected
        );
        assert_eq!(
            pairs(json!({"Tag": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})),
            expected
        );
        assert_eq!(
            pairs(json!({"TagSet": {"Tag": {"Key": "a", "Value": 1}}})),
            vec![("a".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            pairs(json!([{"tagKey": "a", "tagValue": "1"}])),
            vec![("a".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            pairs(json!([{"TagKey": "a"}])),
            vec![("a".to_owned(), String::new())]
        );
    }

    #[test]
    fn keys() {
        assert_eq!(tag_keys_from_value(&json!(["a", "b"])), ["a", "b"]);
        assert_eq!(
            tag_keys_from_value(&json!({"items": [{"key": "a"}]})),
            ["a"]
        );
        assert_eq!(tag_keys_from_value(&json!({"items": ["a"]})), ["a"]);
    }
}
