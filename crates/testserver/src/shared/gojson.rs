//! Request bodies that are not JSON, reported as kube-apiserver reports them: the syntax
//! error Go's `encoding/json` scanner gives (`invalid character 'n' looking for beginning of
//! object key string`, `unexpected end of JSON input`), and the decoder's summary of the
//! body (`summarizeData`: 30 bytes, hex when it does not start with `{`).

/// Go's syntax error for `data`, or `None` when it is valid JSON.
pub(crate) fn syntax_error(data: &[u8]) -> Option<String> {
    let mut s = Scanner { data, at: 0 };
    s.ws();
    let res = s.value().and_then(|()| {
        s.ws();
        match s.peek() {
            None => Ok(()),
            Some(c) => Err(invalid(c, "after top-level value")),
        }
    });
    res.err()
}

/// `encoding/json`'s message when valid JSON that is not an object is decoded into the
/// struct kube-apiserver reads `apiVersion` and `kind` with; `None` for an object (or null).
pub(crate) fn not_an_object(value: &serde_json::Value) -> Option<String> {
    let what = match value {
        serde_json::Value::Array(_) => "array",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Object(_) | serde_json::Value::Null => return None,
    };
    Some(format!(
        "json: cannot unmarshal {what} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}"
    ))
}

/// The decoder's summary of a body it could not read (`summarizeData(body, 30)`).
pub(crate) fn summary(data: &[u8]) -> String {
    const MAX: usize = 30;
    let (head, more) = if data.len() > MAX {
        (&data[..MAX], " ...")
    } else {
        (data, "")
    };
    match data.first() {
        None => "<empty>".to_owned(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// A character as Go's scanner quotes it in messages (`quoteChar`).
fn quote(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        0x20..=0x7e => format!("'{}'", c as char),
        b'\n' => "'\\n'".to_owned(),
        b'\r' => "'\\r'".to_owned(),
        b'\t' => "'\\t'".to_owned(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        // Bytes of a multi-byte character: Go quotes the character, close enough.
        _ => "'\\ufffd'".to_owned(),
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote(c))
}

const EOF: &str = "unexpected end of JSON input";

struct Scanner<'a> {
    data: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(|| EOF.to_owned())?;
        self.at += 1;
        Ok(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<(), String> {
        match self.next()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' => {
                let c = self.next()?;
                if !c.is_ascii_digit() {
                    return Err(invalid(c, "in numeric literal"));
                }
                self.number(c)
            }
            c @ b'0'..=b'9' => self.number(c),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        for want in word.bytes().skip(1) {
            let c = self.next()?;
            if c != want {
                return Err(invalid(
                    c,
                    &format!("in literal {word} (expecting {})", quote(want)),
                ));
            }
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn number(&mut self, first: u8) -> Result<(), String> {
        if first != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(invalid(c, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(invalid(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            match self.next()? {
                b'"' => self.string()?,
                c => return Err(invalid(c, "looking for beginning of object key string")),
            }
            self.ws();
            match self.next()? {
                b':' => {}
                c => return Err(invalid(c, "after object key")),
            }
            self.ws();
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b'}' => return Ok(()),
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b']' => return Ok(()),
                c => return Err(invalid(c, "after array element")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_worded_as_go_words_them() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "{not json",
                Some("invalid character 'n' looking for beginning of object key string"),
            ),
            ("{\"a\" 1}", Some("invalid character '1' after object key")),
            (
                "{\"a\":1 \"b\"}",
                Some("invalid character '\"' after object key:value pair"),
            ),
            ("[1 2]", Some("invalid character '2' after array element")),
            (
                "{\"a\":}",
                Some("invalid character '}' looking for beginning of value"),
            ),
            ("{} x", Some("invalid character 'x' after top-level value")),
            (
                "{\"a\":tru}",
                Some("invalid character '}' in literal true (expecting 'e')"),
            ),
            (
                "{\"a\":1.}",
                Some("invalid character '}' after decimal point in numeric literal"),
            ),
            (
                "{\"a\":\"\\q\"}",
                Some("invalid character 'q' in string escape code"),
            ),
            ("{\"a\":", Some("unexpected end of JSON input")),
            ("", Some("unexpected end of JSON input")),
            (" {\"a\": [1, -2.5e+3, true, null, \"\\u00e9\"]} ", None),
        ];
        for (text, want) in cases {
            assert_eq!(syntax_error(text.as_bytes()).as_deref(), *want, "{text}");
        }
    }

    #[test]
    fn bodies_are_summarized_as_the_decoder_does() {
        assert_eq!(summary(b""), "<empty>");
        assert_eq!(summary(b"{not json"), "{not json");
        assert_eq!(summary(b"not json"), "6e6f74206a736f6e");
        assert_eq!(
            summary(b"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"x\":1}"),
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod ..."
        );
    }
}
