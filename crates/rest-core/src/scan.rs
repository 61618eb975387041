//! A tiny incremental JSON tokenizer: finds where one JSON value ends in bytes that arrive
//! in pieces, tracking strings, escapes and nesting depth, without decoding anything.
//! Watch and list streaming use it to cut the body into one slice per event or item, which
//! serde_json then decodes from the slice.

/// Where a value scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The value ends just before this index.
    Complete(usize),
    /// Everything given was consumed; the value goes on.
    Incomplete,
}

/// The state of a scan of one value, resumable across calls.
#[derive(Debug, Default, Clone)]
pub(crate) struct ValueScanner {
    started: bool,
    scalar: bool,
    depth: u32,
    in_string: bool,
    escape: bool,
}

/// JSON whitespace.
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl ValueScanner {
    /// Scans `buf[from..]`. The value must start at index 0 of `buf` (no leading
    /// whitespace) and `from` must be where the previous call stopped (0 at first).
    pub(crate) fn scan(&mut self, buf: &[u8], from: usize) -> Scan {
        let mut i = from;
        if !self.started {
            let Some(&first) = buf.first() else {
                return Scan::Incomplete;
            };
            self.started = true;
            i = 1;
            match first {
                b'{' | b'[' => self.depth = 1,
                b'"' => self.in_string = true,
                _ => self.scalar = true,
            }
        }
        while i < buf.len() {
            let b = buf[i];
            if self.scalar {
                if is_ws(b) || matches!(b, b',' | b'}' | b']' | b':') {
                    return Scan::Complete(i);
                }
            } else if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Scan::Complete(i + 1);
                    }
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Scan::Complete(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        Scan::Incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(s: &str) -> Scan {
        ValueScanner::default().scan(s.as_bytes(), 0)
    }

    #[test]
    fn finds_ends() {
        assert_eq!(
            whole(r#"{"a":"}\"{","b":[1,{"c":2}]} rest"#),
            Scan::Complete(28)
        );
        assert_eq!(whole(r#""x\\"y"#), Scan::Complete(5));
        assert_eq!(whole("123,"), Scan::Complete(3));
        assert_eq!(whole("true}"), Scan::Complete(4));
        assert_eq!(whole(r#"{"a":"#), Scan::Incomplete);
    }

    #[test]
    fn resumes_across_any_split() {
        let text = br#"{"k":"a\"b\\","n":[{"x":"]"}],"z":null}"#;
        for split in 0..text.len() {
            let mut s = ValueScanner::default();
            let first = s.scan(&text[..split], 0);
            let result = match first {
                Scan::Complete(e) => e,
                Scan::Incomplete => match s.scan(text, split) {
                    Scan::Complete(e) => e,
                    Scan::Incomplete => panic!("incomplete at split {split}"),
                },
            };
            assert_eq!(result, text.len(), "split {split}");
        }
    }
}
