//! WHATWG HTML tokenization of a whole page held in memory.
//!
//! A page is almost all tags, and a tag is almost all attribute values
//! (inline `style`s): so the tokenizer works on bytes, finds the end of a
//! run with `memchr` and hands out slices of the page, copying only what a
//! character reference or a NUL changes. The states are the standard's
//! (§13.2.5), folded where a state only looks for its end: data, tags and
//! attributes, comments, DOCTYPE, CDATA, RCDATA, RAWTEXT, script data with
//! its escapes, PLAINTEXT, and all 2,231 named character references with
//! the attribute rule for a reference missing its `;`. Doctypes, comments
//! and parse errors give no token: no reader wants them.

use std::borrow::Cow;

use html5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};
use memchr::{memchr, memchr2, memchr3, memmem};

/// The longest named reference, `CounterClockwiseContourIntegral;`, less its `;`.
const LONGEST_NAME: usize = 31;

/// Attributes of one tag kept beyond this are dropped, so that a hostile
/// tag costs no more than this many comparisons an attribute.
const MAX_ATTRIBUTES: usize = 256;

/// A start or end tag: names lowercased, later duplicate attributes and
/// those the sink does not keep dropped.
#[derive(Debug, Default)]
pub(crate) struct Tag<'a> {
    pub name: Cow<'a, str>,
    pub attrs: Vec<Attr<'a>>,
    pub self_closing: bool,
}

#[derive(Debug)]
pub(crate) struct Attr<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl Tag<'_> {
    /// The value of attribute `name` (lowercase).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| &*a.value)
    }
}

/// How an element's content is read: what the tree builder tells the
/// tokenizer after a start tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    Data,
    /// Text with character references, up to the element's end tag.
    Rcdata,
    /// Text as written, up to the element's end tag.
    Rawtext,
    /// Script, whose `<!-- <script> -->` escapes hide its end tag.
    ScriptData,
    /// Text to the end of the page.
    Plaintext,
}

/// What the tokens go to.
pub(crate) trait Sink {
    /// A start tag; returns how the element's content is read.
    fn start(&mut self, tag: &Tag<'_>) -> Content;
    fn end(&mut self, name: &str);
    /// Text, character references decoded; one run may come in pieces.
    fn text(&mut self, text: &str);
    /// Whether `<![CDATA[` opens a CDATA section here (in `<svg>` or `<math>`).
    fn in_foreign(&self) -> bool;
    /// Whether attribute `attr` (lowercase) of a `tag` start tag is read:
    /// most of a page is `style` values nobody reads, and an attribute
    /// dropped here is never decoded, compared or stored.
    fn keeps(&self, tag: &str, attr: &str) -> bool;
}

/// Tokenize `html` into `sink`.
pub(crate) fn tokenize<S: Sink>(html: &str, sink: &mut S) {
    let html = html.strip_prefix('\u{feff}').unwrap_or(html);
    // Input preprocessing: CR LF and a lone CR are LF.
    let html: Cow<str> = if memchr(b'\r', html.as_bytes()).is_some() {
        Cow::Owned(html.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(html)
    };
    let mut t = Tokenizer {
        s: &html,
        b: html.as_bytes(),
        sink,
        tag: Tag::default(),
        raw_end: String::new(),
    };
    t.run();
}

struct Tokenizer<'a, 's, S> {
    s: &'a str,
    b: &'a [u8],
    sink: &'s mut S,
    /// The tag being read, kept to reuse its attributes' room.
    tag: Tag<'a>,
    /// The name whose end tag ends raw text: the last start tag's.
    raw_end: String,
}

fn is_space(b: u8) -> bool {
    CLASS[usize::from(b)] & SPACE != 0
}

// What a byte is to a tag's reading, as bits of [`CLASS`].
const SPACE: u8 = 1;
const SLASH: u8 = 2;
const GT: u8 = 4;
const EQ: u8 = 8;
/// An ASCII capital or a NUL: a name holding one is rewritten.
const REWRITTEN: u8 = 16;

/// The class of every byte, so that a run's end costs one look-up a byte.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[0x0C] = SPACE;
    t[b' ' as usize] = SPACE;
    t[b'/' as usize] = SLASH;
    t[b'>' as usize] = GT;
    t[b'=' as usize] = EQ;
    t[0] = REWRITTEN;
    let mut c = b'A';
    while c <= b'Z' {
        t[c as usize] = REWRITTEN;
        c += 1;
    }
    t
};

/// From `at`, the end of the run of bytes of no class in `stop`, and
/// whether the run holds a byte to rewrite.
fn run_of(b: &[u8], at: usize, stop: u8) -> (usize, bool) {
    let mut seen = 0;
    let mut i = at;
    while let Some(&c) = b.get(i) {
        let class = CLASS[usize::from(c)];
        if class & stop != 0 {
            break;
        }
        seen |= class;
        i += 1;
    }
    (i, seen & REWRITTEN != 0)
}

/// From `at`, the first byte that is not a space.
fn after_spaces(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(|&c| is_space(c)) {
        at += 1;
    }
    at
}

/// A tag or attribute name: ASCII lowercased and NUL replaced when `raw`
/// holds a capital or a NUL.
fn named_as(raw: &str, rewrite: bool) -> Cow<'_, str> {
    if rewrite {
        Cow::Owned(raw.to_ascii_lowercase().replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// How a tag's reading ended.
enum TagEnd {
    /// Emitted; reading goes on here.
    At(usize),
    /// The page ended inside the tag, which is dropped.
    Eof,
}

impl<'a, S: Sink> Tokenizer<'a, '_, S> {
    fn str(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    fn run(&mut self) {
        let mut at = 0;
        let mut content = Content::Data;
        while at < self.b.len() {
            let next = match content {
                Content::Data => self.data(at),
                Content::Rcdata | Content::Rawtext => self.raw(at, content == Content::Rcdata),
                Content::ScriptData => self.script(at),
                Content::Plaintext => {
                    self.text_replacing_nul(self.str(at, self.b.len()));
                    return;
                }
            };
            match next {
                Some((n, c)) => (at, content) = (n, c),
                None => return,
            }
        }
    }

    /// The data state from `at`, up to and including the next tag.
    fn data(&mut self, mut at: usize) -> Option<(usize, Content)> {
        loop {
            let rest = self.b.get(at..)?;
            let Some(off) = memchr3(b'<', b'&', 0, rest) else {
                self.text(at, self.b.len());
                return None;
            };
            let hit = at + off;
            self.text(at, hit);
            match self.byte(hit) {
                // A NUL in data is dropped (the tree builder ignores it).
                Some(0) => at = hit + 1,
                Some(b'&') => at = self.reference_in_text(hit),
                _ => return self.tag_open(hit),
            }
        }
    }

    fn text(&mut self, from: usize, to: usize) {
        if from < to {
            let text = self.str(from, to);
            self.sink.text(text);
        }
    }

    fn text_replacing_nul(&mut self, text: &str) {
        if text.is_empty() {
        } else if memchr(0, text.as_bytes()).is_some() {
            self.sink.text(&text.replace('\0', "\u{FFFD}"));
        } else {
            self.sink.text(text);
        }
    }

    /// A `&` in text at `amp`: emits what it stands for, returns where
    /// reading goes on.
    fn reference_in_text(&mut self, amp: usize) -> usize {
        match reference(self.b.get(amp + 1..).unwrap_or_default(), false) {
            Some(((first, second), len)) => {
                let mut buf = [0u8; 4];
                self.sink.text(first.encode_utf8(&mut buf));
                if let Some(second) = second {
                    self.sink.text(second.encode_utf8(&mut buf));
                }
                amp + 1 + len
            }
            None => {
                self.sink.text("&");
                amp + 1
            }
        }
    }

    /// A `<` in data at `lt`.
    fn tag_open(&mut self, lt: usize) -> Option<(usize, Content)> {
        let data = |at| Some((at, Content::Data));
        match self.byte(lt + 1) {
            Some(c) if c.is_ascii_alphabetic() => match self.tag(lt + 1, true) {
                TagEnd::At(at) => Some((at, self.emit_start())),
                TagEnd::Eof => None,
            },
            Some(b'/') => match self.byte(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => match self.tag(lt + 2, false) {
                    TagEnd::At(at) => {
                        self.sink.end(&self.tag.name);
                        data(at)
                    }
                    TagEnd::Eof => None,
                },
                Some(b'>') => data(lt + 3),
                Some(_) => data(self.bogus_comment(lt + 2)),
                None => {
                    self.sink.text("</");
                    None
                }
            },
            Some(b'!') => data(self.declaration(lt + 2)),
            Some(b'?') => data(self.bogus_comment(lt + 1)),
            _ => {
                self.sink.text("<");
                data(lt + 1)
            }
        }
    }

    fn emit_start(&mut self) -> Content {
        let content = self.sink.start(&self.tag);
        if content != Content::Data {
            self.raw_end.clear();
            self.raw_end.push_str(&self.tag.name);
        }
        content
    }

    /// After `<!`: a comment, a DOCTYPE, a CDATA section or a bogus comment.
    fn declaration(&mut self, at: usize) -> usize {
        let rest = self.b.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return self.comment(at + 2);
        }
        if rest
            .get(..7)
            .is_some_and(|d| d.eq_ignore_ascii_case(b"doctype"))
        {
            // Every DOCTYPE state ends at the first `>`, quoted or not.
            return self.bogus_comment(at + 7);
        }
        if rest.starts_with(b"[CDATA[") && self.sink.in_foreign() {
            let from = at + 7;
            let tail = self.b.get(from..).unwrap_or_default();
            let end = memmem::find(tail, b"]]>").map_or(self.b.len(), |o| from + o);
            self.text_replacing_nul(self.str(from, end));
            return (end + 3).min(self.b.len());
        }
        self.bogus_comment(at)
    }

    /// A bogus comment from `at`: up to and including the next `>`.
    fn bogus_comment(&self, at: usize) -> usize {
        let rest = self.b.get(at..).unwrap_or_default();
        memchr(b'>', rest).map_or(self.b.len(), |o| at + o + 1)
    }

    /// A comment whose `<!--` ends before `at`: where it ends.
    fn comment(&self, at: usize) -> usize {
        let rest = self.b.get(at..).unwrap_or_default();
        // `<!-->` and `<!--->` end at once.
        if rest.starts_with(b">") {
            return at + 1;
        }
        if rest.starts_with(b"->") {
            return at + 2;
        }
        // `--!>` is looked for only before the first `-->`, so a page of
        // comments is read once, not once per comment.
        let close = memmem::find(rest, b"-->").map(|o| o + 3);
        let before_close = rest.get(..close.unwrap_or(rest.len())).unwrap_or(rest);
        match memmem::find(before_close, b"--!>").map(|o| o + 4) {
            Some(bang) => at + bang,
            None => close.map_or(self.b.len(), |c| at + c),
        }
    }

    /// Reads a tag whose name starts at `at` into `self.tag`.
    fn tag(&mut self, at: usize, start: bool) -> TagEnd {
        let b = self.b;
        let (mut i, rewrite) = run_of(b, at, SPACE | SLASH | GT);
        self.tag.name = named_as(self.str(at, i), rewrite);
        self.tag.attrs.clear();
        self.tag.self_closing = false;
        loop {
            // Before attribute name.
            i = after_spaces(b, i);
            match b.get(i) {
                None => return TagEnd::Eof,
                Some(b'>') => return TagEnd::At(i + 1),
                Some(b'/') => match self.self_closing(i + 1) {
                    Some(Some(end)) => return TagEnd::At(end),
                    Some(None) => {
                        i += 1;
                        continue;
                    }
                    None => return TagEnd::Eof,
                },
                Some(_) => {}
            }
            // Attribute name; a `=` may begin it.
            let name_at = i;
            let (name_end, rewrite) = run_of(b, i + 1, SPACE | SLASH | GT | EQ);
            let rewrite =
                rewrite || CLASS[usize::from(b.get(i).copied().unwrap_or(0))] & REWRITTEN != 0;
            // After attribute name.
            i = after_spaces(b, name_end);
            let mut value = None;
            if b.get(i) == Some(&b'=') {
                i = after_spaces(b, i + 1);
                match b.get(i) {
                    None => return TagEnd::Eof,
                    Some(&q @ (b'"' | b'\'')) => {
                        let Some((end, plain)) = quoted_end(b, i + 1, q) else {
                            return TagEnd::Eof;
                        };
                        value = Some((i + 1, end, plain));
                        i = end + 1;
                    }
                    Some(b'>') => {}
                    Some(_) => {
                        let from = i;
                        i = run_of(b, i, SPACE | GT).0;
                        value = Some((from, i, false));
                    }
                }
            }
            if start {
                let attr_name = named_as(self.str(name_at, name_end), rewrite);
                if self.sink.keeps(&self.tag.name, &attr_name) {
                    self.push_attr(attr_name, value);
                }
            }
            // After a quoted value anything but a space, `/` or `>` starts
            // the next attribute; the loop reads it alike.
        }
    }

    /// After a `/` in a tag: `Some(Some(end))` when `>` closes the tag
    /// there, `Some(None)` when the tag goes on, `None` at the page's end.
    fn self_closing(&mut self, at: usize) -> Option<Option<usize>> {
        match self.byte(at) {
            None => None,
            Some(b'>') => {
                self.tag.self_closing = true;
                Some(Some(at + 1))
            }
            Some(_) => Some(None),
        }
    }

    /// An attribute; `value` is where its value lies, and whether it is
    /// known to hold no `&` or NUL.
    fn push_attr(&mut self, attr_name: Cow<'a, str>, value: Option<(usize, usize, bool)>) {
        if self.tag.attrs.len() >= MAX_ATTRIBUTES
            || self.tag.attrs.iter().any(|a| a.name == attr_name)
        {
            return;
        }
        let value = match value {
            Some((from, to, true)) => Cow::Borrowed(self.str(from, to)),
            Some((from, to, false)) => attribute_value(self.str(from, to)),
            None => Cow::Borrowed(""),
        };
        self.tag.attrs.push(Attr {
            name: attr_name,
            value,
        });
    }

    /// RCDATA or RAWTEXT from `at` to the end tag of `raw_end`.
    fn raw(&mut self, at: usize, references: bool) -> Option<(usize, Content)> {
        let end = self.raw_end_tag(at);
        let text_end = end.unwrap_or(self.b.len());
        if references {
            let mut i = at;
            while let Some(off) = memchr(b'&', self.b.get(i..text_end).unwrap_or_default()) {
                self.text_replacing_nul(self.str(i, i + off));
                i = self.reference_in_text(i + off).min(text_end);
            }
            self.text_replacing_nul(self.str(i, text_end));
        } else {
            self.text_replacing_nul(self.str(at, text_end));
        }
        self.end_tag_at(end?)
    }

    /// The `<` of the first `</name` ending raw text from `at`.
    fn raw_end_tag(&self, mut at: usize) -> Option<usize> {
        loop {
            let off = memmem::find(self.b.get(at..)?, b"</")?;
            let lt = at + off;
            if self.ends_raw(lt + 2) {
                return Some(lt);
            }
            at = lt + 1;
        }
    }

    /// Whether `raw_end` follows at `at`, then a space, `/` or `>`.
    fn ends_raw(&self, at: usize) -> bool {
        let n = self.raw_end.len();
        self.b
            .get(at..at + n)
            .is_some_and(|w| w.eq_ignore_ascii_case(self.raw_end.as_bytes()))
            && self
                .byte(at + n)
                .is_some_and(|c| is_space(c) || c == b'/' || c == b'>')
    }

    /// The end tag at `lt` that ends raw text.
    fn end_tag_at(&mut self, lt: usize) -> Option<(usize, Content)> {
        match self.tag(lt + 2, false) {
            TagEnd::At(at) => {
                self.sink.end(&self.tag.name);
                Some((at, Content::Data))
            }
            TagEnd::Eof => None,
        }
    }

    /// Script data from `at` to its end tag.
    fn script(&mut self, at: usize) -> Option<(usize, Content)> {
        let end = script_end(self.b, at, &self.raw_end);
        self.text_replacing_nul(self.str(at, end.unwrap_or(self.b.len())));
        self.end_tag_at(end?)
    }
}

/// The closing quote `q` of a value starting at `from`, and whether the
/// value holds no `&` or NUL (so needs no decoding): one pass over the value.
fn quoted_end(b: &[u8], from: usize, q: u8) -> Option<(usize, bool)> {
    let rest = b.get(from..)?;
    let hit = memchr3(q, b'&', 0, rest)?;
    if rest.get(hit) == Some(&q) {
        return Some((from + hit, true));
    }
    let close = memchr(q, rest.get(hit..)?)?;
    Some((from + hit + close, false))
}

/// The value of an attribute as written: references decoded, NUL replaced.
fn attribute_value(raw: &str) -> Cow<'_, str> {
    if memchr2(b'&', 0, raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut scratch = String::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr2(b'&', 0, b.get(i..).unwrap_or_default()) {
        let hit = i + off;
        scratch.push_str(raw.get(i..hit).unwrap_or(""));
        if b.get(hit) == Some(&0) {
            scratch.push('\u{FFFD}');
            i = hit + 1;
            continue;
        }
        match reference(b.get(hit + 1..).unwrap_or_default(), true) {
            Some(((c1, c2), len)) => {
                scratch.push(c1);
                scratch.extend(c2);
                i = hit + 1 + len;
            }
            None => {
                scratch.push('&');
                i = hit + 1;
            }
        }
    }
    scratch.push_str(raw.get(i..).unwrap_or(""));
    Cow::Owned(scratch)
}

/// The character reference after a `&`: what it stands for and how many
/// bytes after the `&` it takes; `None` when the `&` is just a `&`.
fn reference(after: &[u8], in_attribute: bool) -> Option<((char, Option<char>), usize)> {
    match after.first() {
        Some(b'#') => numeric(after),
        Some(c) if c.is_ascii_alphanumeric() => named(after, in_attribute),
        _ => None,
    }
}

fn named(after: &[u8], in_attribute: bool) -> Option<((char, Option<char>), usize)> {
    let run = after
        .iter()
        .take(LONGEST_NAME + 1)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let lookup = |len: usize| {
        let key = std::str::from_utf8(after.get(..len)?).ok()?;
        NAMED_ENTITIES.get(key).filter(|m| m.0 != 0).copied()
    };
    let (found, len) = match after.get(run) {
        Some(b';') => lookup(run + 1).map(|m| (m, run + 1)),
        _ => None,
    }
    .or_else(|| {
        (1..=run.min(LONGEST_NAME))
            .rev()
            .find_map(|k| Some((lookup(k)?, k)))
    })?;
    let with_semicolon = after.get(len - 1) == Some(&b';');
    if in_attribute
        && !with_semicolon
        && after
            .get(len)
            .is_some_and(|c| *c == b'=' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    let first = char::from_u32(found.0)?;
    let second = match found.1 {
        0 => None,
        c => char::from_u32(c),
    };
    Some(((first, second), len))
}

fn numeric(after: &[u8]) -> Option<((char, Option<char>), usize)> {
    let hex = matches!(after.get(1), Some(b'x' | b'X'));
    let from = if hex { 2 } else { 1 };
    let radix = if hex { 16 } else { 10 };
    let digits = after
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| (*c).is_ascii_digit() || (hex && (*c).is_ascii_hexdigit()))
        .count();
    if digits == 0 {
        return None;
    }
    let mut n: u32 = 0;
    for c in after.get(from..from + digits).unwrap_or_default() {
        let d = char::from(*c).to_digit(radix).unwrap_or(0);
        n = n.saturating_mul(radix).saturating_add(d).min(0x11_0000);
    }
    let mut len = from + digits;
    if after.get(len) == Some(&b';') {
        len += 1;
    }
    let c = match n {
        0 | 0xD800..=0xDFFF | 0x11_0000.. => '\u{FFFD}',
        0x80..=0x9F => C1_REPLACEMENTS
            .get((n - 0x80) as usize)
            .copied()
            .flatten()
            .or_else(|| char::from_u32(n))
            .unwrap_or('\u{FFFD}'),
        n => char::from_u32(n).unwrap_or('\u{FFFD}'),
    };
    Some(((c, None), len))
}

#[derive(Clone, Copy)]
enum Script {
    Data,
    Escaped,
    EscapedDash,
    EscapedDashDash,
    Double,
    DoubleDash,
    DoubleDashDash,
}

/// The `<` of the end tag that ends script data from `at`, following the
/// escape states (`<!--`, `<script>` inside it, `-->`).
fn script_end(b: &[u8], at: usize, name: &str) -> Option<usize> {
    use Script::*;
    let alpha_run = |i: usize| {
        i + b
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count()
    };
    let is_name = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|w| w.eq_ignore_ascii_case(name.as_bytes()))
    };
    let ends_name = |i: usize| {
        b.get(i)
            .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>')
    };
    let is_script = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"script"))
    };
    let mut state = Data;
    let mut i = at;
    while let Some(&c) = b.get(i) {
        match (state, c) {
            (Data | Escaped | EscapedDash | EscapedDashDash, b'<') => {
                let escaped = !matches!(state, Data);
                match b.get(i + 1) {
                    Some(b'/') if b.get(i + 2).is_some_and(u8::is_ascii_alphabetic) => {
                        let end = alpha_run(i + 2);
                        if is_name(i + 2, end) && ends_name(end) {
                            return Some(i);
                        }
                        state = if escaped { Escaped } else { Data };
                        i = end;
                    }
                    Some(b'!') if !escaped && b.get(i + 2..i + 4) == Some(b"--") => {
                        state = EscapedDashDash;
                        i += 4;
                    }
                    Some(a) if escaped && a.is_ascii_alphabetic() => {
                        let end = alpha_run(i + 1);
                        state = if is_script(i + 1, end) && ends_name(end) {
                            Double
                        } else {
                            Escaped
                        };
                        i = end;
                    }
                    _ => {
                        state = if escaped { Escaped } else { Data };
                        i += 1;
                    }
                }
            }
            (Double | DoubleDash | DoubleDashDash, b'<') => {
                if b.get(i + 1) == Some(&b'/') {
                    let end = alpha_run(i + 2);
                    state = if is_script(i + 2, end) && ends_name(end) {
                        Escaped
                    } else {
                        Double
                    };
                    i = end;
                } else {
                    state = Double;
                    i += 1;
                }
            }
            (Escaped, b'-') => (state, i) = (EscapedDash, i + 1),
            (EscapedDash | EscapedDashDash, b'-') => (state, i) = (EscapedDashDash, i + 1),
            (EscapedDashDash, b'>') => (state, i) = (Data, i + 1),
            (EscapedDash | EscapedDashDash, _) => (state, i) = (Escaped, i + 1),
            (Double, b'-') => (state, i) = (DoubleDash, i + 1),
            (DoubleDash | DoubleDashDash, b'-') => (state, i) = (DoubleDashDash, i + 1),
            (DoubleDashDash, b'>') => (state, i) = (Data, i + 1),
            (DoubleDash | DoubleDashDash, _) => (state, i) = (Double, i + 1),
            (Data | Escaped | Double, _) => {
                // Skip to the next byte that can change the state.
                let rest = b.get(i + 1..).unwrap_or_default();
                let skip = if matches!(state, Data) {
                    memchr(b'<', rest)
                } else {
                    memchr2(b'<', b'-', rest)
                };
                i = skip.map_or(b.len(), |o| i + 1 + o);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Vec<String>, bool);

    impl Sink for Log {
        fn start(&mut self, tag: &Tag<'_>) -> Content {
            let attrs: Vec<String> = tag
                .attrs
                .iter()
                .map(|a| format!("{}={}", a.name, a.value))
                .collect();
            let slash = if tag.self_closing { "/" } else { "" };
            self.0
                .push(format!("<{} {}{slash}>", tag.name, attrs.join(" ")));
            match &*tag.name {
                "script" => Content::ScriptData,
                "title" => Content::Rcdata,
                "style" => Content::Rawtext,
                "plaintext" => Content::Plaintext,
                "svg" => {
                    self.1 = true;
                    Content::Data
                }
                _ => Content::Data,
            }
        }
        fn end(&mut self, name: &str) {
            self.0.push(format!("</{name}>"));
        }
        fn text(&mut self, text: &str) {
            match self.0.last_mut() {
                Some(last) if last.starts_with('"') => {
                    last.pop();
                    last.push_str(text);
                    last.push('"');
                }
                _ => self.0.push(format!("\"{text}\"")),
            }
        }
        fn in_foreign(&self) -> bool {
            self.1
        }
        fn keeps(&self, _tag: &str, attr: &str) -> bool {
            attr != "style"
        }
    }

    fn tokens(html: &str) -> Vec<String> {
        let mut log = Log::default();
        tokenize(html, &mut log);
        log.0
    }

    #[test]
    fn tags_attributes_and_their_edges() {
        assert_eq!(
            tokens("<A HREF='x' href=y b=\"1>2\" c d = e/>t</A x='>'>"),
            ["<a href=x b=1>2 c= d=e/>", "\"t\"", "</a>"]
        );
        assert_eq!(tokens("a<5 b</>c</ d>e"), ["\"a<5 bce\""]);
        // A value is decoded only where it holds a `&` or a NUL, wherever
        // in it; a quote left open drops the tag.
        assert_eq!(
            tokens("<p a=\"x y&amp;z\" b='n\0l' c=\"plain\">"),
            ["<p a=x y&z b=n\u{FFFD}l c=plain>"]
        );
        assert_eq!(tokens("<p a=\"x&amp;"), Vec::<String>::new());
        assert_eq!(tokens("<p =x>"), ["<p =x=>"]);
        assert_eq!(tokens("<p a='1'b=2>"), ["<p a=1 b=2>"]);
        assert_eq!(tokens("<p a"), Vec::<String>::new());
        assert_eq!(tokens("x</"), ["\"x</\""]);
        // An attribute the sink does not keep is dropped, and a later one
        // of its name is no duplicate of it.
        assert_eq!(
            tokens("<p STYLE=\"a&amp;\" class=c style=x CLASS=d>"),
            ["<p class=c>"]
        );
    }

    #[test]
    fn references_in_text_and_attributes() {
        assert_eq!(
            tokens("&amp;&lt&notit;&#x41;&#65&#0;&#x80;&bogus;&"),
            ["\"&<¬it;AA\u{FFFD}€&bogus;&\""]
        );
        assert_eq!(
            tokens("<a href='?a=1&copy=2&amp=3&lt;'>"),
            ["<a href=?a=1&copy=2&amp=3<>"]
        );
        assert_eq!(tokens("&NotNestedGreaterGreater;"), ["\"\u{2AA2}\u{338}\""]);
    }

    #[test]
    fn comments_doctype_and_cdata() {
        assert_eq!(
            tokens("<!DOCTYPE html PUBLIC \"a>b\">x<!-->y<!--->z<!-- a -- b --!>w<?php ?>v<![CDATA[u]]>"),
            ["\"b\">xyzwv\""]
        );
        assert_eq!(
            tokens("<svg><![CDATA[<p>]]></svg>"),
            ["<svg >", "\"<p>\"", "</svg>"]
        );
        // Whichever of `-->` and `--!>` comes first ends a comment.
        assert_eq!(
            tokens("<!-- a -->x<!-- b --!>y<!-- c --!> d -->e"),
            ["\"xy d -->e\""]
        );
    }

    #[test]
    fn raw_text_ends_only_at_its_own_end_tag() {
        assert_eq!(
            tokens("<title>a&amp;<b></titlex></TITLE >c"),
            ["<title >", "\"a&<b></titlex>\"", "</title>", "\"c\""]
        );
        assert_eq!(
            tokens("<style>&amp;</style>"),
            ["<style >", "\"&amp;\"", "</style>"]
        );
        assert_eq!(
            tokens("<script>a</scriptx><!--<script></script>--></script>b"),
            [
                "<script >",
                "\"a</scriptx><!--<script></script>-->\"",
                "</script>",
                "\"b\""
            ]
        );
        assert_eq!(
            tokens("<script><!--</script>x"),
            ["<script >", "\"<!--\"", "</script>", "\"x\""]
        );
        assert_eq!(
            tokens("<plaintext></plaintext>"),
            ["<plaintext >", "\"</plaintext>\""]
        );
    }

    #[test]
    fn line_ends_and_nul() {
        assert_eq!(tokens("\u{feff}a\r\nb\rc\0d"), ["\"a\nb\ncd\""]);
    }
}
