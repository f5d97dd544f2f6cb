//! The JSON Schema of the policy format, generated from [`super::raw`], and the structural check
//! that uses it.
//!
//! `serde` stops at the first unknown key or wrong type. To report every one of them at once,
//! a file is first parsed into a span-carrying TOML tree, walked against the same JSON Schema
//! that editors use (keys, types, required keys), and every offending entry is reported and
//! removed; only then is the rest deserialized into the Rust types and compiled. One schema, so
//! editors and `enforcer validate` cannot disagree about the shape of a file.

use std::ops::Range;

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{did_you_mean, Diagnostic, SourceFile};
use super::raw::PolicyFile;

/// The JSON Schema (draft-07, which Taplo and VS Code understand) of a policy file.
pub fn policy_schema() -> Value {
    schema_for::<PolicyFile>()
}

/// The draft-07 JSON Schema of any format type.
pub(crate) fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Parses `source` with the TOML parser's error recovery and checks it against `schema`.
/// Returns the tree with every offending entry removed, or `None` when the TOML itself is
/// malformed (then every syntax error is reported, and nothing else about the file).
pub(crate) fn parse_checked<'i>(
    source: &'i SourceFile,
    schema: &Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Spanned<DeTable<'i>>> {
    let (document, errors) = DeTable::parse_recoverable(source.text.as_str());
    if !errors.is_empty() {
        // Recovery can report one error twice.
        let mut seen = std::collections::BTreeSet::new();
        for error in errors {
            if !seen.insert((
                error.span().map(|s| (s.start, s.end)),
                error.message().to_owned(),
            )) {
                continue;
            }
            diagnostics.push(Diagnostic::error(
                "policy::syntax",
                format!("invalid TOML: {}", error.message().trim()),
                source,
                error.span().unwrap_or(0..0),
            ));
        }
        return None;
    }
    let span = document.span();
    let checker = Checker {
        root: schema,
        source,
    };
    let mut table = document.into_inner();
    checker.table_at(
        &mut table,
        schema,
        &Place::Root,
        &[],
        span.clone(),
        diagnostics,
    );
    Some(Spanned::new(span, table))
}

/// Where in the file a value sits, for messages.
#[derive(Debug, Clone)]
enum Place {
    Root,
    /// A top-level table such as `[policy]`, or a sub-table `[tags.X]` / `[owners.X]`.
    Table(String),
    /// Element of an array of tables (`[[rule]]`), with its `name` when it has one.
    Element {
        key: String,
        name: Option<String>,
        index: usize,
    },
}

impl Place {
    fn describe(&self) -> String {
        match self {
            Self::Root => "at the top level".to_owned(),
            Self::Table(path) => format!("in `[{path}]`"),
            Self::Element {
                key,
                name: Some(name),
                ..
            } => format!("in {key} `{name}`"),
            Self::Element { key, index, .. } => format!("in {key} #{}", index + 1),
        }
    }

    fn child_table(&self, key: &str) -> Self {
        match self {
            Self::Root => Self::Table(key.to_owned()),
            Self::Table(path) => Self::Table(format!("{path}.{key}")),
            Self::Element { .. } => self.clone(),
        }
    }

    /// The full dotted path of a table at `key`, for a `[header]`.
    fn table_path(&self, parents: &[&str], key: &str) -> String {
        let mut parts: Vec<&str> = Vec::new();
        match self {
            Self::Root => {}
            Self::Table(path) => parts.push(path),
            Self::Element { key, .. } => parts.push(key),
        }
        parts.extend(parents.iter().copied());
        parts.push(key);
        parts.join(".")
    }

    /// The key path of `key` relative to the nearest table header the author sees.
    fn key_path(&self, parents: &[&str], key: &str) -> String {
        let mut parts: Vec<&str> = parents.to_vec();
        parts.push(key);
        parts.join(".")
    }
}

struct Checker<'s> {
    root: &'s Value,
    source: &'s SourceFile,
}

impl Checker<'_> {
    /// Follows `$ref` (also as the one member of an `allOf`) and drops `null` alternatives
    /// (TOML has no null: `Option` is absence).
    fn resolve<'v>(&'v self, schema: &'v Value) -> &'v Value {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(name) = reference.strip_prefix("#/definitions/") {
                if let Some(target) = self.root.get("definitions").and_then(|d| d.get(name)) {
                    return self.resolve(target);
                }
            }
        }
        if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            return self.resolve(only);
        }
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = non_null.as_slice() {
                return self.resolve(only);
            }
        }
        schema
    }

    /// The TOML types the schema accepts, by [`toml_type`] name.
    fn accepted(&self, schema: &Value) -> Vec<&'static str> {
        let schema = self.resolve(schema);
        let mut out = Vec::new();
        let mut add = |json: &str| match json {
            "string" => out.push("string"),
            "boolean" => out.push("boolean"),
            "integer" => out.push("integer"),
            "number" => out.extend(["integer", "float"]),
            "array" => out.push("array"),
            "object" => out.push("table"),
            _ => {}
        };
        match schema.get("type") {
            Some(Value::String(kind)) => add(kind),
            Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).for_each(add),
            _ => {}
        }
        if let Some(branches) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            for branch in branches {
                out.extend(self.accepted(branch));
            }
        }
        if out.is_empty() && (schema.get("const").is_some() || schema.get("enum").is_some()) {
            out.push("string");
        }
        out
    }

    /// "a string", "an array of strings", "`enforce` or `audit`", … for messages.
    fn describe(&self, schema: &Value, plural: bool) -> String {
        let schema = self.resolve(schema);
        let consts: Vec<String> = schema
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|branches| {
                branches
                    .iter()
                    .filter_map(|b| b.get("const").and_then(Value::as_str))
                    .map(|c| format!("`{c}`"))
                    .collect()
            })
            .unwrap_or_default();
        if !consts.is_empty() {
            return format!("one of {}", consts.join(", "));
        }
        let accepted = self.accepted(schema);
        let kind = accepted.first().copied().unwrap_or("value");
        if kind == "array" {
            let items = schema
                .get("items")
                .map_or_else(|| "values".to_owned(), |i| self.describe(i, true));
            return if plural {
                format!("arrays of {items}")
            } else {
                format!("an array of {items}")
            };
        }
        match (kind, plural) {
            ("table", false) => "a table".to_owned(),
            ("table", true) => "tables".to_owned(),
            ("integer", false) => "an integer".to_owned(),
            (kind, false) => format!("a {kind}"),
            (kind, true) => format!("{kind}s"),
        }
    }

    /// Checks one value; `false` when it does not fit and was reported (the caller removes it).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        value: &mut Spanned<DeValue<'_>>,
        schema: &Value,
        place: &Place,
        parents: &[&str],
        key: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> bool {
        let schema = self.resolve(schema);
        let found = toml_type(value.get_ref());
        let accepted = self.accepted(schema);
        if !accepted.is_empty() && !accepted.contains(&found) {
            let path = place.key_path(parents, key);
            let expected = self.describe(schema, false);
            let mut diagnostic = Diagnostic::error(
                "policy::wrong-type",
                format!(
                    "`{path}` {} must be {expected}, not {}",
                    place.describe(),
                    article(found)
                ),
                self.source,
                value.span(),
            );
            let help = match (accepted.first().copied(), found) {
                (Some("array"), "string") => {
                    Some(format!("write a list, even of one item: `{key} = [\"…\"]`"))
                }
                (Some("string"), "integer" | "float" | "boolean" | "datetime") => {
                    Some(format!("quote the value: `{key} = \"…\"`"))
                }
                (Some("boolean"), "string") => Some(format!(
                    "write `{key} = true` or `{key} = false`, without quotes"
                )),
                // `[[exemptions]]` is most likely a plural `[[exemption]]`.
                (Some("table"), "array") if parents.is_empty() && key == "exemptions" => Some(
                    "an exemption is a `[[exemption]]` table (singular); `[exemptions]` \
                         (one table) holds the opt-out tag's settings"
                        .to_owned(),
                ),
                (Some("table"), _) => Some(format!(
                    "write it as a table: `[{}]`",
                    place.table_path(parents, key)
                )),
                (Some("array"), "table")
                    if schema
                        .get("items")
                        .is_some_and(|items| self.accepted(items).contains(&"table")) =>
                {
                    Some(format!("write each entry as a `[[{key}]]` table"))
                }
                _ => None,
            };
            if let Some(help) = help {
                diagnostic = diagnostic.with_help(help);
            }
            diagnostics.push(diagnostic);
            return false;
        }
        let span = value.span();
        match value.get_mut() {
            DeValue::Table(table) => {
                // Inside a `[[rule]]`, sub-tables (`set`, `allow`) are named by key path;
                // elsewhere each table has its own header (`[tags.X]`).
                let in_array = matches!(place, Place::Element { .. }) || !parents.is_empty();
                let child = if in_array {
                    place.clone()
                } else {
                    place.child_table(key)
                };
                let mut child_parents: Vec<&str> = parents.to_vec();
                if in_array {
                    child_parents.push(key);
                }
                self.table_at(table, schema, &child, &child_parents, span, diagnostics)
            }
            DeValue::Array(array) => {
                let Some(items) = schema.get("items") else {
                    return true;
                };
                let items = self.resolve(items);
                let elements_are_tables = self.accepted(items).contains(&"table");
                let old = std::mem::replace(array, DeArray::new());
                for (index, mut element) in old.into_iter().enumerate() {
                    let keep = if elements_are_tables && parents.is_empty() {
                        let element_span = element.span();
                        match element.get_mut() {
                            DeValue::Table(table) => {
                                let name = table
                                    .get("name")
                                    .and_then(|n| n.get_ref().as_str())
                                    .map(str::to_owned);
                                let element_place = Place::Element {
                                    key: key.to_owned(),
                                    name,
                                    index,
                                };
                                self.table_at(
                                    table,
                                    items,
                                    &element_place,
                                    &[],
                                    element_span,
                                    diagnostics,
                                )
                            }
                            other => {
                                diagnostics.push(
                                    Diagnostic::error(
                                        "policy::wrong-type",
                                        format!(
                                            "`{key}` #{} {} must be a table, not {}",
                                            index + 1,
                                            place.describe(),
                                            article(toml_type(other))
                                        ),
                                        self.source,
                                        element_span,
                                    )
                                    .with_help(format!("write each as a `[[{key}]]` table")),
                                );
                                false
                            }
                        }
                    } else {
                        let element_key = format!("{key}[{index}]");
                        self.value(
                            &mut element,
                            items,
                            place,
                            parents,
                            &element_key,
                            diagnostics,
                        )
                    };
                    if keep {
                        array.push(element);
                    }
                }
                true
            }
            _ => true,
        }
    }

    fn table_at(
        &self,
        table: &mut DeTable<'_>,
        schema: &Value,
        place: &Place,
        parents: &[&str],
        span: Range<usize>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> bool {
        let schema = self.resolve(schema);
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let keys: Vec<String> = table.keys().map(|k| k.get_ref().to_string()).collect();
        for key in keys {
            let property = properties.and_then(|p| p.get(&key));
            let value_schema = match (property, additional) {
                (Some(property), _) => Some(property),
                (None, Some(Value::Bool(false))) => None,
                (None, Some(schema @ Value::Object(_))) => Some(schema),
                (None, _) => continue,
            };
            let Some((spanned_key, mut value)) = table.remove_entry(key.as_str()) else {
                continue;
            };
            let keep = match value_schema {
                Some(value_schema) => {
                    self.value(&mut value, value_schema, place, parents, &key, diagnostics)
                }
                None => {
                    let names: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let help = match did_you_mean(&key, names.iter().copied()) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None => format!("allowed keys: {}", names.join(", ")),
                    };
                    let path = place.key_path(parents, &key);
                    diagnostics.push(
                        Diagnostic::error(
                            "policy::unknown-key",
                            format!("unknown key `{path}` {}", place.describe()),
                            self.source,
                            spanned_key.span(),
                        )
                        .with_help(help),
                    );
                    false
                }
            };
            if keep {
                table.insert(spanned_key, value);
            }
        }
        let mut complete = true;
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !table.contains_key(required) {
                let example = properties
                    .and_then(|p| p.get(required))
                    .map(|s| self.describe(s, false))
                    .unwrap_or_default();
                diagnostics.push(
                    Diagnostic::error(
                        "policy::missing-key",
                        format!("`{required}` is required {}", place.describe()),
                        self.source,
                        header_span(self.source, span.clone()),
                    )
                    .with_help(format!("add `{required} = …` ({example})")),
                );
                complete = false;
            }
        }
        complete
    }
}

/// The TOML type of a value, as named in messages.
fn toml_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "float",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "table",
    }
}

fn article(kind: &str) -> String {
    match kind {
        "integer" | "array" => format!("an {kind}"),
        kind => format!("a {kind}"),
    }
}

/// A table's span can cover its whole body; point at its first line (the header) instead.
fn header_span(source: &SourceFile, span: Range<usize>) -> Range<usize> {
    let text = source.text.as_str();
    let start = span.start.min(text.len());
    let end = text[start..]
        .find('\n')
        .map_or(span.end.min(text.len()), |nl| start + nl);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed schemas are what the types generate. Run with `ENFORCER_UPDATE_SCHEMA=1`
    /// (or `enforcer schema > policies/policy.schema.json`) after changing the format.
    #[test]
    fn committed_schemas_are_current() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        for (file, schema) in [
            ("policy.schema.json", policy_schema()),
            ("policy-tests.schema.json", crate::authoring::cases_schema()),
        ] {
            let path = root.join(file);
            let generated = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
            if std::env::var_os("ENFORCER_UPDATE_SCHEMA").is_some() {
                std::fs::write(&path, &generated).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "{} is out of date: run `ENFORCER_UPDATE_SCHEMA=1 cargo test committed_schemas_are_current`",
                path.display()
            );
        }
    }
}
