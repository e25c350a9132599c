//! The chat exchange's HTTP/1.1 client: one `POST` with a JSON body to a local engine,
//! over a pool of keep-alive connections.
//!
//! Why not reqwest here (it still serves probes, `/metrics`, `/tokenize`): a chat request
//! is the one exchange made per chunk, and reqwest/hyper spent ~30 µs of client CPU on
//! each (URL parsing, header maps, a connection task and two channel hand-offs per
//! request), a fifth of the tool's whole per-chunk cost. This client writes the request in
//! one `write`, parses the head with `httparse` (hyper's parser) and reads the body into
//! one buffer, in the calling task. It speaks only what vLLM and Ollama answer with:
//! `Content-Length` or chunked bodies, keep-alive or `Connection: close`. Plain HTTP only
//! (engines are local; https is refused at start-up).

use std::io::ErrorKind;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{parse_retry_after, EngineError, FailureClass, Reply};

/// Idle connections older than this are not reused: servers close theirs after ~5 s
/// (uvicorn's default keep-alive), and reusing one just as it closes costs a retry.
const IDLE_REUSE: Duration = Duration::from_secs(4);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bodies larger than this are refused (a broken server must not exhaust memory).
const MAX_BODY: usize = 64 << 20;
const MAX_HEAD: usize = 64 << 10;

pub struct Wire {
    /// `host:port` to connect to.
    addr: String,
    /// The `Host` header value.
    authority: String,
    /// The base URL's path (a server behind a path prefix), without a trailing slash.
    prefix: String,
    idle: Mutex<Vec<(TcpStream, Instant)>>,
    max_idle: usize,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire").field("addr", &self.addr).finish()
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Wire {
    /// `base`: `http://host[:port][/prefix]`. `max_idle`: connections kept for reuse.
    pub fn new(base: &str, max_idle: usize) -> Result<Self, String> {
        let url = reqwest::Url::parse(base).map_err(|e| format!("{base}: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!("{base}: only http:// is supported"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{base}: no host"))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        // IPv6 literals keep their brackets, which is what `connect` wants as well.
        Ok(Wire {
            addr: format!("{host}:{port}"),
            authority,
            prefix: url.path().trim_end_matches('/').to_string(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    /// `POST path` with a JSON body; the whole reply, or the transport failure classified
    /// as the router reads it (connect, timeout, reset).
    pub async fn post_json(
        &self,
        path: &str,
        body: &[u8],
        bearer: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, EngineError> {
        let mut req = Vec::with_capacity(body.len() + 256);
        req.extend_from_slice(b"POST ");
        req.extend_from_slice(self.prefix.as_bytes());
        req.extend_from_slice(path.as_bytes());
        req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        req.extend_from_slice(self.authority.as_bytes());
        req.extend_from_slice(
            b"\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ",
        );
        req.extend_from_slice(body.len().to_string().as_bytes());
        if let Some(key) = bearer {
            req.extend_from_slice(b"\r\nAuthorization: Bearer ");
            req.extend_from_slice(key.as_bytes());
        }
        req.extend_from_slice(b"\r\n\r\n");
        req.extend_from_slice(body);
        match tokio::time::timeout(timeout, self.exchange(&req)).await {
            Ok(r) => r,
            Err(_) => Err(EngineError::new(
                FailureClass::Timeout,
                "no answer within --request-timeout",
            )),
        }
    }

    async fn exchange(&self, req: &[u8]) -> Result<Reply, EngineError> {
        let mut stream = match self.take_idle() {
            Some(s) => s,
            None => self.connect().await?,
        };
        stream.write_all(req).await.map_err(reset)?;
        let (reply, reusable) = read_reply(&mut stream).await?;
        if reusable {
            self.put_idle(stream);
        }
        Ok(reply)
    }

    async fn connect(&self) -> Result<TcpStream, EngineError> {
        let stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(EngineError::new(FailureClass::Connect, e.to_string())),
                Err(_) => {
                    return Err(EngineError::new(
                        FailureClass::Connect,
                        format!("no connection to {} within 5 s", self.addr),
                    ))
                }
            };
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// The most recently used live connection, if any.
    fn take_idle(&self) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((stream, since)) = idle.pop() {
            if since.elapsed() > IDLE_REUSE {
                // Older ones are older still.
                idle.clear();
                return None;
            }
            // A server that closed the connection while it idled left an EOF (or an
            // error) to read; a live idle connection has nothing to read.
            let mut probe = [0u8; 1];
            match stream.try_read(&mut probe) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(stream),
                _ => continue,
            }
        }
        None
    }

    fn put_idle(&self, stream: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push((stream, Instant::now()));
        }
    }
}

fn reset(e: std::io::Error) -> EngineError {
    EngineError::new(FailureClass::Reset, e.to_string())
}

fn cut_short() -> EngineError {
    EngineError::new(
        FailureClass::Reset,
        "connection closed before the reply was complete",
    )
}

/// Reads one reply; also says whether the connection may carry another request.
async fn read_reply(stream: &mut TcpStream) -> Result<(Reply, bool), EngineError> {
    let mut buf: Vec<u8> = Vec::with_capacity(16 << 10);
    // The head.
    let mut need_read = true;
    let (status, framing, keep_alive, retry_after, head_len) = loop {
        if need_read && read_more(stream, &mut buf).await? == 0 {
            return Err(cut_short());
        }
        need_read = true;
        let mut headers = [httparse::EMPTY_HEADER; 48];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                let mut keep_alive = resp.version == Some(1);
                let (mut length, mut chunked, mut retry_after) = (None, false, None);
                for h in resp.headers.iter() {
                    let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                    let name = h.name.to_ascii_lowercase();
                    match name.as_str() {
                        "content-length" => length = value.parse::<usize>().ok(),
                        "transfer-encoding" => {
                            chunked |= value.to_ascii_lowercase().contains("chunked")
                        }
                        "connection" => {
                            let v = value.to_ascii_lowercase();
                            if v.contains("close") {
                                keep_alive = false;
                            } else if v.contains("keep-alive") {
                                keep_alive = true;
                            }
                        }
                        "retry-after" => retry_after = parse_retry_after(value),
                        _ => {}
                    }
                }
                // No body for 204/304; chunked wins over a length, as HTTP/1.1 says.
                let framing = match (chunked, length) {
                    _ if status == 204 || status == 304 => Framing::Length(0),
                    (true, _) => Framing::Chunked,
                    (false, Some(n)) => Framing::Length(n),
                    (false, None) => Framing::UntilClose,
                };
                // 1xx heads are followed by the real one.
                if (100..200).contains(&status) {
                    buf.drain(..n);
                    need_read = buf.is_empty();
                    continue;
                }
                break (status, framing, keep_alive, retry_after, n);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return Err(EngineError::new(
                    FailureClass::Reset,
                    "reply head larger than 64 KiB",
                ))
            }
            Err(e) => {
                return Err(EngineError::new(
                    FailureClass::Reset,
                    format!("not an HTTP reply ({e})"),
                ))
            }
        }
    };
    buf.drain(..head_len);
    let (body, reusable) = match framing {
        Framing::Length(len) => {
            if len > MAX_BODY {
                return Err(too_large());
            }
            while buf.len() < len {
                if read_more(stream, &mut buf).await? == 0 {
                    return Err(cut_short());
                }
            }
            let extra = buf.len() > len;
            buf.truncate(len);
            (buf, keep_alive && !extra)
        }
        Framing::Chunked => (read_chunked(stream, buf).await?, keep_alive),
        Framing::UntilClose => {
            while read_more(stream, &mut buf).await? > 0 {
                if buf.len() > MAX_BODY {
                    return Err(too_large());
                }
            }
            (buf, false)
        }
    };
    let text = match String::from_utf8(body) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok((
        Reply {
            status,
            retry_after: retry_after.filter(|_| !(200..300).contains(&status)),
            text,
        },
        reusable,
    ))
}

fn too_large() -> EngineError {
    EngineError::new(FailureClass::Reset, "reply body larger than 64 MiB")
}

/// Appends what the socket has; 0 at EOF.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize, EngineError> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(buf.capacity().max(8192));
    }
    stream.read_buf(buf).await.map_err(reset)
}

/// Decodes a chunked body; `raw` holds what was read past the head.
async fn read_chunked(stream: &mut TcpStream, mut raw: Vec<u8>) -> Result<Vec<u8>, EngineError> {
    let mut body = Vec::with_capacity(raw.len());
    let mut at = 0usize;
    loop {
        // Chunk size line.
        let (size, used) = loop {
            match httparse::parse_chunk_size(&raw[at..]) {
                Ok(httparse::Status::Complete((used, size))) => break (size as usize, used),
                Ok(httparse::Status::Partial) => {
                    if read_more(stream, &mut raw).await? == 0 {
                        return Err(cut_short());
                    }
                }
                Err(_) => {
                    return Err(EngineError::new(
                        FailureClass::Reset,
                        "bad chunk size in a chunked reply",
                    ))
                }
            }
        };
        at += used;
        if size == 0 {
            // Trailers (rare) end with an empty line.
            loop {
                if trailers_end(&raw[at..]) {
                    return Ok(body);
                }
                if read_more(stream, &mut raw).await? == 0 {
                    // The terminal chunk was read; a missing final CRLF loses nothing.
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(too_large());
        }
        while raw.len() < at + size + 2 {
            if read_more(stream, &mut raw).await? == 0 {
                return Err(cut_short());
            }
        }
        body.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
        // Keep the buffer from growing with the whole body.
        if at > 64 << 10 {
            raw.drain(..at);
            at = 0;
        }
    }
}

/// After the terminal chunk: an empty line (no trailers) or trailers ending in one.
fn trailers_end(b: &[u8]) -> bool {
    b.starts_with(b"\r\n") || b.windows(4).any(|w| w == b"\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::net::TcpListener;

    /// A server that answers each request with the next canned reply, and closes the
    /// connection after a reply whose flag is set (whatever the reply's headers say).
    async fn serve(
        replies: Vec<(&'static [u8], bool)>,
    ) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut connections = 0;
            let mut replies = replies.into_iter().peekable();
            'accept: while let Ok((sock, _)) = listener.accept().await {
                connections += 1;
                let mut sock = tokio::io::BufReader::new(sock);
                loop {
                    // Request head, then its Content-Length body.
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if sock.read_line(&mut line).await.unwrap_or(0) == 0 {
                            continue 'accept;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    sock.read_exact(&mut body).await.unwrap();
                    let Some((reply, close)) = replies.next() else {
                        return connections;
                    };
                    sock.get_mut().write_all(reply).await.unwrap();
                    if replies.peek().is_none() {
                        return connections;
                    }
                    if close {
                        continue 'accept;
                    }
                }
            }
            connections
        });
        (format!("http://{addr}"), handle)
    }

    #[tokio::test]
    async fn lengths_chunks_keep_alive_and_close() {
        let (url, server) = serve(vec![
            (b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}", false),
            (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"b\"\r\n3\r\n:2}\r\n0\r\n\r\n", false),
            (b"HTTP/1.1 204 No Content\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", true),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
        ])
        .await;
        let wire = Wire::new(&url, 4).unwrap();
        let t = Duration::from_secs(5);
        let r = wire.post_json("/v1/x", b"{}", Some("k"), t).await.unwrap();
        assert_eq!(
            (r.status, r.text.as_str(), r.retry_after),
            (200, "{\"a\":1}", None)
        );
        let r = wire.post_json("/v1/x", b"{}", None, t).await.unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(r.text, "{\"b\":2}");
        assert_eq!(r.retry_after, Some(Duration::from_secs(3)));
        let r = wire.post_json("/v1/x", b"{}", None, t).await.unwrap();
        assert_eq!((r.status, r.text.as_str()), (204, ""));
        let r = wire.post_json("/v1/x", b"{}", None, t).await.unwrap();
        assert_eq!(r.text, "until close");
        let r = wire.post_json("/v1/x", b"{}", None, t).await.unwrap();
        assert_eq!(r.text, "ok");
        drop(wire);
        // Keep-alive held for the first two; the close forced one new connection.
        assert_eq!(server.await.unwrap(), 2);
    }

    #[tokio::test]
    async fn failures_are_classified() {
        // Nothing listens: connect.
        let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", free.local_addr().unwrap());
        drop(free);
        let wire = Wire::new(&url, 1).unwrap();
        let e = wire
            .post_json("/", b"{}", None, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(e.class, FailureClass::Connect);

        // A body cut short, then garbage: reset.
        let (url, _server) = serve(vec![
            (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", true),
            (b"garbage\r\n\r\n", true),
        ])
        .await;
        let wire = Wire::new(&url, 1).unwrap();
        let t = Duration::from_secs(2);
        assert_eq!(
            wire.post_json("/", b"{}", None, t).await.unwrap_err().class,
            FailureClass::Reset
        );
        assert_eq!(
            wire.post_json("/", b"{}", None, t).await.unwrap_err().class,
            FailureClass::Reset
        );

        // Accepts and never answers: timeout.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let wire = Wire::new(&format!("http://{}", silent.local_addr().unwrap()), 1).unwrap();
        let e = wire
            .post_json("/", b"{}", None, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(e.class, FailureClass::Timeout);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_not_reused() {
        // The server closes after the first reply without saying so in its headers.
        let (url, server) = serve(vec![
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", true),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", false),
        ])
        .await;
        let wire = Wire::new(&url, 1).unwrap();
        let t = Duration::from_secs(2);
        assert_eq!(wire.post_json("/", b"{}", None, t).await.unwrap().text, "a");
        // Wait until the server's close has reached the pooled connection (it reads as
        // readable: an EOF is waiting), however loaded the machine.
        let (stream, since) = wire.idle.lock().unwrap().pop().unwrap();
        tokio::time::timeout(Duration::from_secs(10), stream.readable())
            .await
            .unwrap()
            .unwrap();
        wire.idle.lock().unwrap().push((stream, since));
        assert_eq!(wire.post_json("/", b"{}", None, t).await.unwrap().text, "b");
        drop(wire);
        assert_eq!(server.await.unwrap(), 2);
    }
}
