//! Listener management: start, go down / come up on the same port, per-connection control.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::config::{FakeConfig, FaultRule};
use crate::faults::FaultBook;
use crate::stats::{Stats, StatsInner};

/// Entry point: `FakeEngine::start(config).await`.
pub struct FakeEngine;

impl FakeEngine {
    /// Bind `127.0.0.1:config.port` (0 = ephemeral) and start serving (after the cold
    /// start's refuse phase, if configured). Returns once the port is bound; without a
    /// cold start the listener is already accepting when this returns.
    pub async fn start(config: FakeConfig) -> anyhow::Result<FakeHandle> {
        let sock = bind_socket(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))
            .with_context(|| format!("binding 127.0.0.1:{}", config.port))?;
        let addr = sock.local_addr()?;
        let inner = Arc::new(Inner {
            slots: Arc::new(Semaphore::new(config.slots.max(1))),
            faults: Mutex::new(FaultBook::new(config.faults.clone())),
            addr,
            stats: Mutex::new(StatsInner::default()),
            loading: AtomicBool::new(false),
            going_down: AtomicBool::new(false),
            state: Mutex::new(ServerState::Down(Some(sock))),
            transition: tokio::sync::Mutex::new(()),
            timers: Mutex::new(Vec::new()),
            ids: AtomicU64::new(0),
            prefixes: Mutex::new(std::collections::HashSet::new()),
            share: config.shared_rate.map(|r| {
                let ms = config.latency.per_output_token_ms;
                crate::share::Share::new(r, (ms > 0.0).then(|| 1000.0 / ms))
            }),
            cfg: config,
        });
        match inner.cfg.cold_start {
            Some(cs) if cs.refuse_secs > 0.0 => {
                let i = inner.clone();
                inner.spawn_timer(async move {
                    tokio::time::sleep(secs(cs.refuse_secs)).await;
                    if cs.loading_secs > 0.0 {
                        i.loading.store(true, Ordering::SeqCst);
                    }
                    let _ = i.come_up().await;
                    tokio::time::sleep(secs(cs.loading_secs)).await;
                    i.loading.store(false, Ordering::SeqCst);
                });
            }
            Some(cs) => {
                if cs.loading_secs > 0.0 {
                    inner.loading.store(true, Ordering::SeqCst);
                    let i = inner.clone();
                    inner.spawn_timer(async move {
                        tokio::time::sleep(secs(cs.loading_secs)).await;
                        i.loading.store(false, Ordering::SeqCst);
                    });
                }
                inner.come_up().await?;
            }
            None => inner.come_up().await?,
        }
        Ok(FakeHandle { inner })
    }
}

pub(crate) fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::from_secs(u32::MAX as u64))
}

fn bind_socket(addr: SocketAddr) -> io::Result<TcpSocket> {
    let s = TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    Ok(s)
}

/// Handle to a running fake. Dropping it stops the server (listener and connections).
pub struct FakeHandle {
    inner: Arc<Inner>,
}

impl FakeHandle {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }
    /// The port.
    pub fn port(&self) -> u16 {
        self.inner.addr.port()
    }
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }
    /// The configuration the fake was started with (faults as at start).
    pub fn config(&self) -> &FakeConfig {
        &self.inner.cfg
    }
    /// Snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats().snapshot()
    }
    /// Zero the counters (gauges of live requests are kept).
    pub fn reset_stats(&self) {
        self.inner.stats().reset();
    }
    /// Replace the fault rules (their counters restart from zero).
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.inner.set_faults(rules);
    }
    /// The current fault rules.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.inner.faults_lock().rules()
    }
    /// Stop listening and abort every open connection and in-flight request (clients see
    /// connection refused / reset). The port stays reserved (bound, not listening).
    /// No-op if already down.
    pub async fn go_down(&self) -> anyhow::Result<()> {
        self.inner.go_down().await
    }
    /// Listen again on the same port. No-op if already up.
    pub async fn come_up(&self) -> anyhow::Result<()> {
        self.inner.come_up().await
    }
    /// `go_down()` now, then `come_up()` in the background after `d`.
    pub async fn go_down_for(&self, d: Duration) -> anyhow::Result<()> {
        self.inner.go_down().await?;
        let i = self.inner.clone();
        self.inner.spawn_timer(async move {
            tokio::time::sleep(d).await;
            let _ = i.come_up().await;
        });
        Ok(())
    }
    /// Is the listener accepting connections?
    pub fn is_up(&self) -> bool {
        matches!(*self.inner.state_lock(), ServerState::Listening { .. })
    }
    /// While `true`, every endpoint (except `/_fake/*`) answers 503 "loading model".
    pub fn set_loading(&self, loading: bool) {
        self.inner.loading.store(loading, Ordering::SeqCst);
    }
    /// Stop everything and release the port.
    pub async fn shutdown(self) {
        self.inner.shutdown().await;
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        self.inner.stop_now();
    }
}

pub(crate) enum ServerState {
    Listening {
        stop: oneshot::Sender<()>,
        task: JoinHandle<JoinSet<()>>,
        down: Arc<AtomicBool>,
    },
    /// Port reserved by a bound, non-listening socket (if binding worked).
    Down(Option<TcpSocket>),
    Transition,
    Shutdown,
}

/// Shared state of one fake.
pub(crate) struct Inner {
    pub(crate) cfg: FakeConfig,
    pub(crate) addr: SocketAddr,
    pub(crate) stats: Mutex<StatsInner>,
    pub(crate) faults: Mutex<FaultBook>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) loading: AtomicBool,
    /// An outage was scheduled: chat requests arriving now are never answered.
    pub(crate) going_down: AtomicBool,
    state: Mutex<ServerState>,
    transition: tokio::sync::Mutex<()>,
    timers: Mutex<Vec<AbortHandle>>,
    pub(crate) ids: AtomicU64,
    /// `FakeConfig::shared_rate`: the generation rate the requests share.
    pub(crate) share: Option<crate::share::Share>,
    /// Prompt prefixes seen (`FakeConfig::report_cached_tokens`).
    pub(crate) prefixes: Mutex<std::collections::HashSet<blake3::Hash>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    pub(crate) fn stats(&self) -> MutexGuard<'_, StatsInner> {
        lock(&self.stats)
    }
    pub(crate) fn prefixes_lock(&self) -> MutexGuard<'_, std::collections::HashSet<blake3::Hash>> {
        lock(&self.prefixes)
    }
    pub(crate) fn faults_lock(&self) -> MutexGuard<'_, FaultBook> {
        lock(&self.faults)
    }
    fn state_lock(&self) -> MutexGuard<'_, ServerState> {
        lock(&self.state)
    }
    pub(crate) fn set_faults(&self, rules: Vec<FaultRule>) {
        *self.faults_lock() = FaultBook::new(rules);
    }

    pub(crate) fn spawn_timer<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let h = tokio::spawn(fut);
        let mut t = lock(&self.timers);
        t.retain(|a| !a.is_finished());
        t.push(h.abort_handle());
    }

    /// Go down now, come back up after `secs` (used by `/_fake/down` and
    /// `down_after_requests`). `delay` lets a response get out first.
    pub(crate) fn schedule_outage(self: &Arc<Self>, delay: Duration, down_secs: f64) {
        self.going_down.store(true, Ordering::SeqCst);
        let i = self.clone();
        self.spawn_timer(async move {
            tokio::time::sleep(delay).await;
            let _ = i.go_down().await;
            tokio::time::sleep(secs(down_secs)).await;
            let _ = i.come_up().await;
        });
    }

    pub(crate) async fn go_down(&self) -> anyhow::Result<()> {
        let _t = self.transition.lock().await;
        let st = std::mem::replace(&mut *self.state_lock(), ServerState::Transition);
        match st {
            ServerState::Listening { stop, task, down } => {
                down.store(true, Ordering::SeqCst);
                let _ = stop.send(());
                if let Ok(mut set) = task.await {
                    set.shutdown().await;
                }
                self.going_down.store(false, Ordering::SeqCst);
                *self.state_lock() = ServerState::Down(bind_socket(self.addr).ok());
                Ok(())
            }
            other => {
                self.going_down.store(false, Ordering::SeqCst);
                *self.state_lock() = other;
                Ok(())
            }
        }
    }

    pub(crate) async fn come_up(self: &Arc<Self>) -> anyhow::Result<()> {
        let _t = self.transition.lock().await;
        let st = std::mem::replace(&mut *self.state_lock(), ServerState::Transition);
        match st {
            ServerState::Down(sock) => {
                let listener = sock
                    .map_or_else(|| bind_socket(self.addr), Ok)
                    .and_then(|s| s.listen(1024))
                    .with_context(|| format!("listening on {}", self.addr));
                let listener = match listener {
                    Ok(l) => l,
                    Err(e) => {
                        *self.state_lock() = ServerState::Down(None);
                        return Err(e);
                    }
                };
                let (stop_tx, stop_rx) = oneshot::channel();
                let down = Arc::new(AtomicBool::new(false));
                let task = tokio::spawn(accept_loop(listener, self.clone(), stop_rx, down.clone()));
                *self.state_lock() = ServerState::Listening {
                    stop: stop_tx,
                    task,
                    down,
                };
                Ok(())
            }
            other => {
                *self.state_lock() = other;
                Ok(())
            }
        }
    }

    async fn shutdown(&self) {
        self.abort_timers();
        let _t = self.transition.lock().await;
        let st = std::mem::replace(&mut *self.state_lock(), ServerState::Shutdown);
        if let ServerState::Listening { stop, task, down } = st {
            down.store(true, Ordering::SeqCst);
            let _ = stop.send(());
            if let Ok(mut set) = task.await {
                set.shutdown().await;
            }
        }
    }

    fn abort_timers(&self) {
        for t in lock(&self.timers).drain(..) {
            t.abort();
        }
    }

    /// Synchronous stop (for `Drop`): the accept loop ends and drops its connections.
    fn stop_now(&self) {
        self.abort_timers();
        let st = std::mem::replace(&mut *self.state_lock(), ServerState::Shutdown);
        if let ServerState::Listening { stop, task, down } = st {
            down.store(true, Ordering::SeqCst);
            let _ = stop.send(());
            task.abort();
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    inner: Arc<Inner>,
    mut stop: oneshot::Receiver<()>,
    down: Arc<AtomicBool>,
) -> JoinSet<()> {
    let router = crate::routes::router(inner.clone());
    let mut set = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = set.join_next(), if !set.is_empty() => {}
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    inner.stats().connections_accepted += 1;
                    set.spawn(serve_conn(stream, router.clone(), down.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
    drop(listener);
    set
}

/// Per-connection control, available to handlers as a request extension.
#[derive(Clone)]
pub(crate) struct ConnCtl {
    rst: Arc<AtomicBool>,
    kill: Arc<Notify>,
}

impl ConnCtl {
    /// Drop the connection with an RST (the handler should then await forever).
    pub(crate) fn reset(&self) {
        self.rst.store(true, Ordering::SeqCst);
        self.kill.notify_one();
    }
}

async fn serve_conn(stream: TcpStream, router: axum::Router, down: Arc<AtomicBool>) {
    let _ = stream.set_nodelay(true);
    let ctl = ConnCtl {
        rst: Arc::new(AtomicBool::new(false)),
        kill: Arc::new(Notify::new()),
    };
    let io = ConnIo {
        stream,
        rst: ctl.rst.clone(),
        down,
    };
    let kill = ctl.kill.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ctl.clone());
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}

/// The TCP stream; on drop, closes with RST (SO_LINGER 0) when the handler asked for a
/// reset or the server went down.
struct ConnIo {
    stream: TcpStream,
    rst: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.rst.load(Ordering::SeqCst) || self.down.load(Ordering::SeqCst) {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
