//! The EKS bearer token, as `aws eks get-token` and aws-iam-authenticator make it: a presigned
//! STS `GetCallerIdentity` URL that also signs the `x-k8s-aws-id` header (the cluster name),
//! valid for 60 s of signing time, base64url-encoded without padding, prefixed `k8s-aws-v1.`.
//! EKS calls the URL to learn who is asking; pipectl itself never calls it.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// What the authenticator expects in `X-Amz-Expires`.
const PRESIGN_SECONDS: u64 = 60;

/// The regional STS endpoint the token names. EKS, not pipectl, calls it.
fn sts_url(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://sts.{region}.{suffix}/?Action=GetCallerIdentity&Version=2011-06-15")
}

pub fn eks_token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(PRESIGN_SECONDS));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .context("building the STS signing parameters")?
        .into();
    let url = sts_url(region);
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::once((CLUSTER_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .context("preparing the STS request to sign")?;
    let (instructions, _signature) = sign(signable, &params)
        .context("signing the EKS token")?
        .into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(url.as_str())
        .body(())
        .context("building the STS request")?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn decode(token: &str) -> (String, BTreeMap<String, String>) {
        let encoded = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(!encoded.contains('='), "no padding");
        assert!(!encoded.contains('+') && !encoded.contains('/'), "url-safe");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .expect("base64url"),
        )
        .expect("utf8");
        let (base, query) = url.split_once('?').expect("query");
        let params = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("k=v");
                (k.to_string(), v.to_string())
            })
            .collect();
        (base.to_string(), params)
    }

    #[test]
    fn token_is_a_presigned_get_caller_identity_url_bound_to_the_cluster() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let token = eks_token(&credentials, "us-east-1", "kafka-logs", now).expect("token");
        let (base, params) = decode(&token);
        assert_eq!(base, "https://sts.us-east-1.amazonaws.com/");
        assert_eq!(params["Action"], "GetCallerIdentity");
        assert_eq!(params["Version"], "2011-06-15");
        assert_eq!(params["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(params["X-Amz-Expires"], "60");
        assert_eq!(params["X-Amz-Date"], "20260921T141320Z");
        assert!(params["X-Amz-Credential"]
            .starts_with("AKIDEXAMPLE%2F20260921%2Fus-east-1%2Fsts%2Faws4_request"));
        let signed: Vec<&str> = params["X-Amz-SignedHeaders"].split("%3B").collect();
        assert_eq!(signed, vec!["host", "x-k8s-aws-id"]);
        assert_eq!(params["X-Amz-Signature"].len(), 64);
        assert!(!params.contains_key("X-Amz-Security-Token"));
    }

    #[test]
    fn session_token_is_carried_and_the_signature_depends_on_the_cluster() {
        let credentials = Credentials::new("AKID", "secret", Some("SESSION".into()), None, "t");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let a = eks_token(&credentials, "eu-west-1", "a", now).expect("token");
        let b = eks_token(&credentials, "eu-west-1", "b", now).expect("token");
        let (base, params_a) = decode(&a);
        let (_, params_b) = decode(&b);
        assert_eq!(base, "https://sts.eu-west-1.amazonaws.com/");
        assert_eq!(params_a["X-Amz-Security-Token"], "SESSION");
        assert_ne!(params_a["X-Amz-Signature"], params_b["X-Amz-Signature"]);
    }
}
