//! `tinyopt serve`: a small static file server for the playground, so running the
//! page needs nothing beyond this binary (no Python, no Node). Loopback only by default.
//!
//! It serves the page and nothing else (see [`allowed`]), and bounds what one client
//! can cost: the request head is read through a cap and a deadline, responses have a
//! deadline too, and a fixed pool of workers serves the connections (see [`serve`]).
//! `Last-Modified` / `If-Modified-Since` let a reload skip refetching the model.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tinyopt::clock::now_ms;

/// Longest request line (method, target, version) read; longer gets 414.
const MAX_REQUEST_LINE: usize = 8 * 1024;
/// All header lines together; more bytes or more lines get 431.
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADER_LINES: usize = 100;
/// The whole request head must arrive within this, however slowly it is dripped in.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// A client that takes no data for this long is dropped...
const IO_STEP: Duration = Duration::from_secs(10);
/// ...and one that takes longer than this for a whole response too (the 3.4 MB model
/// then needs about 60 KB/s, far below any link the page is useful on).
const RESPONSE_DEADLINE: Duration = Duration::from_secs(60);
/// After an error answer, how long and how much we keep reading (see [`linger`]).
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;
/// Workers serving connections, and accepted connections that may wait for one.
const WORKERS: usize = 8;
const QUEUE: usize = 32;

/// Top-level files of the page, some of which only a static build adds.
const SITE_FILES: &[&str] = &[
    "index.html",
    "sw.js",
    "favicon.ico",
    "manifest.webmanifest",
    "_headers",
];
/// Folders the page loads from: its modules, the wasm-pack output, the models, the
/// leaderboard (its ranking and the submitted records, public by design).
const SITE_DIRS: &[&str] = &["www", "pkg", "models", "leaderboard"];

/// What the root folder is, which decides what is reachable (see [`allowed`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// A repository checkout (has `Cargo.toml`): sources, build output and `.git`
    /// sit next to the page.
    Checkout,
    /// A built site folder (`index.html`, no `Cargo.toml`): all of it is the site.
    Site,
}

/// Whether a path below the root (its `/`-separated segments) may be served.
///
/// A checkout also holds `.git/` (with remote URLs, sometimes tokens), sources,
/// `target/` and whatever else lies around, none of which the page needs, so there
/// only the page's own files are reachable. It is an allow-list, not a deny-list, so
/// a new stray file stays private. Dotfiles are never served, in either layout; that
/// also refuses `..`. Applied to the requested path and again to the file it resolves
/// to, so a symlink cannot lead from an allowed folder to a private file.
fn allowed(layout: Layout, segs: &[&str]) -> bool {
    if segs
        .iter()
        .any(|s| s.is_empty() || s.starts_with('.') || s.contains(['\\', '\0']))
    {
        return false;
    }
    match (layout, segs) {
        (Layout::Site, _) | (Layout::Checkout, []) => true,
        (Layout::Checkout, [file]) => SITE_FILES.contains(file),
        (Layout::Checkout, [dir, ..]) => SITE_DIRS.contains(dir),
    }
}

/// The folder being served, canonicalized, and what kind of folder it is.
struct Site {
    root: PathBuf,
    layout: Layout,
}

impl Site {
    fn open(root: &Path) -> Result<Site, String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("cannot serve {}: {e}", root.display()))?;
        if !root.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html: run from the repository root or pass --root",
                root.display()
            ));
        }
        let layout = if root.join("Cargo.toml").exists() {
            Layout::Checkout
        } else {
            Layout::Site
        };
        Ok(Site { root, layout })
    }
}

pub fn run(root: &Path, host: &str, port: u16) -> Result<(), String> {
    let site = Site::open(root)?;
    if site.layout == Layout::Checkout && !site.root.join("www/pkg/tinyopt.js").exists() {
        eprintln!("warning: www/pkg/ is missing: build the wasm first (scripts/run.sh does)");
    }
    let listener = TcpListener::bind((host, port))
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let what = match site.layout {
        Layout::Checkout => "a checkout: only the page's files",
        Layout::Site => "a site folder: every file but dotfiles",
    };
    eprintln!(
        "serving http://{addr}/ from {} ({what}); Ctrl+C to stop",
        site.root.display()
    );
    serve(listener, site).map_err(|e| format!("serve: {e}"))
}

/// Serves `site` on a bound listener; `run` binds the user's address, tests port 0.
///
/// A fixed pool of [`WORKERS`] threads takes connections from a queue of [`QUEUE`].
/// When the queue is full the acceptor answers 503 at once rather than waiting: it
/// never blocks, so a burst of stuck clients shows up as quick, visible errors instead
/// of every later visitor hanging. A browser opens at most 6 connections per host, so
/// the page alone never fills the queue.
fn serve(listener: TcpListener, site: Site) -> io::Result<()> {
    let site = Arc::new(site);
    let (tx, rx) = sync_channel::<TcpStream>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let (rx, site) = (Arc::clone(&rx), Arc::clone(&site));
        std::thread::Builder::new()
            .name(format!("serve-{i}"))
            .spawn(move || worker(&rx, &site))?;
    }
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => match tx.try_send(stream) {
                Ok(()) => {}
                Err(TrySendError::Full(stream)) => busy(stream),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(io::Error::other("all workers are gone"))
                }
            },
            // Out of descriptors and the like: pause rather than spin.
            Err(e) => {
                eprintln!("accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Ok(())
}

fn worker(rx: &Mutex<Receiver<TcpStream>>, site: &Site) {
    loop {
        // The lock is held while waiting for a connection, never while serving one.
        let Ok(Ok(stream)) = rx.lock().map(|rx| rx.recv()) else {
            return;
        };
        // A bug in one request must not shrink the pool.
        if std::panic::catch_unwind(AssertUnwindSafe(|| handle(stream, site))).is_err() {
            eprintln!("serve: a request panicked");
        }
    }
}

/// The answer when every worker is busy and the queue is full: short, and never
/// allowed to block the acceptor for long.
fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    eprintln!("- - 503 (all workers busy)");
}

/// A point in time after which reads and writes on a connection fail.
#[derive(Clone, Copy)]
struct Deadline(f64);

impl Deadline {
    fn after(d: Duration) -> Deadline {
        Deadline(now_ms() + d.as_secs_f64() * 1e3)
    }

    /// Time left, capped at [`IO_STEP`]; `None` once passed.
    fn left(self) -> Option<Duration> {
        let ms = self.0 - now_ms();
        (ms >= 1.0).then(|| Duration::from_secs_f64(ms / 1e3).min(IO_STEP))
    }
}

/// A connection whose every read and write is bounded by a deadline, so a client
/// dripping one byte at a time cannot hold a worker past it.
struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Deadline,
}

fn timed_out() -> io::Error {
    io::Error::new(ErrorKind::TimedOut, "deadline passed")
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream
            .set_read_timeout(Some(self.deadline.left().ok_or_else(timed_out)?))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream
            .set_write_timeout(Some(self.deadline.left().ok_or_else(timed_out)?))?;
        let mut stream = self.stream;
        stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How reading a request head ended, when no request came of it.
#[derive(Debug, PartialEq)]
enum Fail {
    /// Answer with this status, then close.
    Status(u16),
    /// The client left or the connection broke: nothing to answer.
    Gone,
}

#[derive(Debug)]
struct Request {
    method: String,
    target: String,
    /// `If-Modified-Since`, in seconds since the epoch, when present and readable.
    since: Option<u64>,
}

fn handle(stream: TcpStream, site: &Site) {
    let mut reader = BufReader::new(Timed {
        stream: &stream,
        deadline: Deadline::after(HEAD_DEADLINE),
    });
    let head = read_head(&mut reader);
    drop(reader);
    let mut out = Timed {
        stream: &stream,
        deadline: Deadline::after(RESPONSE_DEADLINE),
    };
    match head {
        Ok(req) => {
            // 0 in the log: the answer could not be written (client gone or too slow).
            let status = respond(&mut out, site, &req).unwrap_or(0);
            let shown: String = req.target.chars().take(120).collect();
            eprintln!("{} {shown} {}", req.method, status);
            if !matches!(status, 200 | 304) {
                linger(&stream);
            }
        }
        Err(Fail::Status(code)) => {
            eprintln!("- - {code}");
            let _ = send_text(&mut out, code, &[], false);
            linger(&stream);
        }
        Err(Fail::Gone) => {}
    }
}

/// Closing a socket with unread input makes the kernel send a reset, which can
/// destroy the answer before the client reads it; after an error the client may
/// well still be sending (the rest of a 1 MB request line). So stop writing, read
/// and drop a bounded amount for a short while, then close.
fn linger(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let mut rest = Timed {
        stream,
        deadline: Deadline::after(LINGER),
    };
    let mut buf = [0u8; 8192];
    let mut left = LINGER_BYTES;
    while left > 0 {
        match rest.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// How [`read_line_capped`] stopped.
#[derive(Debug, PartialEq)]
enum Line {
    /// A whole line, now in the buffer without its `\r\n` or `\n`.
    Done,
    /// The input ended before a line end.
    Eof,
    /// The line is longer than the cap; the rest of it was not read.
    TooLong,
}

/// Reads one line into `buf`, never holding more than `cap` bytes of it: the
/// request head comes from the network, so its size is the client's choice.
fn read_line_capped(r: &mut impl BufRead, cap: usize, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    loop {
        let avail = match r.fill_buf() {
            Ok(avail) => avail,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(Line::Eof);
        }
        let end = avail.iter().position(|&b| b == b'\n');
        let take = end.unwrap_or(avail.len());
        if buf.len() + take > cap {
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&avail[..take]);
        r.consume(end.map_or(take, |i| i + 1));
        if end.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Line::Done);
        }
    }
}

fn io_fail(e: io::Error) -> Fail {
    match e.kind() {
        // SO_RCVTIMEO reports as WouldBlock on Unix.
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Fail::Status(408),
        _ => Fail::Gone,
    }
}

/// Reads the request line and headers within [`MAX_REQUEST_LINE`],
/// [`MAX_HEADER_BYTES`] and [`MAX_HEADER_LINES`]; keeps only what we use.
fn read_head(r: &mut impl BufRead) -> Result<Request, Fail> {
    let mut line = Vec::new();
    // A connection that never sent a byte (a browser's speculative preconnect) is
    // closed quietly: a 408 there could cross a request the browser just sent.
    let first = match read_line_capped(r, MAX_REQUEST_LINE, &mut line) {
        Err(_) if line.is_empty() => return Err(Fail::Gone),
        read => read.map_err(io_fail)?,
    };
    match first {
        Line::Done => {}
        Line::Eof if line.is_empty() => return Err(Fail::Gone),
        Line::Eof => return Err(Fail::Status(400)),
        Line::TooLong => return Err(Fail::Status(414)),
    }
    let text = std::str::from_utf8(&line).map_err(|_| Fail::Status(400))?;
    let [method, target, version] = text
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| Fail::Status(400))?;
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(Fail::Status(400));
    }
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        since: None,
    };
    let mut budget = MAX_HEADER_BYTES;
    for _ in 0..=MAX_HEADER_LINES {
        match read_line_capped(r, budget, &mut line).map_err(io_fail)? {
            Line::Done => {}
            Line::Eof => return Err(Fail::Status(400)),
            Line::TooLong => return Err(Fail::Status(431)),
        }
        if line.is_empty() {
            return Ok(req);
        }
        budget = budget.saturating_sub(line.len() + 2);
        // Folded continuation lines are obsolete (RFC 9112 §5.2): refuse them.
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(Fail::Status(400));
        }
        let colon = line.iter().position(|&b| b == b':');
        let Some(colon) = colon.filter(|&c| c > 0 && !line[c - 1].is_ascii_whitespace()) else {
            return Err(Fail::Status(400));
        };
        if line[..colon].eq_ignore_ascii_case(b"if-modified-since") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            req.since = parse_http_date(value.trim());
        }
    }
    Err(Fail::Status(431))
}

/// Where a request path leads.
enum Target {
    File(PathBuf, Metadata),
    /// A folder asked for without its trailing `/`: relative links need it.
    Slash,
    NotFound,
}

/// Maps a request path (no query) to a file under the root, refusing anything
/// [`allowed`] refuses, before and after following symlinks.
fn resolve(site: &Site, path: &str) -> Target {
    let Some(decoded) = percent_decode(path) else {
        return Target::NotFound;
    };
    let segs: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    if !allowed(site.layout, &segs) {
        return Target::NotFound;
    }
    let mut file = site.root.clone();
    file.extend(&segs);
    if file.is_dir() {
        if !decoded.ends_with('/') {
            return Target::Slash;
        }
        file.push("index.html");
    }
    let Ok(real) = file.canonicalize() else {
        return Target::NotFound;
    };
    let Some(rel) = real
        .strip_prefix(&site.root)
        .ok()
        .and_then(|rel| rel.iter().map(|s| s.to_str()).collect::<Option<Vec<_>>>())
    else {
        return Target::NotFound;
    };
    if !allowed(site.layout, &rel) {
        return Target::NotFound;
    }
    match real.metadata() {
        Ok(meta) if meta.is_file() => Target::File(real, meta),
        _ => Target::NotFound,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Answers a parsed request; returns the status sent.
fn respond(out: &mut impl Write, site: &Site, req: &Request) -> io::Result<u16> {
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        return send_text(out, 405, &[("Allow", "GET, HEAD")], false);
    }
    // Origin-form only, in printable ASCII (which also keeps it safe to log and to
    // echo in a Location header).
    if !req.target.starts_with('/') || !req.target.bytes().all(|b| b.is_ascii_graphic()) {
        return send_text(out, 400, &[], head_only);
    }
    let path = req.target.split(['?', '#']).next().unwrap_or("/");
    let (file, meta) = match resolve(site, path) {
        Target::File(file, meta) => (file, meta),
        Target::Slash => {
            // One leading slash: `//host/x` would send the browser to another host.
            let location = format!("/{}/", path.trim_start_matches('/'));
            return send_text(out, 301, &[("Location", &location)], head_only);
        }
        Target::NotFound => return send_text(out, 404, &[], head_only),
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let last_modified = http_date(modified);
    if req.since.is_some_and(|since| modified <= since) {
        write_head(out, 304, &[("Last-Modified", &last_modified)])?;
        return Ok(304);
    }
    let Ok(body) = File::open(&file) else {
        return send_text(out, 404, &[], head_only);
    };
    let len = meta.len();
    write_head(
        out,
        200,
        &[
            ("Content-Type", content_type(&file)),
            ("Content-Length", &len.to_string()),
            ("Last-Modified", &last_modified),
        ],
    )?;
    if !head_only {
        // Content-Length promised `len` bytes: send no more even if the file grew.
        let mut body = body.take(len);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
        }
    }
    Ok(200)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Sent with every answer. Cross-origin isolation (COOP + COEP) lets the page read
/// `performance.now()` at microsecond precision instead of Chrome's coarse 100 µs;
/// CORP keeps other origins from embedding our files. `no-cache` means "revalidate":
/// the browser keeps its copy and asks with `If-Modified-Since`. One request per
/// connection keeps the workers simple.
const COMMON: &str = "Cache-Control: no-cache\r\n\
X-Content-Type-Options: nosniff\r\n\
Cross-Origin-Opener-Policy: same-origin\r\n\
Cross-Origin-Embedder-Policy: require-corp\r\n\
Cross-Origin-Resource-Policy: same-origin\r\n\
Connection: close\r\n";

fn write_head(out: &mut impl Write, code: u16, fields: &[(&str, &str)]) -> io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nDate: {}\r\n",
        reason(code),
        http_date(now)
    );
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(COMMON);
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
}

/// An answer whose body is its status line in words (for errors and redirects).
fn send_text(
    out: &mut impl Write,
    code: u16,
    fields: &[(&str, &str)],
    head_only: bool,
) -> io::Result<u16> {
    let body = format!("{code} {}\n", reason(code));
    let len = body.len().to_string();
    let mut all = vec![
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", len.as_str()),
    ];
    all.extend_from_slice(fields);
    write_head(out, code, &all)?;
    if !head_only {
        out.write_all(body.as_bytes())?;
    }
    Ok(code)
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "txt" | "md" => "text/plain; charset=utf-8",
        // .safetensors included: raw bytes the page reads with fetch().arrayBuffer().
        _ => "application/octet-stream",
    }
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn month_days(year: u64, month: usize) -> u64 {
    match month {
        1 => 28 + u64::from(is_leap(year)),
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}

/// Seconds since the epoch as an IMF-fixdate (RFC 7231 §7.1.1.1), the only date
/// format HTTP senders may use: `Sun, 06 Nov 1994 08:49:37 GMT`. Walks years and
/// months: a few hundred steps at most, and plainly right.
fn http_date(secs: u64) -> String {
    let mut days = secs / 86_400;
    let weekday = WEEKDAYS[(days % 7) as usize]; // 1970-01-01 was a Thursday
    let mut year = 1970;
    while days >= 365 + u64::from(is_leap(year)) {
        days -= 365 + u64::from(is_leap(year));
        year += 1;
    }
    let mut month = 0; // 0-based
    while days >= month_days(year, month) {
        days -= month_days(year, month);
        month += 1;
    }
    let t = secs % 86_400;
    format!(
        "{weekday}, {:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        days + 1,
        MONTHS[month],
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Reads an IMF-fixdate back into seconds since the epoch; `None` for anything
/// else (the obsolete RFC 850 and asctime forms included), which then simply
/// disables the conditional answer.
fn parse_http_date(s: &str) -> Option<u64> {
    let [weekday, day, month, year, time, zone] = s
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .ok()?;
    let number = |s: &str, digits: usize| -> Option<u64> {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if !WEEKDAYS.contains(&weekday.strip_suffix(',')?) || zone != "GMT" {
        return None;
    }
    let month = MONTHS.iter().position(|&m| m == month)?;
    let (year, day) = (number(year, 4)?, number(day, 2)?);
    let [h, m, sec] = time.split(':').collect::<Vec<_>>().try_into().ok()?;
    let (h, m, sec) = (number(h, 2)?, number(m, 2)?, number(sec, 2)?);
    if year < 1970 || day == 0 || day > month_days(year, month) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut days = day - 1;
    days += (1970..year)
        .map(|y| 365 + u64::from(is_leap(y)))
        .sum::<u64>();
    days += (0..month).map(|mo| month_days(year, mo)).sum::<u64>();
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    /// A fresh folder under the system temp dir, named per test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tinyopt-serve-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn put(root: &Path, rel: &str, body: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// A checkout-shaped folder: the page's files plus the private ones around them.
    fn checkout(name: &str) -> PathBuf {
        let root = scratch(name);
        for (rel, body) in [
            ("index.html", "<!doctype html>"),
            ("www/app.js", "export {};"),
            ("www/.env", "SECRET=1"),
            ("pkg/tinyopt_bg.wasm", "\0asm"),
            ("models/m.safetensors", "weights"),
            ("Cargo.toml", "[package]"),
            (".git/config", "[remote]"),
            ("src/lib.rs", "// source"),
            ("target/x", "build"),
            ("notes.txt", "private"),
        ] {
            put(&root, rel, body);
        }
        #[cfg(unix)]
        {
            let outside = scratch(&format!("{name}-outside"));
            put(&outside, "secret.txt", "outside");
            std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("www/out.txt"))
                .unwrap();
            std::os::unix::fs::symlink("../src/lib.rs", root.join("www/lib.js")).unwrap();
        }
        root
    }

    fn start(root: &Path) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let site = Site::open(root).unwrap();
        std::thread::spawn(move || serve(listener, site));
        addr
    }

    struct Reply {
        status: u16,
        head: String,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then_some(v.trim())
            })
        }
    }

    /// Reads until the server closes; a reset after the answer counts as closed.
    fn read_reply(mut s: TcpStream) -> Reply {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset && !raw.is_empty() => break,
                Err(e) => panic!("reading the reply: {e}"),
            }
        }
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let status = head[9..12].parse().unwrap();
        Reply {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn send(addr: SocketAddr, raw: &[u8]) -> Reply {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(raw).unwrap();
        read_reply(s)
    }

    fn get(addr: SocketAddr, path: &str) -> Reply {
        send(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
    }

    #[test]
    fn a_checkout_serves_only_the_page() {
        let addr = start(&checkout("only-page"));
        for path in [
            "/.git/config",
            "/src/lib.rs",
            "/Cargo.toml",
            "/target/x",
            "/notes.txt",
            "/www/.env",
            "/../etc/passwd",
            "/%2e%2e/Cargo.toml",
            "/www/%2e%2e/Cargo.toml",
            "/www%2f..%2fCargo.toml",
            "/www/../Cargo.toml",
            "/nope.html",
            "/www/out.txt", // symlink out of the root
            "/www/lib.js",  // symlink to a private file inside it
        ] {
            let r = get(addr, path);
            assert_eq!(r.status, 404, "{path}");
            assert!(
                !String::from_utf8_lossy(&r.body).contains(['[', '/']),
                "{path} leaked"
            );
        }
        for (path, ctype, body) in [
            ("/", "text/html; charset=utf-8", "<!doctype html>"),
            (
                "/index.html?x=1",
                "text/html; charset=utf-8",
                "<!doctype html>",
            ),
            (
                "/www/app.js",
                "text/javascript; charset=utf-8",
                "export {};",
            ),
            ("/pkg/tinyopt_bg.wasm", "application/wasm", "\0asm"),
            (
                "/models/m.safetensors",
                "application/octet-stream",
                "weights",
            ),
        ] {
            let r = get(addr, path);
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("Content-Type"), Some(ctype), "{path}");
            assert_eq!(r.body, body.as_bytes(), "{path}");
            assert_eq!(
                r.header("Content-Length"),
                Some(body.len().to_string().as_str())
            );
            assert_eq!(r.header("Cross-Origin-Opener-Policy"), Some("same-origin"));
            assert_eq!(
                r.header("Cross-Origin-Embedder-Policy"),
                Some("require-corp")
            );
            assert_eq!(
                r.header("Cross-Origin-Resource-Policy"),
                Some("same-origin")
            );
            assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
            assert_eq!(r.header("Cache-Control"), Some("no-cache"));
        }
    }

    #[test]
    fn a_site_folder_serves_everything_but_dotfiles() {
        let root = scratch("site");
        put(&root, "index.html", "home");
        put(&root, "src/x.js", "x");
        put(&root, "docs/index.html", "docs");
        put(&root, ".env", "SECRET=1");
        put(&root, "a/.hidden/b.txt", "b");
        let addr = start(&root);
        assert_eq!(get(addr, "/src/x.js").status, 200);
        assert_eq!(get(addr, "/docs/").body, b"docs");
        let r = get(addr, "/docs");
        assert_eq!(r.status, 301);
        assert_eq!(r.header("Location"), Some("/docs/"));
        assert_eq!(get(addr, "/.env").status, 404);
        assert_eq!(get(addr, "/a/.hidden/b.txt").status, 404);
        assert_eq!(get(addr, "/%2eenv").status, 404);
    }

    #[test]
    fn allow_rule() {
        use Layout::*;
        assert!(allowed(Checkout, &[]));
        assert!(allowed(Checkout, &["index.html"]));
        assert!(allowed(Checkout, &["sw.js"]));
        assert!(allowed(Checkout, &["www", "main.js"]));
        assert!(allowed(Checkout, &["models", "m.safetensors"]));
        assert!(allowed(Checkout, &["leaderboard", "board.json"]));
        assert!(!allowed(Checkout, &["www"]));
        assert!(!allowed(Checkout, &["Cargo.toml"]));
        assert!(!allowed(Checkout, &["www", ".."]));
        assert!(!allowed(Checkout, &["www", "a\\..\\b"]));
        assert!(allowed(Site, &["Cargo.toml"]));
        assert!(!allowed(Site, &[".git", "config"]));
        assert!(!allowed(Site, &["..", "x"]));
    }

    #[test]
    fn head_sends_no_body_and_post_is_refused() {
        let addr = start(&checkout("methods"));
        let r = send(addr, b"HEAD /www/app.js HTTP/1.1\r\n\r\n");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Length"), Some("10"));
        assert!(r.body.is_empty());
        let r = send(addr, b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(r.status, 405);
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
        assert_eq!(send(addr, b"GET / HTTP/2.0\r\n\r\n").status, 400);
        assert_eq!(send(addr, b"GET http://x/ HTTP/1.1\r\n\r\n").status, 400);
        assert_eq!(send(addr, b"GET / HTTP/1.1\r\n folded\r\n\r\n").status, 400);
    }

    #[test]
    fn a_huge_request_line_is_refused_unread() {
        let addr = start(&checkout("long-line"));
        let mut s = TcpStream::connect(addr).unwrap();
        // Only the first 64 KiB of a 1 MB line: the answer must come without the rest
        // (and without a line end), so the server cannot be waiting for it.
        let mut line = b"GET /".to_vec();
        line.resize(64 * 1024, b'a');
        s.write_all(&line).unwrap();
        let r = read_reply(s);
        assert_eq!(r.status, 414);
        assert_eq!(r.header("Connection"), Some("close"));
    }

    /// Endless input, counting what the reader pulled out of it.
    struct Endless<'a>(&'a mut usize);

    impl Read for Endless<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'a');
            *self.0 += buf.len();
            Ok(buf.len())
        }
    }

    #[test]
    fn the_line_reader_stops_at_its_cap() {
        let mut pulled = 0;
        let mut r = BufReader::with_capacity(1024, Endless(&mut pulled));
        let mut buf = Vec::new();
        assert_eq!(
            read_line_capped(&mut r, 4096, &mut buf).unwrap(),
            Line::TooLong
        );
        assert!(buf.len() <= 4096);
        drop(r);
        assert!(pulled <= 4096 + 1024, "pulled {pulled} bytes");
        // And the ordinary cases.
        let mut r = io::Cursor::new(b"GET / HTTP/1.1\r\nrest".to_vec());
        assert_eq!(read_line_capped(&mut r, 100, &mut buf).unwrap(), Line::Done);
        assert_eq!(buf, b"GET / HTTP/1.1");
        assert_eq!(read_line_capped(&mut r, 100, &mut buf).unwrap(), Line::Eof);
        assert_eq!(buf, b"rest");
    }

    /// Some bytes, then what a read timeout gives.
    struct Stalls(&'static [u8]);

    impl Read for Stalls {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_stalled_head_times_out() {
        let head = |bytes| read_head(&mut BufReader::new(Stalls(bytes))).unwrap_err();
        assert_eq!(head(b""), Fail::Gone);
        assert_eq!(head(b"GET / HT"), Fail::Status(408));
        assert_eq!(head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Fail::Status(408));
    }

    #[test]
    fn oversized_headers_are_refused() {
        let addr = start(&checkout("headers"));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADER_LINES {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(send(addr, &many).status, 431);
        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "y".repeat(20_000));
        assert_eq!(send(addr, big.as_bytes()).status, 431);
        // Many small ones adding up past the total.
        let mut sum = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..40 {
            sum.extend_from_slice(format!("X-{i}: {}\r\n", "y".repeat(500)).as_bytes());
        }
        sum.extend_from_slice(b"\r\n");
        assert_eq!(send(addr, &sum).status, 431);
        // Just under every cap is fine.
        let mut ok = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADER_LINES {
            ok.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        ok.extend_from_slice(b"\r\n");
        assert_eq!(send(addr, &ok).status, 200);
    }

    #[test]
    fn a_conditional_get_is_answered_304() {
        let addr = start(&checkout("conditional"));
        let first = get(addr, "/models/m.safetensors");
        let stamp = first.header("Last-Modified").unwrap().to_string();
        assert!(parse_http_date(&stamp).is_some(), "{stamp}");
        let ask = |since: &str| {
            send(
                addr,
                format!("GET /models/m.safetensors HTTP/1.1\r\nIf-Modified-Since: {since}\r\n\r\n")
                    .as_bytes(),
            )
        };
        let r = ask(&stamp);
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        assert_eq!(r.header("Last-Modified"), Some(stamp.as_str()));
        assert_eq!(
            r.header("Cross-Origin-Embedder-Policy"),
            Some("require-corp")
        );
        let r = ask("Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"weights");
        assert_eq!(ask("not a date").status, 200);
    }

    #[test]
    fn dates_round_trip() {
        for (secs, text) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (4_133_980_799, "Fri, 31 Dec 2100 23:59:59 GMT"),
        ] {
            assert_eq!(http_date(secs), text);
            assert_eq!(parse_http_date(text), Some(secs));
        }
        for secs in (0..5_000_000_000u64).step_by(7_777_777) {
            assert_eq!(parse_http_date(&http_date(secs)), Some(secs));
        }
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 30 Feb 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
    }
}
