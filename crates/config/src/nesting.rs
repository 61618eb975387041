//! A linear pre-scan that refuses YAML whose flow collections (`[ ]`, `{ }`) nest
//! deeper than [`MAX_FLOW_NESTING`], before serde_yaml sees it.
//!
//! serde_yaml 0.9 runs libyaml's scanner over the whole document before serde's own
//! depth limit applies, and that scanner costs time quadratic in the flow nesting depth
//! (200 KB of `[` take 20 s). Block nesting (indentation, `- - -`) costs linear time
//! and is left to the parser.
//!
//! The scan follows libyaml's tokenizer where it decides what a `[` or `]` is: comments,
//! quoted scalars, plain scalars (which end at `,[]{}` only inside flow collections),
//! tags, anchors and block scalars. Two things depend on indentation it does not track
//! — whether a line continues a plain scalar, and where a block scalar ends — so at
//! those lines it follows every reading at once (a handful of states). The depth it
//! reports is the deepest of any reading, hence never below libyaml's.

/// More simultaneous readings than any kubeconfig needs: beyond it the text is refused.
const MAX_READINGS: usize = 64;

/// Where the scan gave up: 1-based line and column, and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooDeep {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What a reading of the text is inside of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Between tokens.
    Token,
    /// A comment or a directive, to the end of the line.
    Comment,
    /// A plain scalar; `blank`: after a blank or a line break; `broke`: after a line
    /// break (a continuation line, if the scalar goes on).
    Plain { blank: bool, broke: bool },
    /// A single-quoted scalar; `quote`: just saw a `'` that may be the first of `''`.
    Single { quote: bool },
    /// A double-quoted scalar; `escaped`: the previous char was a `\`.
    Double { escaped: bool },
    /// An anchor or alias name.
    Anchor,
    /// Right after `!`.
    TagStart,
    /// A tag's handle and suffix.
    Tag,
    /// A verbatim tag `!<...>`.
    Verbatim,
    /// The rest of a `|` or `>` line.
    BlockHeader,
    /// The lines of a block scalar.
    BlockBody,
}

/// One reading: what it is inside of, how deep in flow collections, and how many
/// chars it skips (the rest of a `---`, the second `'` of `''`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    mode: Mode,
    depth: u32,
    skip: u8,
}

/// Where a char is: what follows it (for lookahead), its column and whether it is the
/// first non-blank char of its line.
struct At<'a> {
    rest: &'a [u8],
    column: usize,
    first: bool,
}

impl At<'_> {
    /// libyaml's IS_BLANKZ at byte `n` after the current char: a blank, a line break,
    /// NUL or the end.
    fn blankz(&self, n: usize) -> bool {
        let b = &self.rest[n.min(self.rest.len())..];
        matches!(b.first(), None | Some(b' ' | b'\t' | b'\r' | b'\n' | 0))
            || b.starts_with(&[0xC2, 0x85])
            || b.starts_with(&[0xE2, 0x80, 0xA8])
            || b.starts_with(&[0xE2, 0x80, 0xA9])
    }

    /// `---` or `...` starting at this char in column 0, followed by a blank.
    fn document_marker(&self) -> bool {
        self.column == 0 && matches!(self.rest.get(..3), Some(b"---" | b"...")) && self.blankz(3)
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Refuse `text` if its flow collections nest deeper than `limit` in any reading.
pub(crate) fn check(text: &str, limit: u32) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut readings = vec![Reading {
        mode: Mode::Token,
        depth: 0,
        skip: 0,
    }];
    let mut next = Vec::with_capacity(8);
    let (mut line, mut column, mut line_blank) = (1usize, 0usize, true);
    let mut prev_cr = false;
    for (i, c) in text.char_indices() {
        let at = At {
            rest: &bytes[i + c.len_utf8()..],
            column,
            first: line_blank && !is_blank(c) && !is_break(c),
        };
        // `at.rest` starts after `c`; lookahead that includes `c` uses `bytes[i..]`.
        let here = At {
            rest: &bytes[i..],
            column,
            first: at.first,
        };
        next.clear();
        for r in &readings {
            if r.skip > 0 {
                push(
                    &mut next,
                    Reading {
                        skip: r.skip - 1,
                        ..*r
                    },
                );
                continue;
            }
            step(*r, c, &at, &here, &mut next);
        }
        if next.iter().any(|r| r.depth > limit) {
            return Err(TooDeep {
                line,
                column: column + 1,
                message: format!(
                    "flow collections ([ ] and {{ }}) nested deeper than {limit} levels"
                ),
            });
        }
        if next.len() > MAX_READINGS {
            return Err(TooDeep {
                line,
                column: column + 1,
                message: "too many ways to read its flow collections ([ ] and { })".to_owned(),
            });
        }
        std::mem::swap(&mut readings, &mut next);
        // Position of the next char. `\r\n` is one line break.
        if is_break(c) {
            if !(prev_cr && c == '\n') {
                line += 1;
            }
            column = 0;
            line_blank = true;
        } else {
            column += 1;
            if !is_blank(c) {
                line_blank = false;
            }
        }
        prev_cr = c == '\r';
    }
    Ok(())
}

fn push(next: &mut Vec<Reading>, r: Reading) {
    if !next.contains(&r) {
        next.push(r);
    }
}

/// Advance reading `r` over char `c`.
fn step(r: Reading, c: char, at: &At<'_>, here: &At<'_>, next: &mut Vec<Reading>) {
    let d = r.depth;
    let to = |mode| Reading {
        mode,
        depth: d,
        skip: 0,
    };
    match r.mode {
        Mode::Token => token(d, c, at, here, next),
        Mode::Comment => push(
            next,
            to(if is_break(c) {
                Mode::Token
            } else {
                Mode::Comment
            }),
        ),
        Mode::Plain { blank, broke } => {
            if is_break(c) {
                push(
                    next,
                    to(Mode::Plain {
                        blank: true,
                        broke: true,
                    }),
                );
            } else if is_blank(c) {
                push(next, to(Mode::Plain { blank: true, broke }));
            } else if here.document_marker()
                || (blank && c == '#')
                || (c == ':' && at.blankz(0))
                || (d > 0 && matches!(c, ',' | '[' | ']' | '{' | '}'))
            {
                // The scalar ends here (libyaml's `scan_plain_scalar`); a token starts.
                token(d, c, at, here, next);
            } else {
                // In block context a continuation line may instead start new tokens,
                // depending on the indentation of the enclosing collection: follow both.
                if broke && d == 0 && here.first {
                    token(d, c, at, here, next);
                }
                push(
                    next,
                    to(Mode::Plain {
                        blank: false,
                        broke: false,
                    }),
                );
            }
        }
        Mode::Single { quote: true } if c == '\'' => push(next, to(Mode::Single { quote: false })),
        Mode::Single { quote: true } => token(d, c, at, here, next),
        Mode::Single { quote: false } => {
            push(next, to(Mode::Single { quote: c == '\'' }));
        }
        Mode::Double { escaped: true } => push(next, to(Mode::Double { escaped: false })),
        Mode::Double { escaped: false } => match c {
            '\\' => push(next, to(Mode::Double { escaped: true })),
            '"' => push(next, to(Mode::Token)),
            _ => push(next, to(Mode::Double { escaped: false })),
        },
        Mode::Anchor if c.is_ascii_alphanumeric() || c == '-' || c == '_' => {
            push(next, to(Mode::Anchor));
        }
        Mode::TagStart if c == '<' => push(next, to(Mode::Verbatim)),
        Mode::TagStart | Mode::Tag if is_tag_char(c) => push(next, to(Mode::Tag)),
        Mode::Anchor | Mode::TagStart | Mode::Tag => token(d, c, at, here, next),
        Mode::Verbatim if c == '>' => push(next, to(Mode::Token)),
        Mode::Verbatim if is_blank(c) || is_break(c) => token(d, c, at, here, next),
        Mode::Verbatim => push(next, to(Mode::Verbatim)),
        Mode::BlockHeader if is_break(c) => push(next, to(Mode::BlockBody)),
        Mode::BlockHeader => push(next, to(Mode::BlockHeader)),
        Mode::BlockBody => {
            // A block scalar's lines are indented at least one column more than its
            // parent, which this scan does not know: a non-empty line may end it.
            if here.first {
                token(d, c, at, here, next);
                if here.column > 0 {
                    push(next, to(Mode::BlockBody));
                }
            } else {
                push(next, to(Mode::BlockBody));
            }
        }
    }
}

/// The chars libyaml accepts in a tag's handle and (non-verbatim) suffix.
fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_;/?:@&=+$.!~*'()%".contains(c)
}

/// A token starts at `c` (libyaml's `fetch_next_token`).
fn token(d: u32, c: char, at: &At<'_>, here: &At<'_>, next: &mut Vec<Reading>) {
    let to = |mode, depth| Reading {
        mode,
        depth,
        skip: 0,
    };
    let reading = match c {
        _ if is_blank(c) || is_break(c) => to(Mode::Token, d),
        '\u{FEFF}' if here.column == 0 => to(Mode::Token, d),
        '#' => to(Mode::Comment, d),
        '%' if here.column == 0 => to(Mode::Comment, d),
        '-' | '.' if here.document_marker() => Reading {
            mode: Mode::Token,
            depth: d,
            skip: 2,
        },
        '[' | '{' => to(Mode::Token, d.saturating_add(1)),
        ']' | '}' => to(Mode::Token, d.saturating_sub(1)),
        ',' => to(Mode::Token, d),
        '-' if at.blankz(0) => to(Mode::Token, d),
        '?' | ':' if d > 0 || at.blankz(0) => to(Mode::Token, d),
        '*' | '&' => to(Mode::Anchor, d),
        '!' => to(Mode::TagStart, d),
        '|' | '>' if d == 0 => to(Mode::BlockHeader, d),
        '\'' => to(Mode::Single { quote: false }, d),
        '"' => to(Mode::Double { escaped: false }, d),
        // Anything else starts a plain scalar (or is an error libyaml stops at).
        _ => to(
            Mode::Plain {
                blank: false,
                broke: false,
            },
            d,
        ),
    };
    push(next, reading);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_FLOW_NESTING;

    /// The deepest nesting any reading of `text` reaches.
    fn depth(text: &str) -> u32 {
        (0..)
            .find(|&limit| check(text, limit).is_ok())
            .expect("some limit passes")
    }

    #[test]
    fn flow_collections_count_where_libyaml_counts_them() {
        assert_eq!(depth("a: [[1, {b: [2]}]]\n"), 4);
        assert_eq!(depth("a: [x]\nb: [[y]]\n"), 2);
        // Inside scalars and comments brackets are text.
        assert_eq!(depth("a: '[[['\nb: \"[[[\\\"[\"\n# [[[\n"), 0);
        assert_eq!(depth("a: x[[[y\n"), 0);
        assert_eq!(depth("a: [x # ]]]\n  ]\n"), 1);
        assert_eq!(depth("a: ['it''s]', \"a]\"]\n"), 1);
        // In a flow collection a plain scalar ends at a bracket; a quote inside it is text.
        assert_eq!(depth("a: [b'c, [d]]\n"), 2);
        assert_eq!(depth("server: https://[::1]:6443\n"), 0);
        assert_eq!(depth("a: !t [[x]]\nb: &x [y]\nc: *x\n"), 2);
    }

    #[test]
    fn what_hides_a_closing_bracket_cannot_hide_an_opening_one() {
        // Each level closes a `]` only inside a quoted scalar libyaml reads as such.
        let hidden = "a: ".to_owned() + &"[ ']', ".repeat(50);
        assert_eq!(depth(&hidden), 50);
        let comments = "a:\n".to_owned() + &"  [ #]\n".repeat(50);
        assert_eq!(depth(&comments), 50);
        // A line that may continue a plain scalar or start tokens: both are followed.
        let continued = "a: b\n  'c\n[[[[[[\n";
        assert_eq!(depth(continued), 6);
        // A block scalar whose end depends on indentation.
        assert!(depth("a: |\n  x\n [[[\n") >= 3);
        assert_eq!(
            depth("a: |\n  [[[\nb: 1\n"),
            3,
            "a reading that ends it at the content"
        );
    }

    #[test]
    fn deep_nesting_is_refused_at_its_line_and_column() {
        let text = format!("a: 1\nb: {}", "[".repeat(2000));
        let err = check(&text, MAX_FLOW_NESTING).unwrap_err();
        assert_eq!((err.line, err.column), (2, 4 + MAX_FLOW_NESTING as usize));
        assert_eq!(
            err.message,
            "flow collections ([ ] and { }) nested deeper than 1000 levels"
        );
        assert!(check(&format!("b: {}", "[".repeat(1000)), MAX_FLOW_NESTING).is_ok());
    }
}
