//! The calendar crate's door to the network: the server's outbound client (SSRF policy, no
//! redirects, bounded bodies, deadlines). Errors never carry the URL: sync and delta links
//! hold tokens.

use meetvault_calendar::{Http, HttpError, HttpRequest, HttpResponse};
use meetvault_outbound::{Client, SendError};

pub(crate) struct OutboundHttp<'a>(pub(crate) &'a Client);

fn error(e: SendError) -> HttpError {
    match e {
        SendError::Refused(r) => HttpError::Refused(r.to_string()),
        SendError::BodyTooLarge(n) => HttpError::BodyTooLarge(n),
        SendError::Http(e) if e.is_timeout() => HttpError::Timeout,
        SendError::Http(e) => HttpError::Transport(e.without_url().to_string()),
    }
}

#[async_trait::async_trait]
impl Http for OutboundHttp<'_> {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut builder = self
            .0
            .request(req.method.clone(), req.url.clone())
            .map_err(error)?
            .headers(req.headers.clone());
        if let Some(body) = &req.body {
            builder = builder.body(body.to_vec());
        }
        let resp = self.0.send(builder).await.map_err(error)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = self.0.read_body(resp).await.map_err(error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
