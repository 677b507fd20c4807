//! The JSON every app's `show` gives for the core's parts: people's names,
//! comments and their versions. An app adds its own fields (a line comment's
//! anchor, a CI result) to the object.

use gitapps_core::thread::{header, Comment, Version};
use gitapps_core::{clock, Fingerprint, People};
use serde_json::{json, Map, Value};

/// The name from the key, if any.
pub fn name(people: &People, who: &Fingerprint) -> Value {
    people
        .name(who)
        .map(|n| Value::String(n.to_owned()))
        .unwrap_or(Value::Null)
}

/// Every version of an edited text, oldest first.
pub fn versions(history: &[Version]) -> Value {
    Value::Array(
        history
            .iter()
            .map(|v| {
                json!({
                    "version": v.version,
                    "date": clock::format(&v.date),
                    "text": v.text,
                    "retracted": v.text.is_none(),
                })
            })
            .collect(),
    )
}

/// A comment: who, when, where (revision, reply), every header, the newest
/// text and its history.
pub fn comment(c: &Comment, people: &People) -> Map<String, Value> {
    let headers: Map<String, Value> = c
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let value = json!({
        "author": c.author.to_string(),
        "author_name": name(people, &c.author),
        "index": c.index,
        "date": clock::format(&c.date),
        "revision": c.revision(),
        "in_reply_to": c.header(header::IN_REPLY_TO),
        "headers": headers,
        "body": c.body,
        "edited": c.is_edited(),
        "retracted": c.is_retracted(),
        "history": versions(&c.history),
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}
