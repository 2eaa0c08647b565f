//! An in-memory fake of the Google Cloud Storage **XML API** subset that object_store's GCS
//! client speaks, served on 127.0.0.1 for tests: object PUT (with `x-goog-if-generation-match:
//! 0` and `x-goog-copy-source`), multipart initiate / upload part / complete / abort, GET
//! (with ranges), HEAD, DELETE and `list-type=2` listing.
//!
//! No emulator on the package registries implements this API, so this one checks the client
//! against our reading of GCS, not GCS itself. Point a client at it the way a user would:
//! a service-account JSON with `gcs_base_url` and `disable_oauth` (see [`FakeGcs::service_account_json`]).
//!
//! ```
//! let fake = mouvements_gcs_fake::FakeGcs::start("test-bucket").unwrap();
//! assert!(fake.base_url().starts_with("http://127.0.0.1:"));
//! assert!(fake.object_names().is_empty());
//! ```

mod http;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use http::{Request, Response};

/// One stored object.
#[derive(Debug, Clone)]
struct Object {
    data: Arc<Vec<u8>>,
    generation: u64,
}

/// An upload in progress: its target and its parts by number.
#[derive(Debug, Default)]
struct Upload {
    key: String,
    parts: BTreeMap<u32, Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<String, Object>,
    uploads: HashMap<String, Upload>,
    next_generation: u64,
    /// Part uploads still allowed before every further one fails; `None`: no fault.
    parts_before_fault: Option<usize>,
    /// Whole-object puts to keys ending so fail; `None`: no fault.
    failing_suffix: Option<String>,
}

/// A running fake; it stops when dropped.
pub struct FakeGcs {
    bucket: String,
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FakeGcs {
    /// Serves `bucket` on an ephemeral port of 127.0.0.1.
    pub fn start(bucket: &str) -> io::Result<Self> {
        Self::start_on(bucket, 0)
    }

    /// Serves `bucket` on `port` of 127.0.0.1 (0 for any free port).
    pub fn start_on(bucket: &str, port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State { next_generation: 1, ..State::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping, name) = (Arc::clone(&state), Arc::clone(&stop), bucket.to_owned());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (shared, name) = (Arc::clone(&shared), name.clone());
                thread::spawn(move || serve_connection(stream, &name, &shared));
            }
        });
        Ok(Self { bucket: bucket.to_owned(), port, state, stop })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bucket served.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A service-account JSON that points object_store's GCS client here without OAuth.
    pub fn service_account_json(&self) -> String {
        format!(
            r#"{{"gcs_base_url":"{}","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}}"#,
            self.base_url()
        )
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Names of the stored objects, sorted.
    pub fn object_names(&self) -> Vec<String> {
        self.state().objects.keys().cloned().collect()
    }

    /// The bytes of an object.
    pub fn object(&self, name: &str) -> Option<Vec<u8>> {
        self.state().objects.get(name).map(|o| o.data.as_ref().clone())
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.state().uploads.len()
    }

    /// Lets `parts` more part uploads succeed, then fails every further one with a 400.
    pub fn fail_part_uploads_after(&self, parts: usize) {
        self.state().parts_before_fault = Some(parts);
    }

    /// Fails every whole-object put to a key ending with `suffix` (a small object's upload).
    pub fn fail_puts_ending_with(&self, suffix: &str) {
        self.state().failing_suffix = Some(suffix.to_owned());
    }

    /// Ends the faults set by [`Self::fail_part_uploads_after`] and
    /// [`Self::fail_puts_ending_with`].
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.parts_before_fault = None;
        state.failing_suffix = None;
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A handler that panicked leaves consistent maps behind: every mutation is one call.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve_connection(stream: TcpStream, bucket: &str, state: &Mutex<State>) {
    let mut conn = http::Connection::new(stream);
    while let Ok(Some(request)) = conn.read_request() {
        let response = handle(&request, bucket, state);
        if conn.write_response(&request, &response).is_err() {
            break;
        }
    }
}

fn handle(req: &Request, bucket: &str, state: &Mutex<State>) -> Response {
    let (req_bucket, key) = req.path.split_once('/').unwrap_or((req.path.as_str(), ""));
    if req_bucket != bucket {
        return Response::error(404, "NoSuchBucket", &format!("bucket {req_bucket:?} does not exist"));
    }
    let mut state = lock(state);
    match (req.method.as_str(), key.is_empty()) {
        ("GET", true) if req.query("list-type") == Some("2") => list(req, &state),
        ("POST", false) if req.query("uploads").is_some() => {
            let id = format!("upload-{}", state.next_generation);
            state.next_generation += 1;
            state.uploads.insert(id.clone(), Upload { key: key.to_owned(), ..Upload::default() });
            Response::xml(200, xml::initiate_result(bucket, key, &id))
        }
        ("PUT", false) if req.query("uploadId").is_some() => put_part(req, &mut state),
        ("POST", false) if req.query("uploadId").is_some() => complete(req, key, &mut state),
        ("DELETE", false) if req.query("uploadId").is_some() => {
            state.uploads.remove(req.query("uploadId").unwrap_or_default());
            Response::empty(204)
        }
        ("PUT", false) => put_object(req, bucket, key, &mut state),
        ("GET" | "HEAD", false) => get_object(req, key, &state),
        ("DELETE", false) => match state.objects.remove(key) {
            Some(_) => Response::empty(204),
            None => Response::error(404, "NoSuchKey", key),
        },
        _ => Response::error(501, "NotImplemented", &format!("{} /{}", req.method, req.path)),
    }
}

/// Stores an object whole and returns its generation.
fn store(state: &mut State, key: &str, data: Vec<u8>) -> u64 {
    let generation = state.next_generation;
    state.next_generation += 1;
    state.objects.insert(key.to_owned(), Object { data: Arc::new(data), generation });
    generation
}

fn precondition_fails(req: &Request, state: &State, key: &str) -> bool {
    req.header("x-goog-if-generation-match") == Some("0") && state.objects.contains_key(key)
}

fn put_object(req: &Request, bucket: &str, key: &str, state: &mut State) -> Response {
    if state.failing_suffix.as_deref().is_some_and(|suffix| key.ends_with(suffix)) {
        return Response::error(400, "InjectedFault", "object upload failed on purpose");
    }
    if precondition_fails(req, state, key) {
        return Response::error(412, "PreconditionFailed", key);
    }
    let data = match req.header("x-goog-copy-source") {
        Some(source) => {
            let source = http::percent_decode(source.trim_start_matches('/'));
            let source = source.strip_prefix(bucket).unwrap_or(&source).trim_start_matches('/');
            match state.objects.get(source) {
                Some(o) => o.data.as_ref().clone(),
                None => return Response::error(404, "NoSuchKey", source),
            }
        }
        None => req.body.clone(),
    };
    let generation = store(state, key, data);
    Response::empty(200).with_object_headers(generation)
}

fn put_part(req: &Request, state: &mut State) -> Response {
    if let Some(left) = state.parts_before_fault.as_mut() {
        if *left == 0 {
            return Response::error(400, "InjectedFault", "part upload failed on purpose");
        }
        *left -= 1;
    }
    let id = req.query("uploadId").unwrap_or_default();
    let Some(number) = req.query("partNumber").and_then(|n| n.parse().ok()) else {
        return Response::error(400, "InvalidArgument", "partNumber");
    };
    let Some(upload) = state.uploads.get_mut(id) else {
        return Response::error(404, "NoSuchUpload", id);
    };
    upload.parts.insert(number, req.body.clone());
    Response::empty(200).with_header("ETag", format!("\"part-{number}-{}\"", req.body.len()))
}

fn complete(req: &Request, key: &str, state: &mut State) -> Response {
    let id = req.query("uploadId").unwrap_or_default();
    let Some(upload) = state.uploads.remove(id) else {
        return Response::error(404, "NoSuchUpload", id);
    };
    if upload.key != key {
        return Response::error(400, "InvalidArgument", "upload belongs to another key");
    }
    let numbers = xml::part_numbers(&String::from_utf8_lossy(&req.body));
    let mut data = Vec::new();
    for n in &numbers {
        match upload.parts.get(n) {
            Some(part) => data.extend_from_slice(part),
            None => return Response::error(400, "InvalidPart", &format!("part {n} was never uploaded")),
        }
    }
    let generation = store(state, key, data);
    Response::xml(200, xml::complete_result(key, generation)).with_object_headers(generation)
}

fn get_object(req: &Request, key: &str, state: &State) -> Response {
    let Some(object) = state.objects.get(key) else {
        return Response::error(404, "NoSuchKey", key);
    };
    let len = object.data.len();
    let (status, range) = match req.header("range").and_then(|r| http::parse_range(r, len)) {
        Some(range) => (206, range),
        None => (200, 0..len),
    };
    let mut response =
        Response::body(status, object.data[range.clone()].to_vec()).with_object_headers(object.generation);
    if status == 206 {
        response =
            response.with_header("Content-Range", format!("bytes {}-{}/{len}", range.start, range.end - 1));
    }
    if req.method == "HEAD" {
        response = response.head_only(len);
    }
    response
}

fn list(req: &Request, state: &State) -> Response {
    let prefix = req.query("prefix").unwrap_or_default();
    let delimiter = req.query("delimiter").filter(|d| !d.is_empty());
    let after = req.query("continuation-token").or(req.query("start-after")).unwrap_or_default();
    let max: usize = req.query("max-keys").and_then(|m| m.parse().ok()).unwrap_or(1000);
    let mut contents = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut next = None;
    for (key, object) in state.objects.range(prefix.to_owned()..) {
        if !key.starts_with(prefix) {
            break;
        }
        let after_prefix = delimiter.is_some_and(|d| after.ends_with(d)) && key.starts_with(after);
        if key.as_str() <= after || after_prefix {
            continue;
        }
        if contents.len() + prefixes.len() == max {
            next = Some(key.clone());
            break;
        }
        let rest = &key[prefix.len()..];
        match delimiter.and_then(|d| rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])) {
            Some(common) => {
                if prefixes.last().map(String::as_str) != Some(common) {
                    prefixes.push(common.to_owned());
                }
            }
            None => contents.push((key.clone(), object.data.len(), object.generation)),
        }
    }
    // The continuation token is the last key returned; `next` only says there is more.
    let token = next.and_then(|_| contents.last().map(|c| c.0.clone()).or_else(|| prefixes.last().cloned()));
    Response::xml(200, xml::list_result(&contents, &prefixes, token.as_deref()))
}
