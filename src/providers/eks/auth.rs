//! EKS bearer tokens on every Kubernetes request.
//!
//! EKS (aws-iam-authenticator) refuses a token 15 minutes after its `X-Amz-Date`, and a single
//! apply can wait for hours on a claim resize or a volume modification. So the token is not
//! baked into the client: this layer puts a token on each request, signs a new one when the
//! current one is older than `TOKEN_REFRESH`, and when the cluster still answers 401 (clock
//! skew, a token revoked early) signs a new one and sends the request once more.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_credential_types::provider::ProvideCredentials;
use futures::future::BoxFuture;
use http::{header::AUTHORIZATION, HeaderValue, Request, Response, StatusCode};
use kube::client::Body;
use tokio::sync::Mutex;
use tower::buffer::Buffer;
use tower::{BoxError, Layer, Service, ServiceExt};

use super::token;
use crate::providers::Aws;

/// EKS accepts a token for 15 minutes after it was signed; sign a new one well before that.
pub const TOKEN_REFRESH: Duration = Duration::from_secs(10 * 60);

/// Signs EKS tokens for one cluster and keeps the newest.
pub struct TokenSource {
    aws: Aws,
    cluster: String,
    current: Mutex<Option<(HeaderValue, Instant)>>,
}

impl TokenSource {
    pub fn new(aws: &Aws, cluster: &str) -> Arc<TokenSource> {
        Arc::new(TokenSource {
            aws: aws.clone(),
            cluster: cluster.to_string(),
            current: Mutex::new(None),
        })
    }

    /// The `Authorization` header to send: the current token while it is younger than
    /// `TOKEN_REFRESH`, else (or with `renew`) a newly signed one.
    pub async fn header(&self, renew: bool) -> Result<HeaderValue, BoxError> {
        let mut current = self.current.lock().await;
        if let Some((header, signed_at)) = current.as_ref() {
            if !renew && signed_at.elapsed() < TOKEN_REFRESH {
                return Ok(header.clone());
            }
        }
        let credentials = self
            .aws
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials to sign an EKS token with: {e}"))?;
        let token = token::eks_token(
            &credentials,
            &self.aws.region,
            &self.cluster,
            std::time::SystemTime::now(),
        )
        .map_err(|e| format!("{e:#}"))?;
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))?;
        // Keeps the token out of debug output of the HTTP stack.
        header.set_sensitive(true);
        *current = Some((header.clone(), Instant::now()));
        Ok(header)
    }
}

/// The tower layer that adds the token; see the module documentation.
#[derive(Clone)]
pub struct EksTokenLayer {
    pub tokens: Arc<TokenSource>,
}

impl<S, B> Layer<S> for EksTokenLayer
where
    S: Service<Request<Body>, Response = Response<B>, Error = BoxError> + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Service = EksTokenService<S::Future, B>;

    fn layer(&self, inner: S) -> Self::Service {
        EksTokenService {
            inner: Buffer::new(inner, 64),
            tokens: self.tokens.clone(),
            body: std::marker::PhantomData,
        }
    }
}

pub struct EksTokenService<F, B> {
    inner: Buffer<Request<Body>, F>,
    tokens: Arc<TokenSource>,
    body: std::marker::PhantomData<fn() -> B>,
}

impl<F, B> Service<Request<Body>> for EksTokenService<F, B>
where
    F: Future<Output = Result<Response<B>, BoxError>> + Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    /// Readiness is awaited inside each call, on its own handle to the buffered service.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let tokens = self.tokens.clone();
        Box::pin(send_with_token(inner, tokens, request))
    }
}

async fn send_with_token<F, B>(
    mut inner: Buffer<Request<Body>, F>,
    tokens: Arc<TokenSource>,
    request: Request<Body>,
) -> Result<Response<B>, BoxError>
where
    F: Future<Output = Result<Response<B>, BoxError>> + Send + 'static,
{
    let second_try = copy_request(&request);
    let response = send(&mut inner, request, tokens.header(false).await?).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    let Some(second_try) = second_try else {
        return Ok(response);
    };
    tracing::debug!("the cluster refused the EKS token (401): signing a new one and retrying once");
    send(&mut inner, second_try, tokens.header(true).await?).await
}

async fn send<F, B>(
    inner: &mut Buffer<Request<Body>, F>,
    mut request: Request<Body>,
    authorization: HeaderValue,
) -> Result<Response<B>, BoxError>
where
    F: Future<Output = Result<Response<B>, BoxError>> + Send + 'static,
{
    request.headers_mut().insert(AUTHORIZATION, authorization);
    inner.ready().await?.call(request).await
}

/// A copy of a request whose body is in memory (every request pipectl makes), for the retry.
fn copy_request(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .version(request.version())
        .body(body)
        .ok()?;
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}
