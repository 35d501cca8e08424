//! A streaming reader of the records of a WARC (1.0, 1.1) or ARC (1.0) file
//! as other writers make them: gzip per record, one gzip stream, or
//! uncompressed.
//!
//! The file is read once, front to back; one record at a time is held in
//! memory (its block cut at a cap), so memory does not grow with the file.
//! A record that cannot be read is handed on as [`Item::Bad`] and reading
//! goes on at the next record that can be found: after a gzip member that
//! ends early, at the next gzip header; in plain text, at the next line
//! starting a record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::bufread::GzDecoder;
use memchr::memmem;

/// The longest header block (WARC named fields, or an ARC URL line) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// How far a lost reader scans for the next record or gzip member.
const SCAN_CHUNK: usize = 64 * 1024;

/// How the records of a file are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// One gzip member per record: offsets and lengths are those of the
    /// members in the file, as replay tools expect.
    GzipRecord,
    /// Several records in one gzip member (usually the whole file): offsets
    /// and lengths are in the decompressed stream.
    GzipStream,
    /// No compression: offsets and lengths are in the file.
    None,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::GzipRecord => "gzip-record",
            Compression::GzipStream => "gzip-stream",
            Compression::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "gzip-record" => Some(Compression::GzipRecord),
            "gzip-stream" => Some(Compression::GzipStream),
            "none" => Some(Compression::None),
            _ => None,
        }
    }
}

/// The record syntax of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Warc,
    Arc,
}

/// One record as read: its named fields (an ARC record's URL line is given
/// WARC names: `WARC-Type`, `WARC-Target-URI`, `WARC-Date`, `WARC-IP-Address`,
/// `Content-Type`), its block up to the cap, and where it is.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub syntax: Syntax,
    /// Where the record starts (see [`Compression`] for what it counts).
    pub offset: u64,
    /// Its length; 0 when it shares a gzip member with another record.
    pub length: u64,
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
    /// The block was longer than the cap and was cut.
    pub cut: bool,
    /// Quirks met while reading it (a wrong `Content-Length`, …).
    pub notes: Vec<String>,
}

impl RawRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the reader hands on.
#[derive(Debug, Clone)]
pub enum Item {
    Record(RawRecord),
    /// A record that could not be read; reading went on after it.
    Bad {
        offset: u64,
        why: String,
    },
}

/// What a whole file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub compression: Compression,
    pub syntax: Option<Syntax>,
}

/// Read every record of `path`, handing each to `each` in file order.
/// `cap` bounds the bytes of one block kept in memory. Stops early when
/// `each` fails, with its error.
pub fn read_file<E: From<io::Error>>(
    path: &Path,
    cap: usize,
    each: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<Shape, E> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = Reader {
        cap,
        syntax: None,
        stream: false,
    };
    if n == 2 && magic == [0x1f, 0x8b] {
        let compression = reader.read_members(file, size, each)?;
        return Ok(Shape {
            compression,
            syntax: reader.syntax,
        });
    }
    let mut src = Source::new(BufReader::with_capacity(256 * 1024, file), 0);
    reader.read_source(&mut src, each)?;
    Ok(Shape {
        compression: Compression::None,
        syntax: reader.syntax,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

struct Reader {
    cap: usize,
    syntax: Option<Syntax>,
    /// Offsets count the decompressed stream (one stream, or no compression).
    stream: bool,
}

/// Counts the compressed bytes pulled from the file.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl Reader {
    /// A gzip file: member by member. The first member decides the mode:
    /// one record in it means a member per record; several, one stream.
    fn read_members<E: From<io::Error>>(
        &mut self,
        file: File,
        size: u64,
        each: &mut dyn FnMut(Item) -> Result<(), E>,
    ) -> Result<Compression, E> {
        let mut at = 0u64;
        let mut first = true;
        let mut decompressed = 0u64;
        let mut file = file;
        while at < size {
            file.seek(SeekFrom::Start(at))?;
            let mut buf = BufReader::with_capacity(
                256 * 1024,
                Counting {
                    inner: file,
                    count: at,
                },
            );
            let member = MemberRun {
                start: at,
                first,
                decompressed,
            };
            let outcome = self.read_member(&mut buf, member, each)?;
            let end = buf.get_ref().count - buf.buffer().len() as u64;
            file = buf.into_inner().inner;
            first = false;
            match outcome {
                MemberEnd::Done { produced } => {
                    decompressed += produced;
                    if end <= at {
                        break;
                    }
                    at = end;
                }
                MemberEnd::Broken { why, produced } => {
                    decompressed += produced;
                    each(Item::Bad {
                        offset: if self.stream { decompressed } else { at },
                        why,
                    })?;
                    match next_member(&mut file, at + 1, size)? {
                        Some(next) => at = next,
                        None => break,
                    }
                }
            }
        }
        Ok(if self.stream {
            Compression::GzipStream
        } else {
            Compression::GzipRecord
        })
    }

    fn read_member<E: From<io::Error>>(
        &mut self,
        buf: &mut BufReader<Counting<File>>,
        member: MemberRun,
        each: &mut dyn FnMut(Item) -> Result<(), E>,
    ) -> Result<MemberEnd, E> {
        let dec = GzDecoder::new(&mut *buf);
        let base = if self.stream { member.decompressed } else { 0 };
        let mut src = Source::new(BufReader::with_capacity(256 * 1024, dec), base);
        let mut pending: Option<RawRecord> = None;
        let mut count = 0usize;
        loop {
            let next = match self.next_record(&mut src) {
                Ok(Some(Parsed::Record(r))) => Some(r),
                Ok(Some(Parsed::Lost { offset, why })) => {
                    let offset = if self.stream { offset } else { member.start };
                    each(Item::Bad { offset, why })?;
                    continue;
                }
                Ok(None) => None,
                Err(e) => {
                    if let Some(r) = pending.take() {
                        each(Item::Record(r))?;
                    }
                    let why = format!("gzip member at byte {} ends early: {e}", member.start);
                    return Ok(MemberEnd::Broken {
                        why,
                        produced: src.pos - base,
                    });
                }
            };
            let Some(mut record) = next else { break };
            count += 1;
            if member.first && count == 2 {
                // Several records in the first member: one gzip stream.
                self.stream = true;
            }
            if self.stream {
                if let Some(p) = pending.take() {
                    each(Item::Record(p))?;
                }
                each(Item::Record(record))?;
                continue;
            }
            if let Some(mut p) = pending.take() {
                p.length = 0;
                p.notes
                    .push("shares its gzip member with the next record".into());
                each(Item::Record(p))?;
                record.notes.push("shares a gzip member".into());
            }
            record.offset = member.start;
            pending = Some(record);
        }
        let produced = src.pos - base;
        drop(src);
        if let Some(mut p) = pending.take() {
            let end = buf.get_ref().count - buf.buffer().len() as u64;
            if !p.notes.iter().any(|n| n == "shares a gzip member") {
                p.length = end.saturating_sub(member.start);
            }
            each(Item::Record(p))?;
        }
        Ok(MemberEnd::Done { produced })
    }

    /// An uncompressed file, or the decompressed stream of one member.
    fn read_source<E: From<io::Error>, R: BufRead>(
        &mut self,
        src: &mut Source<R>,
        each: &mut dyn FnMut(Item) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            match self.next_record(src) {
                Ok(Some(Parsed::Record(r))) => each(Item::Record(r))?,
                Ok(Some(Parsed::Lost { offset, why })) => each(Item::Bad { offset, why })?,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let offset = src.pos;
                    each(Item::Bad {
                        offset,
                        why: format!("read error: {e}"),
                    })?;
                    return Ok(());
                }
            }
        }
    }

    /// The next record of a source, `None` at its end.
    fn next_record<R: BufRead>(&mut self, src: &mut Source<R>) -> io::Result<Option<Parsed>> {
        src.skip_blank()?;
        if src.at_end()? {
            return Ok(None);
        }
        let start = src.pos;
        let first = src.read_line(MAX_HEAD)?;
        let line = String::from_utf8_lossy(trim_eol(&first)).into_owned();
        if line.starts_with("WARC/") {
            self.syntax.get_or_insert(Syntax::Warc);
            return self.warc_record(src, start).map(Some);
        }
        if let Some(fields) = arc_line(&line) {
            self.syntax.get_or_insert(Syntax::Arc);
            return self.arc_record(src, start, fields).map(Some);
        }
        let skipped = src.skip_to_record_start()?;
        Ok(Some(Parsed::Lost {
            offset: start,
            why: format!(
                "no record header at this offset ({} bytes skipped to the next one): {:?}",
                skipped + first.len() as u64,
                truncate_chars(&line, 60)
            ),
        }))
    }

    fn warc_record<R: BufRead>(&mut self, src: &mut Source<R>, start: u64) -> io::Result<Parsed> {
        let mut headers = Vec::new();
        let mut head_len = 0usize;
        loop {
            let line = src.read_line(MAX_HEAD)?;
            if line.is_empty() {
                return Ok(Parsed::Lost {
                    offset: start,
                    why: "WARC header block ends before its blank line".into(),
                });
            }
            head_len += line.len();
            let text = trim_eol(&line);
            if text.is_empty() {
                break;
            }
            if head_len > MAX_HEAD {
                let _ = src.skip_to_record_start()?;
                return Ok(Parsed::Lost {
                    offset: start,
                    why: format!("WARC header block longer than {MAX_HEAD} bytes"),
                });
            }
            let text = String::from_utf8_lossy(text);
            if let Some((k, v)) = text.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let declared = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        let mut notes = Vec::new();
        let (block, cut) = match declared {
            Some(len) => self.block_of_length(src, len, &mut notes)?,
            None => {
                notes.push("no usable Content-Length: block read to the next record".into());
                self.block_to_next_record(src)?
            }
        };
        Ok(Parsed::Record(RawRecord {
            syntax: Syntax::Warc,
            offset: start,
            length: src.pos - start,
            headers,
            block,
            cut,
            notes,
        }))
    }

    /// A block of `len` declared bytes, checked against what follows: a
    /// length that stops short of the next record (or runs into it) is
    /// corrected, and noted.
    fn block_of_length<R: BufRead>(
        &mut self,
        src: &mut Source<R>,
        len: u64,
        notes: &mut Vec<String>,
    ) -> io::Result<(Vec<u8>, bool)> {
        let (mut block, cut, got) = src.read_block(len, self.cap)?;
        if got < len {
            notes.push(format!(
                "Content-Length {len}, but the record ends after {got} bytes"
            ));
            trim_trailer(&mut block);
            return Ok((block, cut));
        }
        if src.next_is_record_end()? {
            return Ok((block, cut));
        }
        // The declared length is wrong. Too long: the next record starts
        // inside the block. Too short: the block goes on to the next record.
        if !cut {
            if let Some(at) = memmem::find(&block, b"\r\n\r\nWARC/") {
                let rest = block.split_off(at + 4);
                src.push_back(rest);
                notes.push(format!(
                    "Content-Length {len} runs into the next record; block is {at} bytes"
                ));
                return Ok((block, cut));
            }
        }
        let (more, more_cut) = self.block_to_next_record(src)?;
        let extra = more.len();
        if block.len() + more.len() <= self.cap {
            block.extend_from_slice(&more);
        }
        notes.push(format!(
            "Content-Length {len} stops short of the record's end ({extra} more bytes)"
        ));
        Ok((block, cut || more_cut))
    }

    /// Everything up to the blank line in front of the next `WARC/` line,
    /// or to the end of the source.
    fn block_to_next_record<R: BufRead>(
        &mut self,
        src: &mut Source<R>,
    ) -> io::Result<(Vec<u8>, bool)> {
        let mut block = Vec::new();
        let mut cut = false;
        loop {
            let line = src.read_line(usize::MAX)?;
            if line.is_empty() {
                break;
            }
            if line.starts_with(b"WARC/") && block.ends_with(b"\r\n\r\n") {
                src.push_back(line);
                block.truncate(block.len() - 4);
                break;
            }
            if block.len() + line.len() <= self.cap {
                block.extend_from_slice(&line);
            } else {
                cut = true;
            }
        }
        if src.at_end()? {
            trim_trailer(&mut block);
        }
        Ok((block, cut))
    }

    fn arc_record<R: BufRead>(
        &mut self,
        src: &mut Source<R>,
        start: u64,
        fields: ArcLine,
    ) -> io::Result<Parsed> {
        let (block, cut, got) = src.read_block(fields.length, self.cap)?;
        let mut notes = Vec::new();
        if got < fields.length {
            notes.push(format!(
                "length {}, but the record ends after {got} bytes",
                fields.length
            ));
        }
        let kind = if fields.url.starts_with("filedesc:") {
            "warcinfo"
        } else {
            "response"
        };
        let mut headers = vec![
            ("WARC-Type".to_string(), kind.to_string()),
            ("WARC-Target-URI".to_string(), fields.url),
            ("WARC-Date".to_string(), arc_date(&fields.date)),
            ("Content-Type".to_string(), fields.content_type),
        ];
        if !fields.ip.is_empty() && fields.ip != "0.0.0.0" {
            headers.push(("WARC-IP-Address".to_string(), fields.ip));
        }
        Ok(Parsed::Record(RawRecord {
            syntax: Syntax::Arc,
            offset: start,
            length: src.pos - start,
            headers,
            block,
            cut,
            notes,
        }))
    }
}

#[derive(Debug, Clone, Copy)]
struct MemberRun {
    start: u64,
    first: bool,
    decompressed: u64,
}

enum MemberEnd {
    Done { produced: u64 },
    Broken { why: String, produced: u64 },
}

enum Parsed {
    Record(RawRecord),
    Lost { offset: u64, why: String },
}

/// The fields of an ARC URL line (version 1: URL IP date type length;
/// version 2 adds result code, checksum, location, offset and file name
/// before the length).
struct ArcLine {
    url: String,
    ip: String,
    date: String,
    content_type: String,
    length: u64,
}

fn arc_line(line: &str) -> Option<ArcLine> {
    let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
    if !(fields.len() == 5 || fields.len() == 10) {
        return None;
    }
    let url = fields[0];
    let date = fields[2];
    if !url.contains(':') || date.len() < 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(ArcLine {
        url: url.to_string(),
        ip: fields[1].to_string(),
        date: date.to_string(),
        content_type: fields[3].to_string(),
        length: fields.last()?.parse().ok()?,
    })
}

/// `YYYYMMDDhhmmss` (ARC) → `YYYY-MM-DDThh:mm:ssZ`, missing digits as 0.
pub fn arc_date(date: &str) -> String {
    let d: Vec<u8> = date
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(14)
        .collect();
    let s = |a: usize, b: usize| String::from_utf8_lossy(&d[a..b]).into_owned();
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        s(0, 4),
        s(4, 6),
        s(6, 8),
        s(8, 10),
        s(10, 12),
        s(12, 14)
    )
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Drop the record separator (`\r\n\r\n`, or ARC's `\n`) left at a block's end.
fn trim_trailer(block: &mut Vec<u8>) {
    while block.ends_with(b"\r\n") {
        block.truncate(block.len() - 2);
    }
}

fn truncate_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The next offset after `from` where a gzip member that decodes starts.
fn next_member(file: &mut File, from: u64, size: u64) -> io::Result<Option<u64>> {
    let mut at = from;
    let mut chunk = vec![0u8; SCAN_CHUNK];
    while at < size {
        file.seek(SeekFrom::Start(at))?;
        let n = read_up_to(file, &mut chunk)?;
        if n < 3 {
            return Ok(None);
        }
        let mut search = 0;
        while let Some(i) = memmem::find(&chunk[search..n], &[0x1f, 0x8b, 0x08]) {
            let candidate = at + (search + i) as u64;
            if decodes_at(file, candidate)? {
                return Ok(Some(candidate));
            }
            search += i + 1;
        }
        at += (n - 2) as u64;
    }
    Ok(None)
}

/// Whether a gzip member starting at `offset` decodes to something.
fn decodes_at(file: &mut File, offset: u64) -> io::Result<bool> {
    file.seek(SeekFrom::Start(offset))?;
    let mut dec = GzDecoder::new(BufReader::new(&mut *file));
    let mut head = [0u8; 8];
    Ok(matches!(read_up_to(&mut dec, &mut head), Ok(n) if n > 0))
}

/// A byte source with a position and a pushback buffer, so that a block
/// read past its true end can hand the excess back.
pub(crate) struct Source<R> {
    inner: R,
    back: Vec<u8>,
    /// Offset of the next byte, counted from the start of the stream.
    pub pos: u64,
}

impl<R: BufRead> Source<R> {
    pub(crate) fn new(inner: R, pos: u64) -> Self {
        Self {
            inner,
            back: Vec::new(),
            pos,
        }
    }

    fn push_back(&mut self, mut bytes: Vec<u8>) {
        self.pos -= bytes.len() as u64;
        bytes.extend_from_slice(&self.back);
        self.back = bytes;
    }

    fn at_end(&mut self) -> io::Result<bool> {
        Ok(self.back.is_empty() && self.inner.fill_buf()?.is_empty())
    }

    fn peek_byte(&mut self) -> io::Result<Option<u8>> {
        if let Some(b) = self.back.first() {
            return Ok(Some(*b));
        }
        Ok(self.inner.fill_buf()?.first().copied())
    }

    fn consume(&mut self, n: usize) {
        if !self.back.is_empty() {
            self.back.drain(..n.min(self.back.len()));
        } else {
            self.inner.consume(n);
        }
        self.pos += n as u64;
    }

    /// Skip CR, LF and spaces between records.
    fn skip_blank(&mut self) -> io::Result<()> {
        while let Some(b) = self.peek_byte()? {
            if matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0) {
                self.consume(1);
            } else {
                break;
            }
        }
        Ok(())
    }

    /// One line with its end (`\n`), at most `max` bytes (then cut there).
    fn read_line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            if !self.back.is_empty() {
                let end = memchr::memchr(b'\n', &self.back).map(|i| i + 1);
                let take = end.unwrap_or(self.back.len()).min(max - line.len());
                line.extend_from_slice(&self.back[..take]);
                self.consume(take);
                if end.is_some_and(|e| e == take) || line.len() >= max {
                    return Ok(line);
                }
                continue;
            }
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(line);
            }
            let end = memchr::memchr(b'\n', buf).map(|i| i + 1);
            let take = end.unwrap_or(buf.len()).min(max - line.len());
            line.extend_from_slice(&buf[..take]);
            self.consume(take);
            if end.is_some_and(|e| e == take) || line.len() >= max {
                return Ok(line);
            }
        }
    }

    /// Read `len` bytes, keeping the first `cap`; returns the kept bytes,
    /// whether any were dropped, and how many were there.
    fn read_block(&mut self, len: u64, cap: usize) -> io::Result<(Vec<u8>, bool, u64)> {
        let mut kept = Vec::with_capacity((len as usize).min(cap).min(1 << 20));
        let mut got = 0u64;
        while got < len {
            let want = (len - got) as usize;
            let chunk: &[u8] = if !self.back.is_empty() {
                &self.back
            } else {
                self.inner.fill_buf()?
            };
            if chunk.is_empty() {
                break;
            }
            let n = want.min(chunk.len());
            let room = cap.saturating_sub(kept.len()).min(n);
            kept.extend_from_slice(&chunk[..room]);
            self.consume(n);
            got += n as u64;
        }
        let cut = got as usize > kept.len();
        Ok((kept, cut, got))
    }

    /// After a block: the record separator, then the end or a new record.
    fn next_is_record_end(&mut self) -> io::Result<bool> {
        let mut seen = Vec::new();
        while seen.len() < 4 {
            match self.peek_byte()? {
                Some(b @ (b'\r' | b'\n')) => {
                    seen.push(b);
                    self.consume(1);
                }
                _ => break,
            }
        }
        let ok = match self.peek_byte()? {
            None => true,
            Some(_) => {
                let line = self.read_line(16)?;
                let ok = line.starts_with(b"WARC/") || arc_start(&line);
                self.push_back(line);
                ok && !seen.is_empty()
            }
        };
        if !ok {
            self.push_back(seen);
        }
        Ok(ok)
    }

    /// Skip to the next line that starts a WARC record; returns the bytes skipped.
    fn skip_to_record_start(&mut self) -> io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            let line = self.read_line(MAX_HEAD)?;
            if line.is_empty() {
                return Ok(skipped);
            }
            if line.starts_with(b"WARC/1.") {
                self.push_back(line);
                return Ok(skipped);
            }
            skipped += line.len() as u64;
        }
    }
}

/// The start of an ARC URL line (a scheme and `:`).
fn arc_start(line: &[u8]) -> bool {
    let scheme: Vec<u8> = line
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .copied()
        .collect();
    !scheme.is_empty() && line.get(scheme.len()) == Some(&b':')
}

/// Read the one record at `offset` of a file read before with this
/// compression: for a member shared by several records, the one with
/// `record_id` (the first when it is empty).
pub fn read_at(
    path: &Path,
    compression: Compression,
    offset: u64,
    record_id: &str,
    cap: usize,
) -> io::Result<Option<RawRecord>> {
    let mut file = File::open(path)?;
    let mut reader = Reader {
        cap,
        syntax: None,
        stream: compression == Compression::GzipStream,
    };
    match compression {
        Compression::GzipRecord => {
            file.seek(SeekFrom::Start(offset))?;
            let dec = GzDecoder::new(BufReader::new(file));
            let mut src = Source::new(BufReader::new(dec), 0);
            while let Some(parsed) = reader.next_record(&mut src)? {
                if let Parsed::Record(mut r) = parsed {
                    let id = r.header("WARC-Record-ID").unwrap_or_default();
                    if record_id.is_empty() || id == record_id || r.syntax == Syntax::Arc {
                        r.offset = offset;
                        return Ok(Some(r));
                    }
                }
            }
            Ok(None)
        }
        Compression::GzipStream => {
            let mut dec = flate2::read::MultiGzDecoder::new(BufReader::new(file));
            io::copy(&mut (&mut dec).take(offset), &mut io::sink())?;
            let mut src = Source::new(BufReader::new(dec), offset);
            first_record(&mut reader, &mut src)
        }
        Compression::None => {
            file.seek(SeekFrom::Start(offset))?;
            let mut src = Source::new(BufReader::new(file), offset);
            first_record(&mut reader, &mut src)
        }
    }
}

fn first_record<R: BufRead>(
    reader: &mut Reader,
    src: &mut Source<R>,
) -> io::Result<Option<RawRecord>> {
    match reader.next_record(src)? {
        Some(Parsed::Record(r)) => Ok(Some(r)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_dates_become_iso() {
        assert_eq!(arc_date("20240102030405"), "2024-01-02T03:04:05Z");
        assert_eq!(arc_date("20240102"), "2024-01-02T00:00:00Z");
    }

    #[test]
    fn arc_lines_of_both_versions_parse() {
        let v1 = arc_line("http://a.cn/x.html 10.0.0.1 20240102030405 text/html 202");
        assert_eq!(
            v1.map(|l| (l.url, l.length)),
            Some(("http://a.cn/x.html".into(), 202))
        );
        let v2 = arc_line("http://a.cn/ 10.0.0.1 20240102030405 text/html 200 - - 0 f.arc 9");
        assert_eq!(v2.map(|l| l.length), Some(9));
        assert!(arc_line("HTTP/1.1 200 OK").is_none());
    }
}
