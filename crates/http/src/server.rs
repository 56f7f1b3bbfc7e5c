//! The server's lifecycle: bind the listeners (plain HTTP, or HTTPS plus an optional plain
//! listener that redirects to it), serve, and on shutdown stop accepting, let in-flight
//! requests finish within `server.shutdown_grace_secs`, then stop the audit writer (which
//! writes the open refusal summaries and a final checkpoint) and close the stores.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use meetvault_core::Core;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::middleware::metrics::Metrics;
use crate::peer::PeerAddr;
use crate::redirect;
use crate::state::AppState;
use crate::tls::{self, TlsError, TlsListener};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "cannot listen on {addr}: {source} (is another process using it? change server.listen)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("building the OpenAPI document failed")]
    OpenApi(#[from] serde_json::Error),
    #[error("serving HTTP failed")]
    Serve(#[source] std::io::Error),
    #[error("a listener task failed")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Debug)]
enum MainListener {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// A bound, not yet serving, meetvault server.
#[derive(Debug)]
pub struct Server {
    core: Core,
    main: MainListener,
    local_addr: SocketAddr,
    redirect: Option<(TcpListener, Router)>,
    redirect_addr: Option<SocketAddr>,
    app: Router,
    grace: Duration,
}

impl Server {
    /// Builds the application and binds every configured listener.
    pub async fn bind(core: Core) -> Result<Self, ServerError> {
        let config = core.config().clone();
        let tls_config = match &config.server.tls {
            Some(t) => Some(tls::server_config(&t.cert_file, &t.key_file)?),
            None => None,
        };
        let addr = config.server.listen;
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = tcp
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        if tls_config.is_none() {
            // Bots on this machine reach the plain listener (unless `bot.server_url` says
            // otherwise); with TLS the operator names the URL.
            core.bot_runtime().set_local_server(local_addr);
        }
        let main = match tls_config {
            Some(tls) => MainListener::Tls(
                TlsListener::new(tcp, tls).map_err(|source| ServerError::Bind { addr, source })?,
            ),
            None => MainListener::Plain(tcp),
        };
        let redirect = match config.server.tls.as_ref().and_then(|t| t.redirect_listen) {
            Some(addr) => {
                let tcp = TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServerError::Bind { addr, source })?;
                let app = redirect::app(config.server.public_url.clone(), local_addr.port());
                Some((tcp, app))
            }
            None => None,
        };
        let redirect_addr = match &redirect {
            Some((tcp, _)) => Some(tcp.local_addr().map_err(|source| ServerError::Bind {
                addr: local_addr,
                source,
            })?),
            None => None,
        };
        let state = AppState {
            core: core.clone(),
            metrics: Arc::new(Metrics::new()),
        };
        Ok(Self {
            app: crate::router::app(state)?,
            core,
            main,
            local_addr,
            redirect,
            redirect_addr,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
        })
    }

    /// The main listener's address (its port, when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect_addr
    }

    pub fn scheme(&self) -> &'static str {
        match self.main {
            MainListener::Plain(_) => "http",
            MainListener::Tls(_) => "https",
        }
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests for at most the grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        self.run_until(shutdown, async {}).await
    }

    /// As [`Server::run`], and once `shutdown` resolved and the listeners stopped accepting,
    /// `wind_down` (stopping the job workers) runs beside the drain, before the stores close:
    /// a worker waiting on a busy database never keeps the listeners open.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        wind_down: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        // Checkpoints and refusal summaries are written by this task only, never by a read.
        let audit = self.core.start_audit_writer().await;
        let token = CancellationToken::new();
        let make = self.app.into_make_service_with_connect_info::<PeerAddr>();
        let mut tasks = tokio::task::JoinSet::new();
        match self.main {
            MainListener::Plain(l) => {
                let serve =
                    axum::serve(l, make).with_graceful_shutdown(token.clone().cancelled_owned());
                tasks.spawn(async move { serve.await });
            }
            MainListener::Tls(l) => {
                let serve =
                    axum::serve(l, make).with_graceful_shutdown(token.clone().cancelled_owned());
                tasks.spawn(async move { serve.await });
            }
        }
        if let Some((l, app)) = self.redirect {
            let make = app.into_make_service_with_connect_info::<PeerAddr>();
            let serve =
                axum::serve(l, make).with_graceful_shutdown(token.clone().cancelled_owned());
            tasks.spawn(async move { serve.await });
        }

        let early = tokio::select! {
            () = shutdown => None,
            Some(result) = tasks.join_next() => Some(result),
        };
        token.cancel();
        if let Some(result) = early {
            // A listener stopped on its own: that is a failure, whatever it returned.
            tasks.abort_all();
            audit.shutdown().await;
            self.core.close().await;
            return match result? {
                Ok(()) => Err(ServerError::Serve(std::io::Error::other(
                    "a listener stopped unexpectedly",
                ))),
                Err(e) => Err(ServerError::Serve(e)),
            };
        }
        tracing::info!(
            grace_secs = self.grace.as_secs(),
            "shutting down: finishing in-flight requests"
        );
        let (drained, ()) = tokio::join!(
            tokio::time::timeout(self.grace, async {
                while let Some(result) = tasks.join_next().await {
                    if let Ok(Err(e)) = result {
                        tracing::warn!(error = %e, "listener ended with an error during shutdown");
                    }
                }
            }),
            wind_down
        );
        if drained.is_err() {
            tracing::warn!("grace period over: closing the remaining connections");
            tasks.abort_all();
        }
        audit.shutdown().await;
        self.core.close().await;
        tracing::info!("shut down");
        Ok(())
    }
}
