//! [`crate::http`] over the WASI HTTP imports, inside a component.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

use crate::http::{MAX_RESPONSE_BYTES, Method, Request, Response, split_url};
use crate::{HostError, HostErrorKind};

fn failed(what: impl std::fmt::Display) -> HostError {
    HostError::new(HostErrorKind::Http, what.to_string())
}

fn from_code(code: ErrorCode) -> HostError {
    match code {
        ErrorCode::HttpRequestDenied => HostError::new(
            HostErrorKind::NotAllowed,
            "the host is not in the metaservice's egress list",
        ),
        other => failed(format!("{other:?}")),
    }
}

pub(crate) fn send(req: &Request) -> Result<Response, HostError> {
    let url = split_url(&req.url)?;
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers)
        .map_err(|e| HostError::new(HostErrorKind::Invalid, format!("headers: {e:?}")))?;
    let out = OutgoingRequest::new(fields);
    let method = match req.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    };
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let set = out.set_method(&method).is_ok()
        && out.set_scheme(Some(&scheme)).is_ok()
        && out.set_authority(Some(url.authority)).is_ok()
        && out.set_path_with_query(Some(url.path_and_query)).is_ok();
    if !set {
        return Err(HostError::new(
            HostErrorKind::Invalid,
            format!("{} cannot be requested", req.url),
        ));
    }
    let body = out.body().map_err(|_| failed("no request body"))?;
    let pending = outgoing_handler::handle(out, None).map_err(from_code)?;
    {
        let stream = body.write().map_err(|_| failed("no request body stream"))?;
        for chunk in req.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| failed(format!("sending the body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(from_code)?;

    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(from_code(code)),
        Some(Err(())) | None => return Err(failed("the response was lost")),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|_| failed("no response body"))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|_| failed("no response body stream"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_RESPONSE_BYTES {
                        return Err(failed(format!(
                            "the response is larger than {MAX_RESPONSE_BYTES} bytes"
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(e) => return Err(failed(format!("reading the response: {e:?}"))),
            }
        }
    }
    let _trailers = IncomingBody::finish(incoming);
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}
