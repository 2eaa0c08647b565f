//! A minimal HTTP/1.1 server side: enough for reqwest's requests (Content-Length or chunked
//! bodies, keep-alive) and for answers with a Content-Length.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Range;

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// Percent-decoded path, without the leading `/`.
    pub path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A query parameter's decoded value (`Some("")` for a bare `?uploads`).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A header's value; names compare case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// For HEAD: the length to announce without a body.
    head_len: Option<usize>,
}

impl Response {
    pub fn body(status: u16, body: Vec<u8>) -> Self {
        Self { status, headers: Vec::new(), body, head_len: None }
    }

    pub fn empty(status: u16) -> Self {
        Self::body(status, Vec::new())
    }

    pub fn xml(status: u16, xml: String) -> Self {
        Self::body(status, xml.into_bytes()).with_header("Content-Type", "application/xml".into())
    }

    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::xml(
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            ),
        )
    }

    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }

    /// ETag, generation and Last-Modified, as GCS sends them for an object.
    pub fn with_object_headers(self, generation: u64) -> Self {
        self.with_header("ETag", format!("\"{generation}\""))
            .with_header("x-goog-generation", generation.to_string())
            .with_header("Last-Modified", "Mon, 30 Jun 2025 00:00:00 GMT".into())
    }

    pub fn head_only(mut self, len: usize) -> Self {
        self.head_len = Some(len);
        self.body.clear();
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        400 => "Bad Request",
        404 => "Not Found",
        412 => "Precondition Failed",
        _ => "Not Implemented",
    }
}

/// Decodes `%XX` escapes (object_store escapes every non-alphanumeric character).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` against an object of `len` bytes.
pub fn parse_range(header: &str, len: usize) -> Option<Range<usize>> {
    let (start, end) = header.strip_prefix("bytes=")?.split_once('-')?;
    let range = match (start.parse::<usize>().ok(), end.parse::<usize>().ok()) {
        (Some(s), Some(e)) => s..(e + 1).min(len),
        (Some(s), None) => s..len,
        (None, Some(n)) => len.saturating_sub(n)..len,
        (None, None) => return None,
    };
    (range.start < range.end).then_some(range)
}

/// One keep-alive connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Self {
        // Answers go out in one write; without this, Nagle's algorithm and the client's
        // delayed ACK add ~40 ms to every small answer.
        let _ = stream.set_nodelay(true);
        Self { reader: BufReader::new(stream) }
    }

    /// The next request, or `None` when the client closed the connection.
    pub fn read_request(&mut self) -> io::Result<Option<Request>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad request line"));
        };
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let query = raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            self.reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let mut request = Request {
            method: method.to_owned(),
            path: percent_decode(raw_path.trim_start_matches('/')),
            query,
            headers,
            body: Vec::new(),
        };
        if request.header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            request.body = self.read_chunked()?;
        } else if let Some(len) = request.header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body)?;
            request.body = body;
        }
        Ok(Some(request))
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            self.reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }

    /// Sends `response` to the request's client.
    pub fn write_response(&mut self, request: &Request, response: &Response) -> io::Result<()> {
        let len = response.head_len.unwrap_or(response.body.len());
        let mut head =
            format!("HTTP/1.1 {} {}\r\nContent-Length: {len}\r\n", response.status, reason(response.status));
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut answer = head.into_bytes();
        if request.method != "HEAD" {
            answer.extend_from_slice(&response.body);
        }
        let stream = self.reader.get_mut();
        stream.write_all(&answer)?;
        stream.flush()
    }
}
