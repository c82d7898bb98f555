//! One outgoing request, sent over a connection to an address the egress
//! rules already checked: TCP to that address, TLS (server name from the
//! URL, certificates from the webpki roots) for `https`, then HTTP/1.1.
//! The request body is capped, so a bot cannot stream the host an
//! unbounded upload.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// The largest request body a bot may send. Requests to a web API carry
/// a document, not a file.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Connecting, and then waiting for the response to start, when the bot
/// does not say: the invocation's deadline bounds both anyway.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

type Sent = Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>;

/// Sends `request` to `addr`, speaking TLS to `host` when `tls`.
pub(super) async fn send(
    mut request: http::Request<WasiBody>,
    addr: SocketAddr,
    host: &str,
    tls: bool,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, Sent), HttpError> {
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::Connect)?;
    prepare(&mut request, host)?;
    let limited = request.map(|body| {
        http_body_util::Limited::new(body, MAX_REQUEST_BODY)
            .map_err(|_| HttpError::HttpRequestBodySize(Some(MAX_REQUEST_BODY as u64)))
            .boxed_unsync()
    });
    if tls {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| HttpError::TlsCertificateError)?;
        let stream = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await
            .map_err(HttpError::Tls)?;
        exchange(TokioIo::new(stream), limited, connect_timeout, first_byte).await
    } else {
        exchange(TokioIo::new(tcp), limited, connect_timeout, first_byte).await
    }
}

/// HTTP/1.1 sends the path, not the whole URL; `Host` names the server.
fn prepare(request: &mut http::Request<WasiBody>, host: &str) -> Result<(), HttpError> {
    let uri = request.uri().clone();
    if !request.headers().contains_key(http::header::HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        let value =
            http::HeaderValue::from_str(authority).map_err(|_| HttpError::HttpRequestUriInvalid)?;
        request.headers_mut().insert(http::header::HOST, value);
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    *request.uri_mut() = path.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
    Ok(())
}

/// The handshake, the request, and the response with its body as WASI
/// HTTP wants it; the connection is driven by the returned future.
async fn exchange<S>(
    io: TokioIo<S>,
    request: http::Request<WasiBody>,
    connect_timeout: Duration,
    first_byte: Duration,
) -> Result<(http::Response<WasiBody>, Sent), HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        tokio::time::timeout(connect_timeout, hyper::client::conn::http1::handshake(io))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)??;
    let driven: Sent = Box::new(async move { connection.await.map_err(HttpError::from) });
    // The connection must make progress while the request is sent.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let outcome = Box::into_pin(driven).await;
        let _ = done_tx.send(outcome);
    });
    let response = tokio::time::timeout(first_byte, sender.send_request(request))
        .await
        .map_err(|_| HttpError::HttpResponseTimeout)??;
    let response = response.map(|body| body.map_err(HttpError::from).boxed_unsync());
    let finished: Sent = Box::new(async move { done_rx.await.unwrap_or(Ok(())) });
    Ok((response, finished))
}

/// One TLS client configuration for the process, with the webpki roots.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, HttpError> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            match rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
            {
                Ok(b) => Some(Arc::new(
                    b.with_root_certificates(roots).with_no_client_auth(),
                )),
                Err(e) => {
                    tracing::error!("no TLS client configuration: {e}");
                    None
                }
            }
        })
        .clone()
        .ok_or(HttpError::TlsProtocolError)
}
