//! The workbook's one JSON implementation, written and read by hand: the `--trace` lines,
//! lesson 13's `--json` report, and that report read back to draw its chart.
//!
//! Why not `serde_json`: as a dependency of the library it is built before a student's first
//! `cargo run --bin lesson01`. Measured on 2 cores (three cold builds each, median): 9.2 s of
//! CPU with it against 5.7 s without (1.6 times), which would take the first run past its 10 s.
//! The checker and the tests, which are not on that path, read the trace with `serde_json`.

use std::fmt::Write as _;

/// A JSON value: built and written by the library, or parsed back with [`parse`].
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number; NaN and infinities are written as `null`, which JSON requires.
    Number(f64),
    /// A string, escaped on output.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in the order given.
    Object(Vec<(String, Json)>),
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::String(text)
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Number(n as f64)
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Number(n as f64)
    }
}

impl Json {
    /// An object from (key, value) pairs.
    pub fn object<'a>(pairs: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        Json::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// The value as JSON on one line, with no spaces: one record of a JSON-lines file.
    pub fn render_line(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape_into(out, key);
                    out.push(':');
                    value.write_compact(out);
                }
                out.push('}');
            }
            scalar => scalar.write(out, 0),
        }
    }

    /// The value as JSON text, indented by two spaces per level.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) if !n.is_finite() => out.push_str("null"),
            Json::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            Json::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Json::String(s) => escape_into(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(indent + 1));
                    item.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&pad(indent));
                out.push(']');
            }
            Json::Object(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Object(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(indent + 1));
                    escape_into(out, key);
                    out.push_str(": ");
                    value.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&pad(indent));
                out.push('}');
            }
        }
    }
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped.
fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

static NULL: Json = Json::Null;

/// Reading: a document parsed, and its parts looked up without a panic (a missing member is
/// `null`, a number that is not one is NaN).
impl Json {
    /// The member `key` of an object (`null` if absent or not an object).
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    /// The number, or NaN.
    pub fn num(&self) -> f64 {
        if let Json::Number(n) = self { *n } else { f64::NAN }
    }

    /// The text, or "".
    pub fn text(&self) -> &str {
        if let Json::String(t) = self { t } else { "" }
    }

    /// The items of an array (none if not an array).
    pub fn items(&self) -> &[Json] {
        if let Json::Array(items) = self { items } else { &[] }
    }
}

/// Parses a JSON document (what [`Json::render`] writes, and any other).
pub fn parse(text: &str) -> std::result::Result<Json, String> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
    let value = reader.value()?;
    reader.space();
    if reader.at != reader.bytes.len() {
        return Err(format!("text after the document at byte {}", reader.at));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        self.space();
        let found = self.bytes[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self) -> std::result::Result<Json, String> {
        self.space();
        let at = self.at;
        match self.bytes.get(at) {
            _ if self.eat("null") => Ok(Json::Null),
            _ if self.eat("true") => Ok(Json::Bool(true)),
            _ if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                while !self.eat("]") {
                    if !items.is_empty() && !self.eat(",") {
                        return Err(format!("expected , or ] at byte {}", self.at));
                    }
                    items.push(self.value()?);
                }
                Ok(Json::Array(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut pairs = Vec::new();
                while !self.eat("}") {
                    if !pairs.is_empty() && !self.eat(",") {
                        return Err(format!("expected , or }} at byte {}", self.at));
                    }
                    self.space();
                    let key = self.string()?;
                    if !self.eat(":") {
                        return Err(format!("expected : at byte {}", self.at));
                    }
                    pairs.push((key, self.value()?));
                }
                Ok(Json::Object(pairs))
            }
            Some(_) => {
                let end = self.bytes[at..]
                    .iter()
                    .position(|b| !(b.is_ascii_digit() || b"+-.eE".contains(b)))
                    .map_or(self.bytes.len(), |n| at + n);
                let number = std::str::from_utf8(&self.bytes[at..end]).unwrap_or("");
                self.at = end;
                number.parse().map(Json::Number).map_err(|_| format!("no value at byte {at}"))
            }
            None => Err("the document ends early".to_owned()),
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(format!("expected a string at byte {}", self.at));
        }
        self.at += 1;
        let mut out = Vec::new();
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'"' => return String::from_utf8(out).map_err(|_| "a string is not UTF-8".into()),
                b'\\' => {
                    let escaped = *self.bytes.get(self.at).ok_or("the document ends early")?;
                    self.at += 1;
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'u' => {
                            let hex = self.bytes.get(self.at..self.at + 4).ok_or("short \\u")?;
                            let code =
                                u32::from_str_radix(std::str::from_utf8(hex).unwrap_or(""), 16)
                                    .map_err(|_| "a bad \\u escape")?;
                            self.at += 4;
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        Err("a string does not end".to_owned())
    }
}
