//! A small EventBridge event-pattern matcher over the syntax infra/ and `enforcer events pattern`
//! use, so tests can prove which events a rule delivers without an AWS account.
//!
//! Supported, with EventBridge's semantics:
//! - an object: every key must match (AND); `$or`: a list of patterns at the same level, any of
//!   which may match;
//! - a list of matchers for a leaf: any may match (OR); an event value that is a list matches
//!   when any of its elements does; objects inside event lists are matched element by element;
//! - matchers: exact strings, numbers, booleans and `null`; `{"prefix": s}`;
//!   `{"anything-but": s | [s, …] | {"prefix": s}}` (never matches a missing field);
//!   `{"exists": true | false}` (leaf fields only: a missing field or an object is "not there").
//!
//! Anything else panics: a template must not use syntax this matcher cannot judge.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

/// True when `event` matches `pattern`.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        panic!("a pattern is an object, not {pattern}")
    };
    fields.iter().all(|(key, expected)| {
        if key == "$or" {
            let Value::Array(alternatives) = expected else {
                panic!("$or takes a list of patterns, not {expected}")
            };
            assert!(alternatives.len() >= 2, "$or needs at least two patterns");
            return alternatives.iter().any(|p| matches(p, event));
        }
        let actual = match event {
            Value::Object(map) => map.get(key),
            _ => None,
        };
        match expected {
            Value::Object(_) => match actual {
                // Objects in event arrays are matched one by one (EventBridge flattens them).
                Some(Value::Array(items)) => items.iter().any(|item| matches(expected, item)),
                Some(value) => matches(expected, value),
                None => matches(expected, &Value::Null),
            },
            Value::Array(matchers) => {
                assert!(!matchers.is_empty(), "empty matcher list for {key}");
                leaf_matches(matchers, actual)
            }
            other => panic!("{key}: a pattern value is an object or a list, not {other}"),
        }
    })
}

fn leaf_matches(matchers: &[Value], actual: Option<&Value>) -> bool {
    // A field holding an object is not a leaf: for matching it is not there.
    let actual = actual.filter(|v| !v.is_object());
    matchers.iter().any(|matcher| match actual {
        Some(Value::Array(items)) if !matcher_is_exists(matcher) => {
            items.iter().any(|item| one_matches(matcher, Some(item)))
        }
        _ => one_matches(matcher, actual),
    })
}

fn matcher_is_exists(matcher: &Value) -> bool {
    matcher
        .as_object()
        .is_some_and(|m| m.contains_key("exists"))
}

fn one_matches(matcher: &Value, actual: Option<&Value>) -> bool {
    match matcher {
        Value::Object(operator) => {
            assert_eq!(operator.len(), 1, "one operator per matcher: {matcher}");
            let (name, argument) = operator.iter().next().unwrap();
            match name.as_str() {
                "exists" => {
                    let wanted = argument
                        .as_bool()
                        .unwrap_or_else(|| panic!("exists takes true or false: {matcher}"));
                    actual.is_some() == wanted
                }
                "prefix" => {
                    let prefix = argument
                        .as_str()
                        .unwrap_or_else(|| panic!("prefix takes a string: {matcher}"));
                    actual
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.starts_with(prefix))
                }
                "anything-but" => match actual {
                    None | Some(Value::Null) => false,
                    Some(value) => !anything_but_excludes(argument, value),
                },
                other => panic!("unsupported operator `{other}` in {matcher}"),
            }
        }
        Value::Array(_) => panic!("nested list in a matcher list: {matcher}"),
        exact => actual == Some(exact),
    }
}

fn anything_but_excludes(argument: &Value, value: &Value) -> bool {
    match argument {
        Value::Array(excluded) => {
            assert!(!excluded.is_empty(), "anything-but with an empty list");
            excluded.iter().any(|e| {
                assert!(
                    !e.is_object() && !e.is_array(),
                    "anything-but list of scalars: {e}"
                );
                e == value
            })
        }
        Value::Object(operator) => match operator.get("prefix").and_then(Value::as_str) {
            Some(prefix) if operator.len() == 1 => {
                value.as_str().is_some_and(|s| s.starts_with(prefix))
            }
            _ => panic!("unsupported anything-but operator {argument}"),
        },
        scalar => scalar == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_values_prefix_and_lists() {
        let pattern =
            json!({"source": ["aws.s3"], "detail": {"eventName": ["A", {"prefix": "B20"}]}});
        assert!(matches(
            &pattern,
            &json!({"source": "aws.s3", "detail": {"eventName": "A"}})
        ));
        assert!(matches(
            &pattern,
            &json!({"source": "aws.s3", "detail": {"eventName": "B2015"}})
        ));
        assert!(!matches(
            &pattern,
            &json!({"source": "aws.s3", "detail": {"eventName": "BX"}})
        ));
        assert!(!matches(
            &pattern,
            &json!({"source": "aws.ec2", "detail": {"eventName": "A"}})
        ));
        assert!(!matches(&pattern, &json!({"source": "aws.s3"})));
        // Event lists: any element.
        assert!(matches(&json!({"r": ["x"]}), &json!({"r": ["w", "x"]})));
        assert!(!matches(&json!({"r": ["x"]}), &json!({"r": []})));
        // Objects in event lists are matched one by one.
        assert!(matches(
            &json!({"a": {"b": ["x"]}}),
            &json!({"a": [{"b": "y"}, {"b": "x"}]})
        ));
    }

    #[test]
    fn or_picks_any_alternative_at_its_level() {
        let pattern = json!({"d": {"$or": [{"s": ["1"], "n": ["a"]}, {"s": ["2"], "n": ["b"]}]}});
        assert!(matches(&pattern, &json!({"d": {"s": "1", "n": "a"}})));
        assert!(matches(&pattern, &json!({"d": {"s": "2", "n": "b"}})));
        assert!(
            !matches(&pattern, &json!({"d": {"s": "1", "n": "b"}})),
            "no cross product"
        );
    }

    #[test]
    fn anything_but_and_exists() {
        let but = json!({"u": {"arn": [{"anything-but": ["me"]}]}});
        assert!(matches(&but, &json!({"u": {"arn": "you"}})));
        assert!(!matches(&but, &json!({"u": {"arn": "me"}})));
        assert!(
            !matches(&but, &json!({"u": {}})),
            "anything-but needs the field"
        );
        let prefix = json!({"r": [{"anything-but": {"prefix": "us-"}}]});
        assert!(matches(&prefix, &json!({"r": "eu-west-1"})));
        assert!(!matches(&prefix, &json!({"r": "us-east-1"})));
        let absent = json!({"u": {"s": {"arn": [{"exists": false}]}}});
        assert!(matches(&absent, &json!({"u": {}})));
        assert!(matches(&absent, &json!({})));
        assert!(matches(&absent, &json!({"u": {"s": {"other": 1}}})));
        assert!(!matches(&absent, &json!({"u": {"s": {"arn": "x"}}})));
        let present = json!({"a": [{"exists": true}]});
        assert!(matches(&present, &json!({"a": "x"})));
        assert!(
            !matches(&present, &json!({"a": {"b": 1}})),
            "objects are not leaves"
        );
    }

    #[test]
    #[should_panic(expected = "unsupported operator `wildcard`")]
    fn unknown_syntax_is_refused() {
        matches(&json!({"a": [{"wildcard": "x*"}]}), &json!({"a": "xy"}));
    }
}
