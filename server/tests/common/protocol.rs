//! The capture WebSocket's JSON Schema, `docs/protocol.schema.json`: the tests check the messages
//! the server sends (and the browser's) against it, one definition per message type.
use std::{collections::HashMap, sync::LazyLock};

use jsonschema::Validator;
use serde_json::{json, Value};

/// The schema document and a validator per message definition (`server.ready`, …) and per
/// direction (`ServerMessage`, `ClientMessage`).
pub struct Protocol {
    pub doc: Value,
    messages: HashMap<String, Validator>,
}

pub static PROTOCOL: LazyLock<Protocol> = LazyLock::new(Protocol::load);

impl Protocol {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.schema.json");
        let text = std::fs::read_to_string(path).expect("docs/protocol.schema.json is readable");
        let doc: Value = serde_json::from_str(&text).expect("docs/protocol.schema.json is JSON");
        jsonschema::meta::validate(&doc).expect("docs/protocol.schema.json is a valid JSON Schema");
        let defs = doc["$defs"].as_object().expect("the schema has $defs");
        let messages = defs
            .keys()
            .filter(|k| k.contains('.') || k.ends_with("Message"))
            .map(|name| (name.clone(), validator(&doc, name)))
            .collect();
        Protocol { doc, messages }
    }

    /// Panics, saying what is wrong, unless `m` is a `direction` (`server` or `client`)
    /// message that the schema describes, both by its own definition and as one of the
    /// direction's messages.
    pub fn check(&self, direction: &str, m: &Value) {
        let kind = m["type"]
            .as_str()
            .unwrap_or_else(|| panic!("a {direction} message without a string `type`: {m}"));
        let name = format!("{direction}.{kind}");
        let Some(own) = self.messages.get(&name).filter(|_| name.contains('.')) else {
            panic!(
                "the {direction} message `{kind}` is not in docs/protocol.schema.json: add \
                 `$defs/{name}` and list it in the direction's oneOf ({m})"
            );
        };
        let errors: Vec<String> = own
            .iter_errors(m)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{m} breaks $defs/{name} of docs/protocol.schema.json: {errors:#?}"
        );
        let all = if direction == "server" {
            "ServerMessage"
        } else {
            "ClientMessage"
        };
        assert!(
            self.messages[all].is_valid(m),
            "{m} is not one of $defs/{all}: list $defs/{name} in its oneOf"
        );
    }
}

/// A validator for `$defs/{name}`, with the document's other definitions in reach.
fn validator(doc: &Value, name: &str) -> Validator {
    let schema = json!({
        "$schema": doc["$schema"],
        "$ref": format!("#/$defs/{name}"),
        "$defs": doc["$defs"],
    });
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("$defs/{name} of docs/protocol.schema.json: {e}"))
}

/// A text message received from the server, parsed and checked against the schema.
pub fn server_message(text: &str) -> Value {
    let m: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the server sent text that is not JSON ({e}): {text}"));
    PROTOCOL.check("server", &m);
    m
}
