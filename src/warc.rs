//! WARC/1.1 snapshots: what the server sent, kept byte for byte.
//!
//! One gzip member per record, so that any record can be read back from its
//! offset (what CDXJ indexes point to). Files are opened for appending only and
//! never rewritten; a writer always starts a fresh file and rolls over at a size
//! limit. A record is synced before its location is stored anywhere: after
//! each record, or (for the archive writer, which commits its index in
//! batches) once per batch before the commit, so a location stored elsewhere
//! always points at a complete record. A torn record
//! left at the end of a file by a killed process is cut off on the next open,
//! kept beside the file as `*.torn`, and never read as data.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use data_encoding::BASE32;
use flate2::{bufread::GzDecoder, write::GzEncoder, Compression};
use sha1::{Digest, Sha1};

mod digest;

/// Profile of a revisit whose payload equals an earlier capture's.
pub const PROFILE_IDENTICAL: &str =
    "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
/// Profile of a revisit answered `304 Not Modified`.
pub const PROFILE_NOT_MODIFIED: &str =
    "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

#[derive(Debug, thiserror::Error)]
pub enum WarcError {
    #[error("WARC file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("WARC file {path} at offset {offset}: not a WARC record ({why})")]
    Malformed {
        path: PathBuf,
        offset: u64,
        why: String,
    },
}

/// Where a record landed: enough to read it back and to cite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name inside the WARC directory.
    pub file: String,
    pub offset: u64,
    /// Compressed length of the record's gzip member.
    pub length: u64,
    pub record_id: String,
}

/// One HTTP exchange to snapshot.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    /// Percent-encoded absolute URI (`url::Url::as_str`).
    pub target_uri: &'a str,
    pub date: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    /// The request as sent: request line and headers, CRLF-terminated.
    pub request_head: &'a [u8],
    /// The response status line and headers as received, CRLF-terminated,
    /// without any `Transfer-Encoding` that was undone.
    pub response_head: &'a [u8],
    /// The entity body as received (after de-chunking, before any decompression).
    pub body: &'a [u8],
    /// `Some("length")` or `Some("time")` when the body was cut short.
    pub truncated: Option<&'a str>,
}

/// A revisit of a URL whose payload was already archived.
#[derive(Debug, Clone)]
pub struct Revisit<'a> {
    pub target_uri: &'a str,
    pub date: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub request_head: &'a [u8],
    pub response_head: &'a [u8],
    pub profile: &'a str,
    pub payload_digest: &'a str,
    pub refers_to_uri: &'a str,
    pub refers_to_date: &'a str,
    pub refers_to_record: Option<&'a str>,
}

/// The records written for one exchange.
#[derive(Debug, Clone)]
pub struct Written {
    pub response: Location,
    pub request: Location,
    pub payload_digest: String,
}

/// Told of each record a writer has written whole and of each file it has
/// finished with: what keeps an index of the files as they are written, so
/// that nothing has to read them back.
pub trait Observer: Send {
    /// `record.block` holds the head of the block only (its HTTP head, if
    /// any), not the payload.
    fn written(&mut self, file: &str, record: &Record, offset: u64, length: u64);
    /// No record will be added to the file at `path`.
    fn finished(&mut self, path: &Path);
}

/// Appends records to `.warc.gz` files in one directory.
pub struct WarcWriter {
    dir: PathBuf,
    max_file_bytes: u64,
    info: String,
    current: Option<OpenFile>,
    serial: u32,
    /// Sync after every record, or only when `sync` is called (a writer that
    /// commits its index in batches syncs once per batch, before the commit).
    sync_each: bool,
    /// Records written since the last sync.
    dirty: bool,
    damage: Vec<Damage>,
    observer: Option<Box<dyn Observer>>,
}

/// A damaged region of a WARC file, left in place and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: String,
    pub offset: u64,
    pub length: u64,
    /// The copy of the damaged bytes beside the file.
    pub kept_as: Option<PathBuf>,
    /// Target URIs still readable in the damaged bytes.
    pub urls: Vec<String>,
}

struct OpenFile {
    file: File,
    name: String,
    len: u64,
}

/// `sha1:` + base32 of the SHA-1 of `bytes`, as Heritrix and wget write it.
pub fn sha1_digest(bytes: &[u8]) -> String {
    digest_label(&Sha1::digest(bytes).into())
}

/// A SHA-1 as WARC digest headers write it: `sha1:` + base32.
fn digest_label(sha1: &[u8; 20]) -> String {
    format!("sha1:{}", BASE32.encode(sha1))
}

/// ISO 8601 UTC with seconds, the form WARC-Date and CDXJ timestamps share.
pub fn warc_date(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn new_record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

impl WarcWriter {
    /// Open the WARC directory, repairing a torn tail left by a killed writer.
    /// `info` is the `application/warc-fields` body of each file's warcinfo.
    pub fn open(dir: &Path, max_file_bytes: u64, info: String) -> Result<Self, WarcError> {
        Self::open_known(dir, max_file_bytes, info, &HashMap::new())
    }

    /// Open the WARC directory, reading each file only from `known_ends`
    /// (the end of its last indexed record) on: damage after it is copied
    /// aside and skipped, a torn tail is cut off.
    pub fn open_known(
        dir: &Path,
        max_file_bytes: u64,
        info: String,
        known_ends: &HashMap<String, u64>,
    ) -> Result<Self, WarcError> {
        std::fs::create_dir_all(dir).map_err(|source| WarcError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut damage = Vec::new();
        for path in warc_files(dir)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let from = known_ends.get(&name).copied().unwrap_or(0);
            damage.extend(repair_torn_tail(&path, from)?);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            max_file_bytes: max_file_bytes.max(1),
            info,
            current: None,
            serial: 0,
            sync_each: true,
            dirty: false,
            damage,
            observer: None,
        })
    }

    /// Tell `observer` of every record written from now on.
    pub fn observe(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// Done writing: the current file is finished (records synced first).
    pub fn finish(&mut self) -> Result<(), WarcError> {
        self.sync()?;
        self.close_file();
        Ok(())
    }

    fn close_file(&mut self) {
        if let (Some(open), Some(observer)) = (self.current.take(), self.observer.as_mut()) {
            observer.finished(&self.dir.join(&open.name));
        }
    }

    /// Leave syncing to `sync`: records are durable only after it returns.
    pub fn defer_sync(&mut self) {
        self.sync_each = false;
    }

    /// Make every record written so far durable.
    pub fn sync(&mut self) -> Result<(), WarcError> {
        if !self.dirty {
            return Ok(());
        }
        let dir = self.dir.clone();
        if let Some(open) = self.current.as_mut() {
            open.file.sync_data().map_err(|source| WarcError::Io {
                path: dir.join(&open.name),
                source,
            })?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Damaged regions found when the directory was opened.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write the `request` and `response` records of one exchange.
    pub fn write_exchange(&mut self, ex: &Exchange<'_>) -> Result<Written, WarcError> {
        self.append_exchange(prepare_exchange(ex))
    }

    /// Append the records of an exchange made ready by [`prepare_exchange`].
    pub fn append_exchange(&mut self, ex: PreparedExchange) -> Result<Written, WarcError> {
        let response = self.append(ex.response)?;
        let request = self.append(ex.request)?;
        Ok(Written {
            response,
            request,
            payload_digest: ex.payload_digest,
        })
    }

    /// Write a `revisit` record: the response headers only, pointing at the
    /// earlier capture that holds the payload.
    pub fn write_revisit(&mut self, rv: &Revisit<'_>) -> Result<Location, WarcError> {
        let id = new_record_id();
        let mut headers = vec![
            ("WARC-Type", "revisit".to_string()),
            ("WARC-Record-ID", id.clone()),
            ("WARC-Date", warc_date(rv.date)),
            ("WARC-Target-URI", rv.target_uri.to_string()),
            ("WARC-Profile", rv.profile.to_string()),
            ("WARC-Refers-To-Target-URI", rv.refers_to_uri.to_string()),
            ("WARC-Refers-To-Date", rv.refers_to_date.to_string()),
            ("WARC-Payload-Digest", rv.payload_digest.to_string()),
        ];
        if !rv.response_head.is_empty() {
            headers.push(("Content-Type", "application/http; msgtype=response".into()));
        }
        if let Some(refers) = rv.refers_to_record {
            headers.push(("WARC-Refers-To", refers.to_string()));
        }
        if let Some(ip) = rv.ip {
            headers.push(("WARC-IP-Address", ip.to_string()));
        }
        let location = self.write_record(&headers, rv.response_head)?;
        let request_headers = vec![
            ("WARC-Type", "request".to_string()),
            ("WARC-Record-ID", new_record_id()),
            ("WARC-Date", warc_date(rv.date)),
            ("WARC-Target-URI", rv.target_uri.to_string()),
            ("WARC-Concurrent-To", id),
            ("Content-Type", "application/http; msgtype=request".into()),
        ];
        self.write_record(&request_headers, rv.request_head)?;
        Ok(location)
    }

    fn write_record(
        &mut self,
        headers: &[(&str, String)],
        block: &[u8],
    ) -> Result<Location, WarcError> {
        self.append(prepare_record(
            headers,
            &[block],
            Sha1::digest(block).into(),
        ))
    }

    fn append(&mut self, record: PreparedRecord) -> Result<Location, WarcError> {
        let record_id = record
            .head
            .header("WARC-Record-ID")
            .unwrap_or_default()
            .to_string();
        let member = record.member;
        let max = self.max_file_bytes;
        if self
            .current
            .as_ref()
            .is_some_and(|f| f.len > 0 && f.len + member.len() as u64 > max)
        {
            // A file is closed only once its records are durable.
            self.sync()?;
            self.close_file();
        }
        if self.current.is_none() {
            self.start_file()?;
        }
        let dir = self.dir.clone();
        let Some(open) = self.current.as_mut() else {
            return Err(WarcError::Malformed {
                path: dir,
                offset: 0,
                why: "no open WARC file".into(),
            });
        };
        let offset = open.len;
        let sync_each = self.sync_each;
        let written = open.file.write_all(&member).and_then(|()| {
            if sync_each {
                open.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(source) = written {
            // A partial member (full disk) must not stay in front of later ones.
            let _ = open.file.set_len(offset);
            // The whole records before it may still wait for a batch's sync.
            let _ = open.file.sync_data();
            let path = dir.join(&open.name);
            self.current = None;
            return Err(WarcError::Io { path, source });
        }
        open.len += member.len() as u64;
        self.dirty = !sync_each;
        let location = Location {
            file: open.name.clone(),
            offset,
            length: member.len() as u64,
            record_id,
        };
        if let Some(observer) = self.observer.as_mut() {
            observer.written(&location.file, &record.head, offset, location.length);
        }
        Ok(location)
    }

    fn start_file(&mut self) -> Result<(), WarcError> {
        let name = loop {
            self.serial += 1;
            let name = format!(
                "NIANBAO-{}-{:05}-{}.warc.gz",
                Utc::now().format("%Y%m%d%H%M%S"),
                self.serial,
                std::process::id()
            );
            if !self.dir.join(&name).exists() {
                break name;
            }
        };
        let path = self.dir.join(&name);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|source| WarcError::Io {
                path: path.clone(),
                source,
            })?;
        self.current = Some(OpenFile {
            file,
            name: name.clone(),
            len: 0,
        });
        let headers = vec![
            ("WARC-Type", "warcinfo".to_string()),
            ("WARC-Record-ID", new_record_id()),
            ("WARC-Date", warc_date(Utc::now())),
            ("WARC-Filename", name),
            ("Content-Type", "application/warc-fields".into()),
        ];
        let info = self.info.clone();
        self.write_record(&headers, info.as_bytes()).map(|_| ())
    }
}

/// The records of one exchange made ready to append: digested and
/// compressed, which is nearly all the cost of writing them, so that this can
/// run on any thread while the files' one owner only appends.
pub struct PreparedExchange {
    response: PreparedRecord,
    request: PreparedRecord,
    payload_digest: String,
}

/// One record as its gzip member, with what an [`Observer`] is told of it.
struct PreparedRecord {
    member: Vec<u8>,
    /// The record's headers, and the head of its block only.
    head: Record,
}

/// Digest and compress the `response` and `request` records of an exchange.
pub fn prepare_exchange(ex: &Exchange<'_>) -> PreparedExchange {
    let (payload, block) = digest::payload_and_block(ex.response_head, ex.body);
    let payload_digest = digest_label(&payload);
    let response_id = new_record_id();
    let request_id = new_record_id();
    let date = warc_date(ex.date);

    let mut headers = vec![
        ("WARC-Type", "response".to_string()),
        ("WARC-Record-ID", response_id.clone()),
        ("WARC-Date", date.clone()),
        ("WARC-Target-URI", ex.target_uri.to_string()),
        ("Content-Type", "application/http; msgtype=response".into()),
        ("WARC-Payload-Digest", payload_digest.clone()),
    ];
    if let Some(ip) = ex.ip {
        headers.push(("WARC-IP-Address", ip.to_string()));
    }
    if let Some(why) = ex.truncated {
        headers.push(("WARC-Truncated", why.to_string()));
    }
    let response = prepare_record(&headers, &[ex.response_head, ex.body], block);

    let mut headers = vec![
        ("WARC-Type", "request".to_string()),
        ("WARC-Record-ID", request_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", ex.target_uri.to_string()),
        ("WARC-Concurrent-To", response_id),
        ("Content-Type", "application/http; msgtype=request".into()),
    ];
    if let Some(ip) = ex.ip {
        headers.push(("WARC-IP-Address", ip.to_string()));
    }
    let request = prepare_record(
        &headers,
        &[ex.request_head],
        Sha1::digest(ex.request_head).into(),
    );
    PreparedExchange {
        response,
        request,
        payload_digest,
    }
}

/// A record whose block is `parts` one after the other, as its gzip member:
/// written straight into the compressor, never copied whole. `digest` is the
/// SHA-1 of the block.
fn prepare_record(headers: &[(&str, String)], parts: &[&[u8]], digest: [u8; 20]) -> PreparedRecord {
    let length: usize = parts.iter().map(|p| p.len()).sum();
    let mut head = String::with_capacity(512);
    head.push_str("WARC/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n"));
    head.push_str(&format!(
        "WARC-Block-Digest: {}\r\n\r\n",
        digest_label(&digest)
    ));
    let mut block = Vec::with_capacity(parts.len() + 2);
    block.push(head.as_bytes());
    block.extend_from_slice(parts);
    block.push(b"\r\n\r\n");
    PreparedRecord {
        member: gzip_member(&block, length / 4 + 512),
        head: Record {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            block: parts
                .first()
                .map(|p| split_head(p).0.to_vec())
                .unwrap_or_default(),
        },
    }
}

thread_local! {
    /// This thread's igzip state (about 0.4 MB), made once and reset after
    /// each member: making it anew cost more than compressing a request.
    static IGZIP: RefCell<Option<isal::write::Encoder<Vec<u8>>>> = const { RefCell::new(None) };
}

/// `parts` one after the other as one gzip member, by ISA-L's igzip at
/// level 1: three times as fast as zlib's fastest level on a report page,
/// and smaller. Should igzip ever fail, the member is made by zlib instead
/// and this thread's igzip state is made anew.
fn gzip_member(parts: &[&[u8]], capacity: usize) -> Vec<u8> {
    let fast = IGZIP.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let enc = slot.get_or_insert_with(|| {
            isal::write::Encoder::new(Vec::new(), isal::CompressionLevel::One, isal::Codec::Gzip)
        });
        *enc.get_ref_mut() = Vec::with_capacity(capacity);
        let written = parts
            .iter()
            .try_for_each(|part| enc.write_all(part))
            .and_then(|()| enc.flush());
        let member = std::mem::take(enc.get_ref_mut());
        match written {
            Ok(()) => Some(member),
            Err(e) => {
                tracing::warn!("igzip failed ({e}); this record is compressed by zlib");
                *slot = None;
                None
            }
        }
    });
    fast.unwrap_or_else(|| {
        let mut enc = GzEncoder::new(Vec::with_capacity(capacity), Compression::fast());
        // Writing into a Vec cannot fail.
        for part in parts {
            let _ = enc.write_all(part);
        }
        enc.finish().unwrap_or_default()
    })
}

/// All `.warc.gz` files of a directory, oldest name first.
pub fn warc_files(dir: &Path) -> Result<Vec<PathBuf>, WarcError> {
    let io_err = |source| WarcError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    files.sort();
    Ok(files)
}

/// Counts the bytes pulled from the file, so member boundaries are known.
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

/// The gzip members of a WARC file.
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// Offset and compressed length of each complete member.
    pub spans: Vec<(u64, u64)>,
    /// End of the last complete member; bytes after it are torn.
    pub good_end: u64,
    /// Size of the file.
    pub size: u64,
    /// Damaged regions (offset, length) between complete members: skipped
    /// by resynchronising at the next member, never cut out of the file.
    pub damaged: Vec<(u64, u64)>,
}

/// Find the complete gzip members of a file.
pub fn members(path: &Path) -> Result<Members, WarcError> {
    members_from(path, 0)
}

/// Find the complete gzip members of a file from byte `start` on (a member
/// boundary, such as the end of the last indexed record).
pub fn members_from(path: &Path, start: u64) -> Result<Members, WarcError> {
    let io_err = |source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut found = Vec::new();
    let mut good_end = start.min(size);
    file.seek(SeekFrom::Start(good_end)).map_err(io_err)?;
    let mut reader = BufReader::new(Counting {
        inner: file,
        count: good_end,
    });
    let mut damaged = Vec::new();
    loop {
        let at_end = reader.fill_buf().map(|b| b.is_empty()).unwrap_or(true);
        if at_end {
            break;
        }
        let begin = reader.get_ref().count - reader.buffer().len() as u64;
        let mut dec = GzDecoder::new(&mut reader);
        let whole = io::copy(&mut dec, &mut io::sink()).is_ok();
        drop(dec);
        let end = reader.get_ref().count - reader.buffer().len() as u64;
        if whole && end > begin {
            found.push((begin, end - begin));
            good_end = end;
            continue;
        }
        // A member that does not inflate: damage if a whole record follows,
        // a torn tail if none does.
        let Some(next) = next_member(path, begin + 1).map_err(io_err)? else {
            break;
        };
        damaged.push((begin, next - begin));
        let mut file = File::open(path).map_err(io_err)?;
        file.seek(SeekFrom::Start(next)).map_err(io_err)?;
        reader = BufReader::new(Counting {
            inner: file,
            count: next,
        });
    }
    Ok(Members {
        spans: found,
        good_end,
        size,
        damaged,
    })
}

/// The offset of the first whole WARC record member at or after `from`: a
/// gzip header that inflates, CRC and all, to a `WARC/` record.
fn next_member(path: &Path, from: u64) -> io::Result<Option<u64>> {
    const MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut window = vec![0u8; 1 << 16];
    let mut carried = 0usize;
    let mut base = from;
    loop {
        let n = file.read(window.get_mut(carried..).unwrap_or_default())?;
        if n == 0 {
            return Ok(None);
        }
        let filled = carried + n;
        let view = window.get(..filled).unwrap_or_default();
        for i in memchr::memmem::find_iter(view, &MAGIC) {
            let at = base + i as u64;
            if is_record_member(path, at)? {
                return Ok(Some(at));
            }
        }
        // Keep the last two bytes: a header may straddle two reads.
        let keep = filled.min(MAGIC.len() - 1);
        window.copy_within(filled - keep..filled, 0);
        base += (filled - keep) as u64;
        carried = keep;
    }
}

fn is_record_member(path: &Path, at: u64) -> io::Result<bool> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(at))?;
    let mut dec = GzDecoder::new(BufReader::new(file));
    let mut head = [0u8; 5];
    if dec.read_exact(&mut head).is_err() || &head != b"WARC/" {
        return Ok(false);
    }
    Ok(io::copy(&mut dec, &mut io::sink()).is_ok())
}

/// Cut a torn last record off a file, keeping the cut bytes beside it;
/// copy damaged regions before it aside and report them. Reads the file from
/// `from` (a member boundary) on.
fn repair_torn_tail(path: &Path, from: u64) -> Result<Vec<Damage>, WarcError> {
    let Members {
        good_end,
        size,
        damaged,
        ..
    } = members_from(path, from).or_else(|_| members(path))?;
    let damage = damaged
        .iter()
        .map(|&(offset, length)| quarantine(path, offset, length))
        .collect::<Result<Vec<_>, _>>()?;
    let io_err = |source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    };
    if size == 0 {
        // Made by a process killed before its first record: holds nothing.
        return remove_empty(path).map_err(io_err).map(|()| damage);
    }
    if good_end >= size {
        return Ok(damage);
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err)?;
    file.seek(SeekFrom::Start(good_end)).map_err(io_err)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io_err)?;
    let torn = path.with_extension(format!("torn-{}", Utc::now().format("%Y%m%d%H%M%S")));
    std::fs::write(&torn, &tail).map_err(|source| WarcError::Io {
        path: torn.clone(),
        source,
    })?;
    file.set_len(good_end).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    tracing::warn!(file = %path.display(), bytes = tail.len(), kept = %torn.display(), "torn WARC record cut off");
    if good_end == 0 {
        drop(file);
        remove_empty(path).map_err(io_err)?;
    }
    Ok(damage)
}

/// Remove a WARC file that holds no record (and its index, as empty), so
/// that no reader meets a `.warc.gz` that is not gzip.
fn remove_empty(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)?;
    let index = path.with_extension("gz.cdxj");
    if std::fs::metadata(&index).is_ok_and(|m| m.len() == 0) {
        std::fs::remove_file(&index)?;
    }
    tracing::warn!(file = %path.display(), "WARC file without a record removed");
    Ok(())
}

/// Copy a damaged region beside its file (`<file>.damaged-<offset>`) and
/// read what URLs it still names. The file itself is left as it is.
fn quarantine(path: &Path, offset: u64, length: u64) -> Result<Damage, WarcError> {
    let io_err = |source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(length).read_to_end(&mut bytes).map_err(io_err)?;
    let kept = path.with_extension(format!("gz.damaged-{offset}"));
    let kept_as = if kept.exists() {
        Some(kept)
    } else {
        match std::fs::write(&kept, &bytes) {
            Ok(()) => Some(kept),
            Err(e) => {
                tracing::warn!(file = %kept.display(), error = %e, "cannot keep a copy of a damaged WARC region");
                None
            }
        }
    };
    Ok(Damage {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        offset,
        length,
        kept_as,
        urls: readable_uris(&bytes),
    })
}

/// `WARC-Target-URI`s in what still inflates of damaged members.
fn readable_uris(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(bytes, &[0x1f, 0x8b, 0x08]) {
        let mut text = Vec::new();
        let mut dec = flate2::read::GzDecoder::new(bytes.get(at..).unwrap_or_default());
        // Small reads: a read that meets the damage returns an error and
        // nothing of what it inflated, so each gives back little.
        let mut buf = [0u8; 64];
        // Read what inflates before the damage.
        while let Ok(n) = dec.read(&mut buf) {
            if n == 0 || text.len() > 64 * 1024 {
                break;
            }
            text.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        let head = String::from_utf8_lossy(split_head(&text).0).into_owned();
        if let Some(uri) = head
            .lines()
            .find_map(|l| l.strip_prefix("WARC-Target-URI:"))
            .map(|u| u.trim().to_string())
        {
            if !out.contains(&uri) {
                out.push(uri);
            }
        }
    }
    out
}

/// A record read back from a file.
#[derive(Debug, Clone)]
pub struct Record {
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// For an `application/http` block: the HTTP head and the entity body.
    pub fn http_parts(&self) -> (&[u8], &[u8]) {
        split_head(&self.block)
    }
}

/// The status code and header lines of an HTTP response head.
pub fn parse_http_head(head: &[u8]) -> (u16, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Split an HTTP message at the blank line ending its head.
pub fn split_head(message: &[u8]) -> (&[u8], &[u8]) {
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => message.split_at(i + 4),
        None => (message, &[]),
    }
}

/// Read the record whose gzip member starts at `offset`.
pub fn read_record(path: &Path, offset: u64) -> Result<Record, WarcError> {
    let io_err = |source| WarcError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let mut bytes = Vec::new();
    GzDecoder::new(BufReader::new(file))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    parse_record(&bytes).ok_or_else(|| WarcError::Malformed {
        path: path.to_path_buf(),
        offset,
        why: "no WARC/1.1 header block".into(),
    })
}

/// Every record of a file, in order.
pub fn read_all(path: &Path) -> Result<Vec<(u64, Record)>, WarcError> {
    members(path)?
        .spans
        .into_iter()
        .map(|(offset, _)| read_record(path, offset).map(|r| (offset, r)))
        .collect()
}

fn parse_record(bytes: &[u8]) -> Option<Record> {
    let (head, rest) = split_head(bytes);
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    if !lines.next()?.starts_with("WARC/") {
        return None;
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))?
        .1
        .parse()
        .ok()?;
    let block = rest.get(..len)?.to_vec();
    Some(Record { headers, block })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member one thread's igzip state makes holds exactly its parts:
    /// the state reset between members carries nothing from one to the next.
    #[test]
    fn members_made_one_after_another_each_hold_their_parts_alone() {
        let page: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("<td>{}</td>", i % 977).into_bytes())
            .collect();
        let cases: [&[&[u8]]; 4] = [
            &[b"WARC/1.1\r\n\r\n", &page, b"\r\n\r\n"],
            &[b"GET / HTTP/1.1\r\n\r\n"],
            &[b"", b"a", b"", b"bc"],
            &[&page[..100_000], &page[100_000..]],
        ];
        for parts in cases.iter().chain(cases.iter()) {
            let member = gzip_member(parts, 0);
            let mut back = Vec::new();
            let mut gz = GzDecoder::new(member.as_slice());
            gz.read_to_end(&mut back).expect("a whole gzip member");
            assert_eq!(back, parts.concat());
            // One member: nothing follows its trailer.
            let rest = gz.into_inner();
            assert!(rest.is_empty(), "{} bytes after the member", rest.len());
        }
    }

    /// A file made by a process killed before its first record was whole
    /// (empty, or holding half a record) is no WARC file: it is removed, the
    /// torn bytes kept aside, and every file left is whole gzip.
    #[test]
    fn a_file_holding_no_whole_record_is_removed_on_open() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let member = gzip_member(&[b"WARC/1.1\r\nWARC-Type: warcinfo\r\n\r\n"], 0);
        let empty = dir.path().join("A-00001.warc.gz");
        let torn = dir.path().join("B-00001.warc.gz");
        let whole = dir.path().join("C-00001.warc.gz");
        std::fs::write(&empty, b"").expect("write");
        std::fs::write(&torn, &member[..member.len() / 2]).expect("write");
        std::fs::write(&whole, &member).expect("write");
        WarcWriter::open_known(dir.path(), u64::MAX, String::new(), &HashMap::new())
            .expect("the directory opens");
        assert!(!empty.exists() && !torn.exists());
        assert_eq!(std::fs::read(&whole).expect("kept"), member);
        assert_eq!(warc_files(dir.path()).expect("listed"), vec![whole]);
        let kept_aside = std::fs::read_dir(dir.path())
            .expect("listed")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().contains(".torn-"))
            })
            .count();
        assert_eq!(kept_aside, 1, "the torn half record is kept aside");
    }
}
