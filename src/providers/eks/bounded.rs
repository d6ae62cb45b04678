//! A deadline and a size cap on every Kubernetes API request, body included. The client's read
//! timeout is per socket read: an API server (or anything in front of it) that trickles a byte
//! every few seconds would hold a plan forever, and one that streams without end would fill
//! memory. Every request pipectl makes is small and answered in well under a second.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body::{Body, Frame};
use tower::{BoxError, Layer, Service};

/// How long one request may take, from sending it to the last byte of its answer.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);
/// The largest answer read (a list of every PersistentVolume of a large cluster is a few MiB).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct BoundedLayer {
    pub deadline: Duration,
    pub max_bytes: usize,
}

impl Default for BoundedLayer {
    fn default() -> Self {
        BoundedLayer {
            deadline: REQUEST_DEADLINE,
            max_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

impl<S> Layer<S> for BoundedLayer {
    type Service = Bounded<S>;

    fn layer(&self, inner: S) -> Bounded<S> {
        Bounded {
            inner,
            limits: *self,
        }
    }
}

#[derive(Clone)]
pub struct Bounded<S> {
    inner: S,
    limits: BoundedLayer,
}

impl<S, ReqBody, B> Service<Request<ReqBody>> for Bounded<S>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<BoundedBody<B>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let limits = self.limits;
        let what = format!("{} {}", request.method(), request.uri().path());
        let deadline = tokio::time::Instant::now() + limits.deadline;
        let sent = self.inner.call(request);
        Box::pin(async move {
            let response = tokio::time::timeout_at(deadline, sent)
                .await
                .map_err(|_| late(&what, limits.deadline))?
                .map_err(Into::into)?;
            Ok(response.map(|body| BoundedBody {
                inner: Box::pin(body),
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                read: 0,
                limits,
                what,
            }))
        })
    }
}

fn late(what: &str, deadline: Duration) -> BoxError {
    format!(
        "the Kubernetes API did not finish answering {what} within {} s",
        deadline.as_secs()
    )
    .into()
}

/// An answer's body, read under the request's deadline and up to the size cap.
pub struct BoundedBody<B> {
    inner: Pin<Box<B>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    read: usize,
    limits: BoundedLayer,
    what: String,
}

impl<B> Body for BoundedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(late(&this.what, this.limits.deadline))));
        }
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.read += frame.data_ref().map_or(0, Bytes::len);
                if this.read > this.limits.max_bytes {
                    return Poll::Ready(Some(Err(format!(
                        "the Kubernetes API's answer to {} is larger than {} MiB",
                        this.what,
                        this.limits.max_bytes / (1024 * 1024)
                    )
                    .into())));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An HTTP server that answers 200 with a JSON body sent one byte every 100 ms, or a body
    /// far larger than the cap, as fast as it can.
    async fn server(trickle: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            loop {
                let chunk: Vec<u8> = if trickle {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    b"1\r\n \r\n".to_vec()
                } else {
                    let data = vec![b' '; 65536];
                    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
                    chunk.extend(data);
                    chunk.extend(b"\r\n");
                    chunk
                };
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        address
    }

    async fn get_namespace(address: &str, limits: BoundedLayer) -> String {
        let config = kube::Config::new(address.parse().expect("a URL"));
        let client = kube::client::ClientBuilder::try_from(config)
            .expect("builder")
            .with_layer(&limits)
            .build();
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        match api.get("kafka").await {
            Ok(_) => "answered".into(),
            Err(error) => format!("{error}"),
        }
    }

    #[tokio::test]
    async fn a_trickling_answer_ends_at_the_request_deadline() {
        let address = server(true).await;
        let started = std::time::Instant::now();
        let limits = BoundedLayer {
            deadline: Duration::from_secs(1),
            ..BoundedLayer::default()
        };
        let error = get_namespace(&address, limits).await;
        assert!(error.contains("did not finish answering"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn an_endless_answer_ends_at_the_size_cap() {
        let address = server(false).await;
        let limits = BoundedLayer {
            max_bytes: 1024 * 1024,
            ..BoundedLayer::default()
        };
        let error = get_namespace(&address, limits).await;
        assert!(error.contains("larger than 1 MiB"), "{error}");
    }
}
