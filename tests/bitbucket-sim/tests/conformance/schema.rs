//! A small OpenAPI 3 schema checker for the subset the Bitbucket spec uses: `$ref`, `type`,
//! `properties`, `items`, `enum`, `required`, `nullable`, `allOf` / `oneOf` / `anyOf`.
//! Extra properties are allowed (the spec does not forbid them).

use serde_json::Value;

pub struct Spec {
    doc: Value,
}

impl Spec {
    pub fn new(doc: Value) -> Spec {
        Spec { doc }
    }

    /// The 200 (or default) JSON response schema of `GET {path}` (a spec path such as
    /// `/api/latest/projects/{projectKey}`), if the spec gives one.
    pub fn response_schema(&self, path: &str) -> Option<&Value> {
        let responses = self
            .doc
            .get("paths")?
            .get(path)?
            .get("get")?
            .get("responses")?;
        let ok = responses.get("200").or_else(|| responses.get("default"))?;
        let content = ok.get("content")?.as_object()?;
        let schema = content.values().next()?.get("schema")?;
        (!schema.as_object().is_some_and(|o| o.is_empty())).then_some(schema)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..32 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let pointer = r.trim_start_matches('#');
                    match self.doc.pointer(pointer) {
                        Some(target) => s = target,
                        None => return s,
                    }
                }
                None => return s,
            }
        }
        s
    }

    /// Checks `value` against `schema`, appending `path: problem` strings to `errors`.
    pub fn check(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() {
            // Real servers send nulls (e.g. `context` in errors) where the spec says nothing.
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, value, path, errors);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let ok = options.iter().any(|s| {
                    let mut e = Vec::new();
                    self.check(s, value, path, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!("{path}: matches none of {key}"));
                }
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{path}: expected {t}, got {value}"));
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            errors.push(format!("{path}: {value} not in enum {options:?}"));
        }
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            value.as_object(),
        ) {
            for (k, v) in obj {
                if let Some(s) = props.get(k) {
                    self.check(s, v, &format!("{path}.{k}"), errors);
                }
            }
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{path}: required property {r} missing"));
                    }
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.check(items, v, &format!("{path}[{i}]"), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checker_catches_type_enum_and_required_errors() {
        let spec = Spec::new(json!({"components": {"schemas": {"A": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "integer"}, "kind": {"type": "string", "enum": ["X", "Y"]}}
        }}}}));
        let schema = json!({"type": "array", "items": {"$ref": "#/components/schemas/A"}});
        let mut errors = Vec::new();
        spec.check(&schema, &json!([{"id": 1, "kind": "X"}]), "$", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        spec.check(
            &schema,
            &json!([{"id": "1", "kind": "Z"}, {}]),
            "$",
            &mut errors,
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
