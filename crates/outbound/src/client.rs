//! The one HTTP client for URLs a user supplied: every request is checked against the
//! [`Policy`] first (scheme, credentials, literal addresses), its host name is resolved by the
//! client's own resolver, which refuses an answer holding any address the policy does not allow,
//! and the connection goes to exactly the addresses that answer held — no second lookup, so a
//! name that answers public at registration and private at delivery (DNS rebinding) is refused.
//! No redirect is followed, no proxy from the environment is used, a response body is read up
//! to a bound, and every request has a deadline.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::{OutboundError, Policy};

/// How host names are looked up: the system's resolver in production, a scripted one in tests.
pub trait Lookup: Send + Sync {
    /// The addresses `name` has now (empty or an error when it has none).
    fn lookup<'a>(
        &'a self,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(
        &'a self,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            // `[::1]` comes bracketed from a URL; the resolver wants it bare.
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            Ok(tokio::net::lookup_host((bare, 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Limits of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// The whole request, connection to last byte.
    pub timeout: Duration,
    /// Connecting alone.
    pub connect_timeout: Duration,
    /// The most of a response body [`Client::read_body`] keeps, in bytes.
    pub max_body: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            max_body: 1 << 20,
        }
    }
}

/// Why a request through the [`Client`] did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The policy refused the URL or what its name resolved to; nothing was sent.
    #[error("the URL {0}")]
    Refused(#[from] OutboundError),
    /// The request failed on the way (connection refused, timeout, TLS).
    #[error("the request failed: {0}")]
    Http(reqwest::Error),
    /// The response body was larger than the client keeps.
    #[error("the response body is larger than {0} bytes")]
    BodyTooLarge(usize),
}

/// The outbound HTTP client (cheap to clone).
#[derive(Clone)]
pub struct Client {
    policy: Policy,
    http: reqwest::Client,
    options: ClientOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The resolver the HTTP client connects through: the lookup, screened by the policy.
struct Screened {
    policy: Policy,
    lookup: Arc<dyn Lookup>,
}

impl reqwest::dns::Resolve for Screened {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let name = name.as_str().to_owned();
            let ips = lookup.lookup(&name).await.unwrap_or_default();
            let ips = policy.screen(&name, ips)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl Client {
    /// A client under `policy`, resolving with the system's resolver.
    pub fn new(policy: Policy, options: ClientOptions) -> Result<Self, SendError> {
        Self::with_lookup(policy, Arc::new(SystemLookup), options)
    }

    /// A client under `policy` whose names are looked up by `lookup`.
    pub fn with_lookup(
        policy: Policy,
        lookup: Arc<dyn Lookup>,
        options: ClientOptions,
    ) -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(Screened {
                policy: policy.clone(),
                lookup,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(SendError::Http)?;
        Ok(Self {
            policy,
            http,
            options,
        })
    }

    /// The policy it sends under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A request builder for `method` on `url`, if the policy allows the URL (sent with
    /// [`Client::send`], which checks it again).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, SendError> {
        self.policy.check_url(&url)?;
        Ok(self.http.request(method, url))
    }

    /// Sends `request` if the policy allows its URL; a redirect comes back as the response it
    /// is (3xx), never followed.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SendError> {
        let request = request.build().map_err(SendError::Http)?;
        self.policy.check_url(request.url())?;
        self.http.execute(request).await.map_err(|e| {
            // The resolver's refusal comes back wrapped in the connection error.
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if let Some(refused) = s.downcast_ref::<OutboundError>() {
                    return SendError::Refused(refused.clone());
                }
                source = s.source();
            }
            SendError::Http(e)
        })
    }

    /// Reads `response`'s body, refusing one over the client's `max_body`.
    pub async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, SendError> {
        let max = self.options.max_body;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(SendError::BodyTooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(SendError::Http)? {
            if body.len() + chunk.len() > max {
                return Err(SendError::BodyTooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The [`Client`]'s screened HTTP stack for `object_store` (a customer's bucket): every
/// connection resolves through the policy's screen, so a bucket endpoint that points inside
/// (or starts to, by DNS) is never connected to; no redirects, no proxy.
#[derive(Debug, Clone)]
pub struct ObjectStoreConnector {
    http: reqwest::Client,
}

impl object_store::client::HttpConnector for ObjectStoreConnector {
    fn connect(
        &self,
        _options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        Ok(object_store::client::HttpClient::new(self.http.clone()))
    }
}

impl Client {
    /// This client's HTTP stack as an `object_store` connector. The caller checks the bucket's
    /// endpoint URL with [`Policy::resolve`] first (an IP literal never reaches the resolver).
    pub fn object_store_connector(&self) -> ObjectStoreConnector {
        ObjectStoreConnector {
            http: self.http.clone(),
        }
    }
}
