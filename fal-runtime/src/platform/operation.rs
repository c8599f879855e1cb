//! What a typed REST operation is to the client: the [`Operation`] trait that
//! generated request types implement, the [`RequestParts`] they write
//! themselves into, the [`ResponseBody`] they read their answer from, and
//! cursor pagination ([`Paginated`], [`Page`]).
//!
//! Generated code calls only these, so the wire rules live here once: how a
//! parameter value becomes path, query or header text (OpenAPI's `simple` and
//! `form` styles), how a body is serialized, and how an answer is decoded with
//! the serde path of any mismatch.

use std::fmt::Write as _;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// An HTTP method (`Method::GET`, …).
pub use reqwest::Method;

/// A typed call of a REST API: implemented by each generated request type,
/// which knows its method, path, parameters, body and answer type. Send one
/// with [`super::Platform::send`].
pub trait Operation: Send + Sync {
    /// What a successful answer decodes into.
    type Output: Send;
    /// The document's `operationId` (used in errors and tracing).
    const OPERATION_ID: &'static str;
    /// The HTTP method.
    const METHOD: Method;

    /// Writes the path, query, headers and body of this request into `request`.
    fn write(&self, request: &mut RequestParts) -> Result<()>;

    /// Decodes a successful answer.
    fn read(body: ResponseBody) -> Result<Self::Output>;
}

/// A list operation that pages with a cursor (`cursor` in, `next_cursor` and
/// `has_more` out). [`super::Platform::pages`] follows the cursors.
pub trait Paginated: Operation + Clone {
    /// One listed item.
    type Item: Send;

    /// Asks for the page after `cursor`.
    fn set_cursor(&mut self, cursor: String);

    /// Splits an answer into its items and where the listing continues.
    fn into_page(output: Self::Output) -> Page<Self::Item>;
}

/// One page of a cursor listing.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` at the end.
    pub next_cursor: Option<String>,
    /// The server's `has_more`, when it sends one.
    pub has_more: Option<bool>,
}

impl<T> Page<T> {
    /// A page from its parts.
    pub fn new(items: Vec<T>, next_cursor: Option<String>, has_more: Option<bool>) -> Self {
        Page {
            items,
            next_cursor,
            has_more,
        }
    }

    /// The cursor to continue with: the next cursor unless the server said
    /// there is nothing more (or gave an empty cursor).
    pub fn continuation(&self) -> Option<&str> {
        if self.has_more == Some(false) {
            return None;
        }
        self.next_cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// The parts of one request, as an [`Operation`] writes them.
#[derive(Clone, Debug, Default)]
pub struct RequestParts {
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Bytes>,
    /// Set when the operation takes an `Idempotency-Key`: the value sent.
    pub(crate) idempotency_key: Option<String>,
}

impl RequestParts {
    /// Empty parts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a literal path segment.
    pub fn segment(&mut self, text: &str) {
        self.segments.push(text.to_owned());
    }

    /// Appends a path parameter as one segment (percent-encoded when sent, so
    /// a value can never add or escape a path level).
    pub fn param_segment<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let text = Self::param_text(value)?;
        if text.is_empty() {
            return Err(input_error(".", "a path parameter is empty"));
        }
        self.segments.push(text);
        Ok(())
    }

    /// The text of a path parameter (`simple` style: a list is comma-joined).
    pub fn param_text<T: Serialize + ?Sized>(value: &T) -> Result<String> {
        match to_json(value, "path parameter")? {
            Value::Array(items) => Ok(items.iter().map(scalar_text).collect::<Vec<_>>().join(",")),
            other => Ok(scalar_text(&other)),
        }
    }

    /// Adds query parameter `name` (`form` style): nothing for `None`/null, a
    /// list as repeated pairs when `explode`, else comma-joined; an object's
    /// members as their own pairs when `explode`, else `name=k,v,…`.
    pub fn query<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
        explode: bool,
    ) -> Result<()> {
        match to_json(value, name)? {
            Value::Null => {}
            Value::Array(items) if explode => {
                for item in items.iter().filter(|v| !v.is_null()) {
                    self.query.push((name.to_owned(), scalar_text(item)));
                }
            }
            Value::Array(items) => {
                let joined: Vec<String> = items.iter().map(scalar_text).collect();
                self.query.push((name.to_owned(), joined.join(",")));
            }
            Value::Object(members) if explode => {
                for (key, member) in members.iter().filter(|(_, v)| !v.is_null()) {
                    self.query.push((key.clone(), scalar_text(member)));
                }
            }
            Value::Object(members) => {
                let mut joined = Vec::with_capacity(members.len() * 2);
                for (key, member) in &members {
                    joined.push(key.clone());
                    joined.push(scalar_text(member));
                }
                self.query.push((name.to_owned(), joined.join(",")));
            }
            scalar => self.query.push((name.to_owned(), scalar_text(&scalar))),
        }
        Ok(())
    }

    /// Adds header `name` (nothing for `None`/null; a list comma-joined).
    pub fn header<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<()> {
        let text = match to_json(value, name)? {
            Value::Null => return Ok(()),
            Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
            other => scalar_text(&other),
        };
        if reqwest::header::HeaderValue::from_str(&text).is_err() {
            return Err(input_error(
                name,
                "the value is not allowed in an HTTP header",
            ));
        }
        self.headers.push((name.to_owned(), text));
        Ok(())
    }

    /// Sends header `name` as the idempotency key: `key` when given, else a
    /// fresh random one. The parts are built once per call, so every retry of
    /// the call carries the same key and the server applies the call once.
    pub fn idempotency_key(&mut self, name: &str, key: Option<&str>) -> Result<()> {
        let key = match key {
            Some(key) => key.to_owned(),
            None => random_key()?,
        };
        self.header(name, &key)?;
        self.idempotency_key = Some(key);
        Ok(())
    }

    /// Sets a JSON body (nothing for `None`).
    pub fn json_body<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::new(&mut bytes);
        serde_path_to_error::serialize(value, &mut serializer)
            .map_err(|err| Error::input(err.path().to_string(), err.into_inner()))?;
        if bytes != b"null" {
            self.body = Some(Bytes::from(bytes));
        }
        Ok(())
    }

    /// The idempotency key this request carries, if the operation takes one.
    pub fn idempotency_key_sent(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The path segments written so far (unencoded).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The query pairs written so far, in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The headers written so far.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The JSON body, if one was written.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| Error::input(what.to_owned(), err))
}

/// An input the API cannot take, at `path`, for a reason of our own.
pub(crate) fn input_error(path: &str, message: impl std::fmt::Display) -> Error {
    Error::input(
        path.to_owned(),
        <serde_json::Error as serde::ser::Error>::custom(message),
    )
}

/// A scalar as parameter text: strings as they are, numbers and booleans as
/// JSON writes them, anything nested as JSON.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// 122 random bits in the UUID v4 text form.
fn random_key() -> Result<String> {
    let mut bytes: [u8; 16] = crate::random::bytes()?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    Ok(out)
}

/// A successful answer's body, for [`Operation::read`].
#[derive(Clone, Debug)]
pub struct ResponseBody {
    pub(crate) bytes: Bytes,
    pub(crate) request_id: Option<String>,
}

impl ResponseBody {
    /// Decodes JSON; a mismatch names the serde path, with the body and request id.
    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        crate::queue::decode(
            "platform API answer",
            &self.bytes,
            self.request_id.as_deref(),
        )
    }

    /// The body as text (it must be UTF-8).
    pub fn text(self) -> Result<String> {
        String::from_utf8(self.bytes.to_vec()).map_err(|err| {
            Error::decode_at(
                "platform API answer",
                ".".into(),
                <serde_json::Error as serde::de::Error>::custom(format!(
                    "the text is not UTF-8: {err}"
                )),
                &self.bytes,
                self.request_id.as_deref(),
            )
        })
    }

    /// The raw bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    /// Nothing: the operation answers without a body (whatever arrived is ignored).
    pub fn empty(self) -> Result<()> {
        Ok(())
    }

    /// The `x-fal-request-id` of the answer, when it had one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_styles() {
        let mut parts = RequestParts::new();
        parts.query("ids", &json!(["a", "b"]), true).unwrap();
        parts.query("tags", &json!(["x", 1, true]), false).unwrap();
        parts.query("limit", &Some(5), true).unwrap();
        parts.query("cursor", &None::<String>, true).unwrap();
        parts
            .query("filter", &json!({"k": "v", "n": 2}), true)
            .unwrap();
        parts.query("deep", &json!({"k": "v"}), false).unwrap();
        assert_eq!(
            parts.query,
            vec![
                ("ids".into(), "a".into()),
                ("ids".into(), "b".into()),
                ("tags".into(), "x,1,true".into()),
                ("limit".into(), "5".into()),
                ("k".into(), "v".into()),
                ("n".into(), "2".into()),
                ("deep".into(), "k,v".into()),
            ]
        );
    }

    #[test]
    fn path_header_and_body_rules() {
        let mut parts = RequestParts::new();
        parts.param_segment("a/../b").unwrap();
        assert_eq!(parts.segments, vec!["a/../b".to_owned()]);
        assert!(parts.param_segment("").is_err());
        assert!(parts.header("X-Bad", "line\nbreak").is_err());
        parts.header("X-None", &None::<String>).unwrap();
        assert!(parts.headers.is_empty());
        parts.json_body(&None::<u8>).unwrap();
        assert!(parts.body.is_none());
        parts.json_body(&json!({"a": 1})).unwrap();
        assert_eq!(parts.body.as_deref(), Some(&b"{\"a\":1}"[..]));
    }

    #[test]
    fn idempotency_keys_are_kept_or_made() {
        let mut parts = RequestParts::new();
        parts.idempotency_key("Idempotency-Key", None).unwrap();
        let made = parts.idempotency_key_sent().unwrap().to_owned();
        assert_eq!(made.len(), 36);
        assert_eq!(&made[14..15], "4");
        let mut again = RequestParts::new();
        again.idempotency_key("Idempotency-Key", None).unwrap();
        assert_ne!(again.idempotency_key_sent(), Some(made.as_str()));
        let mut given = RequestParts::new();
        given
            .idempotency_key("Idempotency-Key", Some("mine"))
            .unwrap();
        assert_eq!(
            given.headers,
            vec![("Idempotency-Key".into(), "mine".into())]
        );
    }

    #[test]
    fn pages_continue_only_when_the_server_says_so() {
        assert_eq!(
            Page::new(vec![1], Some("c".into()), None).continuation(),
            Some("c")
        );
        assert_eq!(
            Page::new(vec![1], Some("c".into()), Some(false)).continuation(),
            None
        );
        assert_eq!(
            Page::<u8>::new(vec![], Some(String::new()), Some(true)).continuation(),
            None
        );
        assert_eq!(
            Page::<u8>::new(vec![], None, Some(true)).continuation(),
            None
        );
    }
}
