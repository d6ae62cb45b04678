//! Keeping under AWS's request-rate quotas. Lambda allows GetFunction 100 requests per second
//! and every other control-plane call 15 per second, per account and region, and neither can be
//! raised; EC2 keeps a token bucket per API. Throttled calls are retried by the SDK, but they
//! also eat into the quota of every other tool and deploy job in the account. So every AWS
//! request pipectl makes, read or write, first takes a token from a client-side bucket with the
//! documented rate times `--api-rate-share` (default 0.5: half is left to others), shared by
//! everything one process does (a multi-stack `drift` included). A throttling answer halves that
//! bucket's rate (it recovers by 2 % per answered call), as the SDKs' adaptive retry mode does.
//!
//! The numbers and their pages are in `QUOTAS`, and docs/performance.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// A documented quota: bucket capacity and refill per second, and where it is written.
pub struct Quota {
    pub bucket: &'static str,
    pub capacity: f64,
    pub per_second: f64,
    pub source: &'static str,
}

/// The request-rate quotas AWS documents for the calls pipectl makes (checked 2026-11).
/// Secrets Manager documents rates far above pipectl's one GetSecretValue per run (10,000 per
/// second; "AWS Secrets Manager quotas"), so it is not paced.
/// SageMaker, Application Auto Scaling, EKS and STS document no per-API rate
/// for these calls: their requests are not limited here (the SDK's retries still apply).
pub const QUOTAS: &[Quota] = &[
    Quota {
        bucket: "lambda:GetFunction",
        capacity: 100.0,
        per_second: 100.0,
        source: "Lambda quotas, API requests: GetFunction 100 requests per second, cannot be increased",
    },
    Quota {
        bucket: "lambda:control-plane",
        capacity: 15.0,
        per_second: 15.0,
        source: "Lambda quotas, API requests: control plane requests other than invocation, GetFunction and GetPolicy 15 per second across all APIs, cannot be increased",
    },
    Quota {
        bucket: "ec2:non-mutating",
        capacity: 100.0,
        per_second: 20.0,
        source: "Request throttling for the Amazon EC2 API: non-mutating actions, a bucket per API of 100, refilled 20 per second",
    },
    Quota {
        bucket: "ec2:unfiltered",
        capacity: 50.0,
        per_second: 10.0,
        source: "Request throttling for the Amazon EC2 API: DescribeVolumes and the other unfiltered and unpaginated non-mutating actions, 50, refilled 10 per second",
    },
    Quota {
        bucket: "ec2:mutating",
        capacity: 50.0,
        per_second: 5.0,
        source: "Request throttling for the Amazon EC2 API: mutating actions (ModifyVolume), 50, refilled 5 per second",
    },
    Quota {
        bucket: "dynamodb:control-plane",
        capacity: 2500.0,
        per_second: 2500.0,
        source: "Best practices for managing the control plane in DynamoDB: a control plane throttle limit of 2,500 requests per second",
    },
    Quota {
        bucket: "dynamodb:TagResource",
        capacity: 5.0,
        per_second: 5.0,
        source: "DynamoDB API reference, TagResource: you can call TagResource up to five times per second, per account",
    },
    Quota {
        bucket: "dynamodb:UntagResource",
        capacity: 5.0,
        per_second: 5.0,
        source: "DynamoDB API reference, UntagResource: you can call UntagResource up to five times per second, per account",
    },
];

/// EC2's actions that draw from the smaller bucket when sent without a filter or pagination.
const EC2_UNFILTERED: &[&str] = &[
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
];

/// DynamoDB's item calls are data plane (the lock table), not the control-plane quota.
const DYNAMODB_ITEM_CALLS: &[&str] = &["GetItem", "PutItem", "UpdateItem", "DeleteItem"];

/// Which quota bucket a request draws from (with the EC2 action, whose buckets are per API),
/// or None when its service documents none.
pub fn bucket_of(service: &str, request: &HttpRequest) -> Option<(&'static str, String)> {
    match service {
        "lambda" => {
            let path = request.uri().split('?').next().unwrap_or("");
            let path = path.split("://").nth(1).map_or(path, |rest| {
                rest.find('/').map_or("", |slash| &rest[slash..])
            });
            let get_function = request.method() == "GET"
                && path
                    .strip_prefix("/2015-03-31/functions/")
                    .is_some_and(|rest| !rest.trim_end_matches('/').contains('/'));
            let bucket = if get_function {
                "lambda:GetFunction"
            } else {
                "lambda:control-plane"
            };
            Some((bucket, String::new()))
        }
        "ec2" => {
            let body = request.body().bytes().unwrap_or_default();
            let form = String::from_utf8_lossy(body);
            let action = form
                .split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
                .unwrap_or("")
                .to_string();
            let read = ["Describe", "Get", "List", "Search"]
                .iter()
                .any(|p| action.starts_with(p));
            let filtered = form.contains("Filter.") || form.contains("MaxResults=");
            let bucket = if !read {
                "ec2:mutating"
            } else if EC2_UNFILTERED.contains(&action.as_str()) && !filtered {
                "ec2:unfiltered"
            } else {
                "ec2:non-mutating"
            };
            Some((bucket, action))
        }
        "dynamodb" => {
            let target = request.headers().get("x-amz-target").unwrap_or("");
            let operation = target.rsplit('.').next().unwrap_or("");
            let bucket = match operation {
                "TagResource" => "dynamodb:TagResource",
                "UntagResource" => "dynamodb:UntagResource",
                _ if DYNAMODB_ITEM_CALLS.contains(&operation) => return None,
                _ => "dynamodb:control-plane",
            };
            Some((bucket, String::new()))
        }
        _ => None,
    }
}

struct Bucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
    /// 1.0, halved by each throttling answer, recovering 2 % per answered call.
    pace: f64,
}

impl Bucket {
    fn new(bucket: &str, share: f64, now: Instant) -> Bucket {
        let quota = QUOTAS.iter().find(|q| q.bucket == bucket);
        let (capacity, per_second) = quota.map_or((1.0, 1.0), |q| (q.capacity, q.per_second));
        let capacity = (capacity * share).max(1.0);
        Bucket {
            capacity,
            per_second: per_second * share,
            tokens: capacity,
            last: now,
            pace: 1.0,
        }
    }

    /// Takes a token at `now`, or says how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let rate = self.per_second * self.pace;
        self.tokens = (self.tokens + elapsed * rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / rate).max(0.001),
            ))
        }
    }
}

/// Every bucket of one process, by (region, bucket, EC2 action).
pub struct Limiter {
    share: f64,
    buckets: Mutex<HashMap<(String, &'static str, String), Bucket>>,
    /// Throttling answers seen, for `-v` and the benchmark.
    throttled: Mutex<HashMap<&'static str, u64>>,
}

static LIMITER: OnceLock<Arc<Limiter>> = OnceLock::new();

impl Limiter {
    /// The process's limiter; the first call's share wins (one process, one share).
    pub fn shared(share: f64) -> Arc<Limiter> {
        LIMITER
            .get_or_init(|| {
                Arc::new(Limiter {
                    share: share.clamp(0.01, 1.0),
                    buckets: Mutex::new(HashMap::new()),
                    throttled: Mutex::new(HashMap::new()),
                })
            })
            .clone()
    }

    /// Waits until the bucket has a token, then takes it.
    async fn acquire(&self, key: &(String, &'static str, String)) {
        loop {
            let taken = {
                let Ok(mut buckets) = self.buckets.lock() else {
                    return;
                };
                let now = Instant::now();
                buckets
                    .entry(key.clone())
                    .or_insert_with(|| Bucket::new(key.1, self.share, now))
                    .take(now)
            };
            match taken {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    fn answered(&self, key: &(String, &'static str, String), throttled: bool) {
        if let Ok(mut buckets) = self.buckets.lock() {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.pace = if throttled {
                    (bucket.pace / 2.0).max(0.05)
                } else {
                    (bucket.pace * 1.02).min(1.0)
                };
            }
        }
        if throttled {
            if let Ok(mut counts) = self.throttled.lock() {
                *counts.entry(key.1).or_default() += 1;
            }
        }
    }

    /// Throttling answers by bucket so far.
    pub fn throttled(&self) -> Vec<(&'static str, u64)> {
        let mut counts: Vec<_> = self
            .throttled
            .lock()
            .map(|c| c.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        counts.sort();
        counts
    }
}

/// The SDK's HTTP client, with every request of one service paced by the limiter.
#[derive(Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
    limiter: Arc<Limiter>,
    service: &'static str,
    region: String,
}

impl std::fmt::Debug for PacedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PacedClient({})", self.service)
    }
}

impl PacedClient {
    /// The SDK client `inner`, paced: what a service's `http_client` is set to.
    pub fn shared(
        inner: SharedHttpClient,
        limiter: Arc<Limiter>,
        service: &'static str,
        region: &str,
    ) -> SharedHttpClient {
        SharedHttpClient::new(PacedClient {
            inner,
            limiter,
            service,
            region: region.to_string(),
        })
    }
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            client: self.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    client: PacedClient,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let key = bucket_of(client.service, &request)
            .map(|(bucket, action)| (client.region.clone(), bucket, action));
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(key) = &key {
                client.limiter.acquire(key).await;
            }
            let response = inner.call(request).await?;
            if let Some(key) = &key {
                // Lambda throttles with 429, EC2 with 503 RequestLimitExceeded.
                let status = response.status().as_u16();
                client.limiter.answered(key, status == 429 || status == 503);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    fn request(method: &str, uri: &str, body: &str) -> HttpRequest {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(SdkBody::from(body.to_string()))
            .expect("request");
        HttpRequest::try_from(request).expect("smithy request")
    }

    #[test]
    fn requests_map_to_the_documented_buckets() {
        let get = request(
            "GET",
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f",
            "",
        );
        assert_eq!(bucket_of("lambda", &get).unwrap().0, "lambda:GetFunction");
        let list = request(
            "GET",
            "https://x/2015-03-31/event-source-mappings/?FunctionName=f",
            "",
        );
        assert_eq!(
            bucket_of("lambda", &list).unwrap().0,
            "lambda:control-plane"
        );
        let config = request("GET", "https://x/2015-03-31/functions/f/configuration", "");
        assert_eq!(
            bucket_of("lambda", &config).unwrap().0,
            "lambda:control-plane"
        );
        let volumes = request(
            "POST",
            "https://ec2/",
            "Action=DescribeVolumes&VolumeId.1=vol-1",
        );
        assert_eq!(
            bucket_of("ec2", &volumes).unwrap(),
            ("ec2:unfiltered", "DescribeVolumes".to_string())
        );
        let filtered = request(
            "POST",
            "https://ec2/",
            "Action=DescribeVolumes&Filter.1.Name=volume-id",
        );
        assert_eq!(bucket_of("ec2", &filtered).unwrap().0, "ec2:non-mutating");
        let modify = request("POST", "https://ec2/", "Action=ModifyVolume&VolumeId=vol-1");
        assert_eq!(bucket_of("ec2", &modify).unwrap().0, "ec2:mutating");
        assert!(bucket_of("sagemaker", &get).is_none());
    }

    #[test]
    fn a_bucket_paces_to_its_share_of_the_rate_and_slows_after_throttling() {
        let start = Instant::now();
        let mut bucket = Bucket::new("lambda:control-plane", 0.5, start);
        // Half of Lambda's 15: a burst of 7 at once, then one per 1/7.5 s.
        for _ in 0..7 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).unwrap_err().as_secs_f64();
        assert!((0.06..0.07).contains(&wait), "{wait}");
        let later = start + Duration::from_secs(1);
        let taken = (0..10).filter(|_| bucket.take(later).is_ok()).count();
        assert_eq!(taken, 7, "7.5 tokens refill in a second");
        // A throttling answer halves the pace: the next token takes twice as long.
        bucket.pace = 0.5;
        let slowed = bucket.take(later).unwrap_err().as_secs_f64();
        assert!(slowed > 2.0 * 0.06, "{slowed}");
    }
}
