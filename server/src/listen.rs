//! The HTTP server loop: the application's router on hyper's HTTP/1 connections, with the
//! connection deadlines a service on the open internet needs. A client that trickles its
//! headers, opens a connection and sends nothing, or idles between requests is closed after
//! the header deadline; a request body that stops arriving ends after the body deadline (see
//! `docs/threat-model.md`). Shutdown is graceful: the listener closes, idle connections close,
//! and requests in flight finish.
use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;
use tracing::{debug, warn};

/// Connection deadlines.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// From the moment the server waits for a request (a new connection, or an idle kept-alive
    /// one) until its headers are complete.
    pub headers: Duration,
    /// Longest wait for the next piece of a request body.
    pub body: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the connections to end.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection holds a receiver; `closed()` resolves when the last one is gone.
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, for instance: wait instead of spinning.
                    warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone()
                .oneshot(req.map(|b| Body::new(TimeoutBody::new(deadlines.body, b))))
        });
        let (mut stop, open) = (stop_rx.clone(), open_rx.clone());
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(deadlines.headers);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        debug!(%peer, error = %e, "connection ended");
                    }
                }
                _ = async { stop.wait_for(|stopping| *stopping).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
}
