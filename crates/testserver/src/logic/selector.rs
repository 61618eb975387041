//! Label and field selectors: parsing and matching, as kube-apiserver does.
//!
//! The label selector grammar, its lexer quirks and its error messages follow
//! k8s.io/apimachinery/pkg/labels; field selectors follow k8s.io/apimachinery/pkg/fields
//! plus the per-kind field label conversion functions and `GetAttrs` of kube-apiserver.

// Until the request handlers call into this module, its items are only used by its tests.
#![cfg_attr(not(test), allow(dead_code))]

use serde_json::{Map, Value};

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/// The operator of one label requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One requirement of a label selector (`key op values`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    /// Sorted and deduplicated, as apimachinery's `sets.String.List()`.
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels
            .and_then(|l| l.get(&self.key))
            .and_then(Value::as_str);
        match self.op {
            Op::In | Op::Equals | Op::DoubleEquals => {
                value.is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Op::NotIn | Op::NotEquals => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let Some(have) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// A parsed `labelSelector` (all requirements must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse a `labelSelector` query value with the full syntax of k8s.io/apimachinery/pkg/labels
    /// (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`), validating
    /// keys and values; the error text is apimachinery's (kube-apiserver answers it as a 400 BadRequest).
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let tokens = lex(s);
        let mut parser = Parser { tokens, pos: 0 };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// True when the selector selects everything (no requirements).
    pub(crate) fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's `metadata.labels` (None when absent) satisfy every requirement.
    pub(crate) fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &[u8]) -> Option<Tok> {
    Some(match s {
        b")" => Tok::ClosedPar,
        b"," => Tok::Comma,
        b"!" => Tok::DoesNotExist,
        b"==" => Tok::DoubleEquals,
        b"=" => Tok::Equals,
        b">" => Tok::GreaterThan,
        b"in" => Tok::In,
        b"<" => Tok::LessThan,
        b"!=" => Tok::NotEquals,
        b"notin" => Tok::NotIn,
        b"(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// The byte lexer of apimachinery: a NUL byte reads like the end of the string for the token
/// being scanned.
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn read(&mut self) -> u8 {
        match self.s.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn next(&mut self) -> (Tok, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Tok::EndOfString, String::new());
        }
        self.unread();
        if is_special(ch) {
            let mut buf = Vec::new();
            let mut last: Option<(Tok, usize)> = None;
            loop {
                let c = self.read();
                if c == 0 {
                    break;
                }
                if !is_special(c) {
                    self.unread();
                    break;
                }
                buf.push(c);
                if let Some(t) = keyword(&buf) {
                    last = Some((t, buf.len()));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            }
            // Every single special symbol is a token, so `last` is always set here.
            let (tok, len) = last.unwrap_or((Tok::Identifier, buf.len()));
            let lit = String::from_utf8_lossy(&buf[..len]).into_owned();
            (tok, lit)
        } else {
            let mut buf = Vec::new();
            loop {
                let c = self.read();
                if c == 0 {
                    break;
                }
                if is_special(c) || is_whitespace(c) {
                    self.unread();
                    break;
                }
                buf.push(c);
            }
            let tok = keyword(&buf).unwrap_or(Tok::Identifier);
            (tok, String::from_utf8_lossy(&buf).into_owned())
        }
    }
}

fn lex(s: &str) -> Vec<(Tok, String)> {
    let mut lexer = Lexer {
        s: s.as_bytes(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        let item = lexer.next();
        let end = item.0 == Tok::EndOfString;
        out.push(item);
        if end {
            return out;
        }
    }
}

/// Whether the parser reads keys/values (where `in`/`notin` are plain identifiers) or operators.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

struct Parser {
    tokens: Vec<(Tok, String)>,
    pos: usize,
}

impl Parser {
    fn at(&self, i: usize, ctx: Ctx) -> (Tok, String) {
        let (tok, lit) = self
            .tokens
            .get(i)
            .cloned()
            .unwrap_or((Tok::EndOfString, String::new()));
        let tok = match tok {
            Tok::In | Tok::NotIn if ctx == Ctx::Values => Tok::Identifier,
            t => t,
        };
        (tok, lit)
    }

    fn lookahead(&self, ctx: Ctx) -> (Tok, String) {
        self.at(self.pos, ctx)
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let item = self.at(self.pos, ctx);
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::EndOfString => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::EndOfString => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (key, op) = self.key_and_inferred_operator()?;
        if let Some(op @ (Op::Exists | Op::DoesNotExist)) = op {
            return new_requirement(key, op, Vec::new());
        }
        let op = self.operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.values()?,
            _ => self.exact_value()?,
        };
        new_requirement(key, op, values)
    }

    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = label_key_errors(&lit);
        if !errs.is_empty() {
            // The parser's own path is nil, which Go prints as "<nil>".
            return Err(invalid_value("<nil>", &lit, &errs.join("; ")));
        }
        let (next, _) = self.lookahead(Ctx::Values);
        if (next == Tok::EndOfString || next == Tok::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        Ok((lit, op))
    }

    fn operator(&mut self) -> Result<Op, String> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Op::In,
            Tok::Equals => Op::Equals,
            Tok::DoubleEquals => Op::DoubleEquals,
            Tok::GreaterThan => Op::GreaterThan,
            Tok::LessThan => Op::LessThan,
            Tok::NotIn => Op::NotIn,
            Tok::NotEquals => Op::NotEquals,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    fn values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let s = self.identifiers_list()?;
                let (t, _) = self.consume(Ctx::Values);
                if t != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut s: Vec<String> = Vec::new();
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    s.push(lit);
                    let (t2, l2) = self.lookahead(Ctx::Values);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.push(String::new());
                    }
                    let (t2, _) = self.lookahead(Ctx::Values);
                    if t2 == Tok::ClosedPar {
                        s.push(String::new());
                        return Ok(s);
                    }
                    if t2 == Tok::Comma {
                        self.consume(Ctx::Values);
                        s.push(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.lookahead(Ctx::Values);
        if tok == Tok::EndOfString || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Tok::Identifier {
            return Ok(vec![lit]);
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

/// apimachinery's `NewRequirement`: validates values and builds the requirement.
fn new_requirement(key: String, op: Op, mut values: Vec<String>) -> Result<Requirement, String> {
    values.sort();
    values.dedup();
    let mut errs: Vec<String> = Vec::new();
    if matches!(op, Op::GreaterThan | Op::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                errs.push(invalid_value(
                    &format!("values[{i}]"),
                    v,
                    "for 'Gt', 'Lt' operators, the value must be an integer",
                ));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let verrs = label_value_errors(v);
        if !verrs.is_empty() {
            errs.push(invalid_value(
                &format!("values[{i}][{key}]"),
                v,
                &verrs.join("; "),
            ));
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for e in errs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => Ok(Requirement { key, op, values }),
        1 => Err(unique.remove(0)),
        _ => Err(format!("[{}]", unique.join(", "))),
    }
}

/// A `field.Invalid` error rendered like Go's `field.Error.Error()` for a string value.
fn invalid_value(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {}: {detail}", go_quote(value))
}

/// Go's `strconv.Quote` (close enough: printable Unicode kept, control characters escaped).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError`.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, non-empty.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => ok(f) && ok(l) && b.iter().all(|c| ok(c) || *c == b'-'),
        _ => false,
    }
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// apimachinery's `IsLabelKey` (a.k.a. `IsQualifiedName`) error strings.
fn label_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 bytes".to_string());
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(
                            DNS1123_SUBDOMAIN_ERR,
                            DNS1123_SUBDOMAIN_FMT,
                            &["example.com"]
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 bytes".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// apimachinery's `IsLabelValue` error strings.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 bytes".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    value: String,
    negate: bool,
}

/// A parsed `fieldSelector` (all terms must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parse a `fieldSelector` query value: comma-separated `a=b`, `a==b`, `a!=b` terms, values
    /// with `\` escapes for `\`, `,` and `=`. No whitespace is trimmed (as in apimachinery).
    /// Errors are apimachinery's text (kube-apiserver answers them as a 400 BadRequest).
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let value = unescape_value(rhs)?;
            terms.push(FieldTerm {
                field: lhs.to_string(),
                value,
                negate: op == "!=",
            });
        }
        Ok(FieldSelector { terms })
    }

    /// True when the selector selects everything (no terms).
    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Check every field label is supported for this resource (`group` "" for core, `resource`
    /// the plural). The error is kube-apiserver's conversion error text, answered as a 400
    /// BadRequest; it depends on the kind, e.g. `field label not supported: spec.foo` for pods,
    /// `"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"` for
    /// kinds without their own field labels (configmaps, deployments, replicasets...).
    pub(crate) fn validate(&self, group: &str, resource: &str) -> Result<(), String> {
        for t in &self.terms {
            convert_field_label(group, resource, &t.field)?;
        }
        Ok(())
    }

    /// Whether an object satisfies every term (unsupported labels compare as "").
    pub(crate) fn matches(&self, group: &str, resource: &str, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let have = field_value(group, resource, obj, &t.field).unwrap_or_default();
            (have == t.value) != t.negate
        })
    }
}

/// Split on commas not escaped by a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// The first operator (`!=`, `==` or `=`, tried in that order at each position) splits the term.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go formats the rune with %v: its code point as a number.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            c => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// kube-apiserver's field label conversion for a kind: the internal label a selector label
/// maps to, or the exact error text kube-apiserver gives for an unsupported one.
fn convert_field_label(group: &str, resource: &str, label: &str) -> Result<&'static str, String> {
    const META: [&str; 2] = ["metadata.name", "metadata.namespace"];
    let find = |list: &[&'static str]| list.iter().copied().find(|l| *l == label);
    let not_supported = || format!("field label not supported: {label}");
    match (group, resource) {
        ("", "pods") => {
            if label == "spec.host" {
                return Ok("spec.nodeName");
            }
            find(&[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ])
            .ok_or_else(not_supported)
        }
        ("", "events") => find(&[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ])
        .ok_or_else(not_supported),
        ("events.k8s.io", "events") => Ok(match label {
            "reason" => "reason",
            "regarding.kind" => "involvedObject.kind",
            "regarding.namespace" => "involvedObject.namespace",
            "regarding.name" => "involvedObject.name",
            "regarding.uid" => "involvedObject.uid",
            "regarding.apiVersion" => "involvedObject.apiVersion",
            "regarding.resourceVersion" => "involvedObject.resourceVersion",
            "regarding.fieldPath" => "involvedObject.fieldPath",
            "reportingController" => "reportingComponent",
            "type" => "type",
            "metadata.namespace" => "metadata.namespace",
            "metadata.name" => "metadata.name",
            _ => return Err(not_supported()),
        }),
        ("", "namespaces") => find(&["status.phase", "metadata.name"]).ok_or_else(not_supported),
        ("", "secrets") => {
            find(&["type", "metadata.namespace", "metadata.name"]).ok_or_else(not_supported)
        }
        ("", "services") => find(&[
            "metadata.namespace",
            "metadata.name",
            "spec.clusterIP",
            "spec.type",
        ])
        .ok_or_else(not_supported),
        ("", "nodes") => find(&["metadata.name", "spec.unschedulable"]).ok_or_else(not_supported),
        ("", "replicationcontrollers") => {
            find(&["metadata.name", "metadata.namespace", "status.replicas"])
                .ok_or_else(not_supported)
        }
        ("batch", "jobs") => find(&["metadata.name", "metadata.namespace", "status.successful"])
            .ok_or_else(|| format!("field label {} not supported for Job", go_quote(label))),
        ("certificates.k8s.io", "certificatesigningrequests") => {
            find(&["metadata.name", "spec.signerName"]).ok_or_else(not_supported)
        }
        ("resource.k8s.io", "resourceslices") => {
            find(&["metadata.name", "spec.nodeName", "spec.driver"]).ok_or_else(|| {
                format!(
                    "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: {label}"
                )
            })
        }
        _ => find(&META).ok_or_else(|| {
            format!(
                "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                go_quote(label)
            )
        }),
    }
}

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = obj;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

fn string_at(obj: &Value, path: &[&str]) -> String {
    str_at(obj, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bool_at(obj: &Value, path: &[&str]) -> String {
    str_at(obj, path)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

fn int_at(obj: &Value, path: &[&str]) -> String {
    match str_at(obj, path) {
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                n.as_f64()
                    .map(|f| (f as i64).to_string())
                    .unwrap_or_else(|| "0".to_string())
            }
        }
        _ => "0".to_string(),
    }
}

/// The value of a supported field label of an object, as kube-apiserver's field-label conversion
/// and `GetAttrs` define them. `None` = label not supported for that resource; `Some("")` when the
/// field is absent. Accepts the external labels (e.g. `spec.host` for pods, `regarding.name` for
/// events.k8s.io events) and reads events in either the core (`involvedObject`) or the
/// events.k8s.io (`regarding`) shape.
pub(crate) fn field_value(group: &str, resource: &str, obj: &Value, label: &str) -> Option<String> {
    let label = convert_field_label(group, resource, label).ok()?;
    let is_event = resource == "events" && (group.is_empty() || group == "events.k8s.io");
    Some(match label {
        "metadata.name" => string_at(obj, &["metadata", "name"]),
        "metadata.namespace" => string_at(obj, &["metadata", "namespace"]),
        _ if is_event => event_field(obj, label),
        "spec.hostNetwork" => bool_at(obj, &["spec", "hostNetwork"]),
        "status.podIP" if resource == "pods" => {
            let ip = string_at(obj, &["status", "podIP"]);
            if ip.is_empty() {
                str_at(obj, &["status", "podIPs"])
                    .and_then(|v| v.get(0))
                    .and_then(|v| v.get("ip"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            } else {
                ip
            }
        }
        // Accepted by the pod conversion but absent from the pod's field set: always "".
        "status.podIPs" => String::new(),
        "spec.unschedulable" => bool_at(obj, &["spec", "unschedulable"]),
        "status.replicas" => int_at(obj, &["status", "replicas"]),
        "status.successful" => int_at(obj, &["status", "succeeded"]),
        other => {
            let path: Vec<&str> = other.split('.').collect();
            string_at(obj, &path)
        }
    })
}

/// Event field labels (core names) read from either event shape.
fn event_field(obj: &Value, label: &str) -> String {
    let either = |core: &[&str], ev: &[&str]| {
        let v = string_at(obj, core);
        if v.is_empty() { string_at(obj, ev) } else { v }
    };
    match label {
        "reason" => string_at(obj, &["reason"]),
        "type" => string_at(obj, &["type"]),
        "reportingComponent" => either(&["reportingComponent"], &["reportingController"]),
        "source" => {
            let s = either(&["source", "component"], &["deprecatedSource", "component"]);
            if s.is_empty() {
                either(&["reportingComponent"], &["reportingController"])
            } else {
                s
            }
        }
        other => match other.strip_prefix("involvedObject.") {
            Some(field) => either(&["involvedObject", field], &["regarding", field]),
            None => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn sel(s: &str) -> LabelSelector {
        match LabelSelector::parse(s) {
            Ok(x) => x,
            Err(e) => panic!("{s:?} failed to parse: {e}"),
        }
    }

    fn err(s: &str) -> String {
        match LabelSelector::parse(s) {
            Ok(x) => panic!("{s:?} parsed unexpectedly: {x:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        for s in ["", "   ", "\t\n"] {
            let x = sel(s);
            assert!(x.is_empty());
            assert!(x.matches(None));
            assert!(x.matches(Some(&labels(json!({"a": "b"})))));
        }
    }

    #[test]
    fn equality_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        for s in [
            "app=web",
            "app==web",
            " app = web ",
            "app=web,tier=front",
            "app=web , tier==front",
        ] {
            assert!(sel(s).matches(Some(&l)), "{s}");
        }
        assert!(!sel("app=db").matches(Some(&l)));
        assert!(!sel("app=web,tier=back").matches(Some(&l)));
        assert!(!sel("app=web").matches(None));
        assert!(sel("app!=db").matches(Some(&l)));
        assert!(!sel("app!=web").matches(Some(&l)));
        // != matches when the label is absent.
        assert!(sel("missing!=x").matches(Some(&l)));
        assert!(sel("app!=web").matches(None));
        assert!(!sel("app=web").is_empty());
    }

    #[test]
    fn empty_value_matches_empty_label() {
        let l = labels(json!({"a": ""}));
        assert!(sel("a=").matches(Some(&l)));
        assert!(sel("a==,b!=").matches(Some(&l)));
        assert!(!sel("a=").matches(None));
        assert!(sel("a in ()").matches(Some(&l)));
        assert!(sel("a in (,x)").matches(Some(&l)));
    }

    #[test]
    fn set_operators() {
        let l = labels(json!({"env": "prod", "in": "notin"}));
        assert!(sel("env in (prod,dev)").matches(Some(&l)));
        assert!(sel("env in(prod)").matches(Some(&l)));
        assert!(sel("env in ( dev , prod )").matches(Some(&l)));
        assert!(!sel("env in (dev)").matches(Some(&l)));
        assert!(sel("env notin (dev,qa)").matches(Some(&l)));
        assert!(!sel("env notin (prod)").matches(Some(&l)));
        assert!(sel("other notin (prod)").matches(Some(&l)));
        assert!(!sel("other in (prod)").matches(Some(&l)));
        // `in`/`notin` are ordinary identifiers as keys and values.
        assert!(sel("in in (notin)").matches(Some(&l)));
        assert!(sel("in=notin").matches(Some(&l)));
        assert!(sel("in").matches(Some(&l)));
    }

    #[test]
    fn exists_and_does_not_exist() {
        let l = labels(json!({"a": "1"}));
        assert!(sel("a").matches(Some(&l)));
        assert!(!sel("b").matches(Some(&l)));
        assert!(sel("!b").matches(Some(&l)));
        assert!(sel(" ! b ").matches(Some(&l)));
        assert!(!sel("!a").matches(Some(&l)));
        assert!(sel("!a").matches(None));
        assert!(sel("a,!b").matches(Some(&l)));
        assert!(
            sel("example.com/a-b_c.d").matches(Some(&labels(json!({"example.com/a-b_c.d": "x"}))))
        );
    }

    #[test]
    fn greater_and_less_than() {
        let l = labels(json!({"n": "5", "s": "abc"}));
        assert!(sel("n>4").matches(Some(&l)));
        assert!(!sel("n>5").matches(Some(&l)));
        assert!(sel("n<6").matches(Some(&l)));
        assert!(!sel("n<5").matches(Some(&l)));
        assert!(!sel("s>1").matches(Some(&l)));
        assert!(!sel("x>1").matches(Some(&l)));
        assert!(!sel("n>1").matches(None));
        assert_eq!(
            err("n>abc"),
            "unable to parse requirement: values[0]: Invalid value: \"abc\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            err("n<"),
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(err("a=b,"), "found '', expected: identifier after ','");
        assert_eq!(err("a=b,,c"), "found ',', expected: identifier after ','");
        assert_eq!(
            err(",a"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            err("=a"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            err("!"),
            "unable to parse requirement: found '', expected: identifier"
        );
        assert_eq!(
            err("a in"),
            "unable to parse requirement: found '' expected: '('"
        );
        assert_eq!(
            err("a in x"),
            "unable to parse requirement: found 'x' expected: '('"
        );
        assert_eq!(
            err("a in (x,y"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (x y)"),
            "unable to parse requirement: found 'y', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(
            err("a in (x,,)"),
            "unable to parse requirement: found ')', expected: ',', or identifier"
        );
        assert_eq!(
            err("a==="),
            "unable to parse requirement: found '=', expected: identifier"
        );
        assert_eq!(
            err("a=(x)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        // `!a=b`: the requirement is `!a`, then `=` is unexpected.
        assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
    }

    #[test]
    fn double_equals_with_nothing_is_empty_value() {
        // "a==" lexes as key, `==`, end: the value is "" (valid).
        let x = sel("a==");
        assert!(x.matches(Some(&labels(json!({"a": ""})))));
    }

    #[test]
    fn key_validation() {
        let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        assert_eq!(
            err("-a=b"),
            format!("unable to parse requirement: <nil>: Invalid value: \"-a\": {name_part}")
        );
        assert_eq!(
            err("Example.com/a"),
            "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        assert_eq!(
            err("/a"),
            "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty"
        );
        assert_eq!(
            err("a/"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; {name_part}"
            )
        );
        assert!(err("a/b/c").starts_with("unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a valid label key must consist of"));
        let long = "a".repeat(64);
        assert_eq!(
            err(&long),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 bytes"
            )
        );
        assert!(LabelSelector::parse(&"a".repeat(63)).is_ok());
        assert!(LabelSelector::parse("a.b/c").is_ok());
        assert!(err("é=b").contains("Invalid value: \"é\""));
    }

    #[test]
    fn value_validation() {
        let value_err = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        assert_eq!(
            err("a=-b"),
            format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"-b\": {value_err}"
            )
        );
        // Values are sorted before validation, so the index is the sorted one.
        assert_eq!(
            err("a in (z,-b)"),
            format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"-b\": {value_err}"
            )
        );
        assert_eq!(
            err("a in (-x,-y)"),
            format!(
                "unable to parse requirement: [values[0][a]: Invalid value: \"-x\": {value_err}, values[1][a]: Invalid value: \"-y\": {value_err}]"
            )
        );
        let long = "v".repeat(64);
        assert_eq!(
            err(&format!("a={long}")),
            format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"{long}\": must be no more than 63 bytes"
            )
        );
        // Gt with a negative number: an integer, but not a valid label value.
        assert_eq!(
            err("a>-1"),
            format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"-1\": {value_err}"
            )
        );
        assert_eq!(
            err("a>x_"),
            format!(
                "unable to parse requirement: [values[0]: Invalid value: \"x_\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: \"x_\": {value_err}]"
            )
        );
        assert!(err("a=\"b\"").contains("Invalid value: \"\\\"b\\\"\""));
    }

    #[test]
    fn lexer_quirks() {
        // Greedy operators: `!==` is `!=` then `=`.
        assert_eq!(
            err("a!==b"),
            "unable to parse requirement: found '=', expected: identifier"
        );
        // A NUL byte ends the token being read.
        let x = sel("a=b\0");
        assert!(x.matches(Some(&labels(json!({"a": "b"})))));
        // Non-string label values never match.
        assert!(!sel("a=1").matches(Some(&labels(json!({"a": 1})))));
        assert!(sel("!a").matches(Some(&labels(json!({"a": 1})))));
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
    }

    // ----- field selectors -----

    fn fsel(s: &str) -> FieldSelector {
        match FieldSelector::parse(s) {
            Ok(x) => x,
            Err(e) => panic!("{s:?} failed to parse: {e}"),
        }
    }

    fn ferr(s: &str) -> String {
        match FieldSelector::parse(s) {
            Ok(x) => panic!("{s:?} parsed unexpectedly: {x:?}"),
            Err(e) => e,
        }
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccountName": "default", "hostNetwork": true},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}], "nominatedNodeName": ""}
        })
    }

    #[test]
    fn field_selector_parsing() {
        assert!(fsel("").is_empty());
        assert!(fsel(",").is_empty());
        let p = pod();
        assert!(fsel("metadata.name=web").matches("", "pods", &p));
        assert!(fsel("metadata.name==web").matches("", "pods", &p));
        assert!(fsel("metadata.name!=db").matches("", "pods", &p));
        assert!(!fsel("metadata.name!=web").matches("", "pods", &p));
        assert!(fsel("metadata.name=web,status.phase=Running").matches("", "pods", &p));
        assert!(!fsel("metadata.name=web,status.phase=Pending").matches("", "pods", &p));
        assert!(fsel("spec.hostNetwork=true").matches("", "pods", &p));
        assert!(fsel("status.podIP=10.0.0.1").matches("", "pods", &p));
        assert!(fsel("spec.host=n1").matches("", "pods", &p));
        assert!(fsel("status.nominatedNodeName=").matches("", "pods", &p));
        // status.podIPs is accepted but kube-apiserver's pod field set lacks it.
        assert!(fsel("status.podIPs=").matches("", "pods", &p));
        assert!(!fsel("status.podIPs=10.0.0.1").matches("", "pods", &p));
        // Escapes.
        let o = json!({"metadata": {"name": "a,b=c\\d"}});
        assert!(fsel("metadata.name=a\\,b\\=c\\\\d").matches("", "configmaps", &o));
        // Escaped comma does not split terms.
        assert_eq!(fsel("metadata.name=a\\,b").terms.len(), 1);
    }

    #[test]
    fn field_selector_errors() {
        assert_eq!(
            ferr("foo"),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
        assert_eq!(
            ferr("a=b,foo"),
            "invalid selector: 'a=b,foo'; can't understand 'foo'"
        );
        assert_eq!(
            ferr("a=b=c"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            ferr("a!==b"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            ferr("a=b\\x"),
            "invalid field selector: invalid escape sequence: \\x"
        );
        assert_eq!(
            ferr("a=b\\"),
            "invalid field selector: invalid escape sequence: \\"
        );
        // No trimming: the label keeps its spaces.
        let s = fsel("metadata.name=a, status.phase=b");
        assert_eq!(
            s.validate("", "pods"),
            Err("field label not supported:  status.phase".to_string())
        );
    }

    #[test]
    fn field_label_validation() {
        assert_eq!(fsel("spec.nodeName=x").validate("", "pods"), Ok(()));
        assert_eq!(
            fsel("spec.foo=x").validate("", "pods"),
            Err("field label not supported: spec.foo".to_string())
        );
        assert_eq!(
            fsel("status.replicas=1").validate("apps", "replicasets"),
            Err("\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".to_string())
        );
        assert_eq!(
            fsel("metadata.namespace=x").validate("", "configmaps"),
            Ok(())
        );
        assert_eq!(
            fsel("metadata.namespace=x").validate("", "nodes"),
            Err("field label not supported: metadata.namespace".to_string())
        );
        assert_eq!(
            fsel("status.active=1").validate("batch", "jobs"),
            Err("field label \"status.active\" not supported for Job".to_string())
        );
        assert_eq!(
            fsel("status.successful=1").validate("batch", "jobs"),
            Ok(())
        );
        assert_eq!(fsel("type=Opaque").validate("", "secrets"), Ok(()));
        assert_eq!(
            fsel("spec.type=ClusterIP,spec.clusterIP=None").validate("", "services"),
            Ok(())
        );
        assert_eq!(
            fsel("spec.signerName=x").validate("certificates.k8s.io", "certificatesigningrequests"),
            Ok(())
        );
        assert_eq!(
            fsel("regarding.name=x").validate("events.k8s.io", "events"),
            Ok(())
        );
        assert_eq!(
            fsel("involvedObject.name=x").validate("events.k8s.io", "events"),
            Err("field label not supported: involvedObject.name".to_string())
        );
        // The first unsupported label in sorted term order is reported.
        assert_eq!(
            fsel("z=1,b=2").validate("", "pods"),
            Err("field label not supported: b".to_string())
        );
    }

    #[test]
    fn field_values() {
        let p = pod();
        assert_eq!(
            field_value("", "pods", &p, "spec.nodeName").as_deref(),
            Some("n1")
        );
        assert_eq!(field_value("", "pods", &p, "spec.foo"), None);
        assert_eq!(
            field_value("", "pods", &json!({}), "spec.hostNetwork").as_deref(),
            Some("false")
        );
        assert_eq!(
            field_value("", "pods", &json!({}), "status.phase").as_deref(),
            Some("")
        );
        assert_eq!(
            field_value(
                "",
                "pods",
                &json!({"status": {"podIP": "1.2.3.4", "podIPs": [{"ip": "9.9.9.9"}]}}),
                "status.podIP"
            )
            .as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(
            field_value(
                "",
                "nodes",
                &json!({"spec": {"unschedulable": true}}),
                "spec.unschedulable"
            )
            .as_deref(),
            Some("true")
        );
        assert_eq!(
            field_value("", "nodes", &json!({}), "spec.unschedulable").as_deref(),
            Some("false")
        );
        assert_eq!(
            field_value(
                "",
                "replicationcontrollers",
                &json!({"status": {"replicas": 3}}),
                "status.replicas"
            )
            .as_deref(),
            Some("3")
        );
        assert_eq!(
            field_value("", "replicationcontrollers", &json!({}), "status.replicas").as_deref(),
            Some("0")
        );
        assert_eq!(
            field_value(
                "batch",
                "jobs",
                &json!({"status": {"succeeded": 2}}),
                "status.successful"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(
            field_value("", "secrets", &json!({"type": "Opaque"}), "type").as_deref(),
            Some("Opaque")
        );
        assert_eq!(
            field_value(
                "",
                "namespaces",
                &json!({"status": {"phase": "Active"}}),
                "status.phase"
            )
            .as_deref(),
            Some("Active")
        );
        assert_eq!(
            field_value(
                "",
                "services",
                &json!({"spec": {"type": "NodePort"}}),
                "spec.type"
            )
            .as_deref(),
            Some("NodePort")
        );
        assert_eq!(
            field_value(
                "apps",
                "deployments",
                &json!({"metadata": {"namespace": "ns"}}),
                "metadata.namespace"
            )
            .as_deref(),
            Some("ns")
        );
    }

    #[test]
    fn event_field_values() {
        let core = json!({
            "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"},
            "reason": "Started", "type": "Normal", "reportingComponent": "kubelet", "source": {}
        });
        assert_eq!(
            field_value("", "events", &core, "involvedObject.kind").as_deref(),
            Some("Pod")
        );
        assert_eq!(
            field_value("", "events", &core, "involvedObject.fieldPath").as_deref(),
            Some("")
        );
        assert_eq!(
            field_value("", "events", &core, "source").as_deref(),
            Some("kubelet")
        );
        assert_eq!(
            field_value("", "events", &core, "reportingComponent").as_deref(),
            Some("kubelet")
        );
        let with_source = json!({"source": {"component": "scheduler"}, "reportingComponent": "x"});
        assert_eq!(
            field_value("", "events", &with_source, "source").as_deref(),
            Some("scheduler")
        );
        let ev = json!({"regarding": {"kind": "Pod", "name": "web"}, "reportingController": "ctl", "reason": "R"});
        assert_eq!(
            field_value("events.k8s.io", "events", &ev, "regarding.name").as_deref(),
            Some("web")
        );
        assert_eq!(
            field_value("events.k8s.io", "events", &ev, "reportingController").as_deref(),
            Some("ctl")
        );
        assert_eq!(
            field_value("", "events", &ev, "involvedObject.kind").as_deref(),
            Some("Pod")
        );
        assert!(fsel("regarding.kind=Pod,reason=R").matches("events.k8s.io", "events", &ev));
        assert!(fsel("involvedObject.name=web").matches("", "events", &core));
    }
}
