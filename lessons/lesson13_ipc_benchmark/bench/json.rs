//! Lesson 13's JSON beyond the library's one-line writer: the `--json` report indented, and
//! read back to draw the chart. By hand, as the library's writer is (see `src/json.rs`).

use shm_workbook::json::Json;

fn write(value: &Json, out: &mut String, indent: usize) {
    let pad = |n: usize| "  ".repeat(n);
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(indent + 1));
                write(item, out, indent + 1);
            }
            out.push('\n');
            out.push_str(&pad(indent));
            out.push(']');
        }
        Json::Object(pairs) if !pairs.is_empty() => {
            out.push('{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(indent + 1));
                out.push_str(&Json::from(key.as_str()).render_line());
                out.push_str(": ");
                write(value, out, indent + 1);
            }
            out.push('\n');
            out.push_str(&pad(indent));
            out.push('}');
        }
        // A scalar, `[]` or `{}`: the library's one-line form.
        other => out.push_str(&other.render_line()),
    }
}

static NULL: Json = Json::Null;

/// The report written indented, and the parts of a parsed one looked up without a panic (a
/// missing member is `null`, a number that is not one is NaN).
pub trait JsonText {
    /// The value as JSON text, indented by two spaces per level (the `--json` report).
    fn render(&self) -> String;
    /// The member `key` of an object (`null` if absent or not an object).
    fn get(&self, key: &str) -> &Json;
    /// The number, or NaN.
    fn num(&self) -> f64;
    /// The text, or "".
    fn text(&self) -> &str;
    /// The items of an array (none if not an array).
    fn items(&self) -> &[Json];
}

impl JsonText for Json {
    fn render(&self) -> String {
        let mut out = String::new();
        write(self, &mut out, 0);
        out
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    fn num(&self) -> f64 {
        if let Json::Number(n) = self { *n } else { f64::NAN }
    }

    fn text(&self) -> &str {
        if let Json::String(t) = self { t } else { "" }
    }

    fn items(&self) -> &[Json] {
        if let Json::Array(items) = self { items } else { &[] }
    }
}

/// Parses a JSON document (what [`JsonText::render`] writes, and any other).
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
