//! Reading Supervisely JSON with errors that name the document and the place in it.

use std::io::Read;

use serde_json::{Map, Value};

use crate::model::ImageSize;
use video_core::{Error, Result};

/// Where errors come from: the document's name.
pub(super) struct Cx<'a> {
    pub(super) source: &'a str,
}

impl Cx<'_> {
    pub(super) fn err(&self, location: &str, reason: impl Into<String>) -> Error {
        Error::Annotation {
            source_name: self.source.to_owned(),
            location: location.to_owned(),
            reason: reason.into(),
            source: None,
        }
    }

    pub(super) fn object<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(loc, format!("expected an object, found {}", kind(v))))
    }

    pub(super) fn field<'v>(
        &self,
        m: &'v Map<String, Value>,
        name: &str,
        loc: &str,
    ) -> Result<&'v Value> {
        m.get(name)
            .ok_or_else(|| self.err(loc, format!("missing field `{name}`")))
    }

    pub(super) fn string<'v>(
        &self,
        m: &'v Map<String, Value>,
        name: &str,
        loc: &str,
    ) -> Result<&'v str> {
        let v = self.field(m, name, loc)?;
        v.as_str().ok_or_else(|| {
            self.err(
                loc,
                format!("field `{name}` must be a string, found {}", kind(v)),
            )
        })
    }

    pub(super) fn uint(&self, m: &Map<String, Value>, name: &str, loc: &str) -> Result<u64> {
        let v = self.field(m, name, loc)?;
        v.as_u64().ok_or_else(|| {
            self.err(
                loc,
                format!(
                    "field `{name}` must be a whole number >= 0, found {}",
                    short(v)
                ),
            )
        })
    }

    pub(super) fn array<'v>(
        &self,
        m: &'v Map<String, Value>,
        name: &str,
        loc: &str,
    ) -> Result<&'v [Value]> {
        let v = self.field(m, name, loc)?;
        self.as_array(v, name, loc)
    }

    pub(super) fn as_array<'v>(&self, v: &'v Value, name: &str, loc: &str) -> Result<&'v [Value]> {
        v.as_array().map(Vec::as_slice).ok_or_else(|| {
            self.err(
                loc,
                format!("field `{name}` must be an array, found {}", kind(v)),
            )
        })
    }

    /// An optional array: missing or `null` is empty.
    pub(super) fn opt_array<'v>(
        &self,
        m: &'v Map<String, Value>,
        name: &str,
        loc: &str,
    ) -> Result<&'v [Value]> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(v) => self.as_array(v, name, loc),
        }
    }

    pub(super) fn size(&self, root: &Map<String, Value>) -> Result<ImageSize> {
        let size = self.object(self.field(root, "size", "")?, "size")?;
        let dim = |name| -> Result<u32> {
            let v = self.uint(size, name, "size")?;
            u32::try_from(v).map_err(|_| self.err("size", format!("`{name}` {v} is too large")))
        };
        Ok(ImageSize::new(dim("width")?, dim("height")?))
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for a message: short ones in full, long ones by kind.
pub(super) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 40 { s } else { kind(v).to_owned() }
}

pub(super) fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a} / {b}")
    }
}

pub(super) fn parse_json(cx: &Cx<'_>, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Annotation {
        source_name: cx.source.to_owned(),
        location: format!("line {} column {}", e.line(), e.column()),
        reason: "not valid JSON".into(),
        source: Some(Box::new(e)),
    })
}

pub(super) fn read_json(cx: &Cx<'_>, reader: impl Read) -> Result<Value> {
    serde_json::from_reader(reader).map_err(|e| Error::Annotation {
        source_name: cx.source.to_owned(),
        location: format!("line {} column {}", e.line(), e.column()),
        reason: if e.is_io() {
            "could not be read".into()
        } else {
            "not valid JSON".into()
        },
        source: Some(Box::new(e)),
    })
}

pub(super) fn opt_string(
    cx: &Cx<'_>,
    m: &Map<String, Value>,
    name: &str,
    loc: &str,
) -> Result<Option<String>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(cx.err(
            loc,
            format!("field `{name}` must be a string, found {}", kind(v)),
        )),
    }
}
