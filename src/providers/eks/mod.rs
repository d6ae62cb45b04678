//! Reaching the Kubernetes cluster (EKS) and what every kind that writes Kubernetes objects
//! shares: server-side apply under pipectl's field manager, the fields other managers own, and
//! how API errors read. Every kind that writes Kubernetes objects goes through it.
//!
//! The cluster is reached one of two ways:
//! * a kubeconfig context (`--kube-context`, `[eks] kube_context`, else the current context of
//!   `KUBECONFIG`), as kubectl does;
//! * or, with `[eks] cluster` and no context, straight from AWS: DescribeCluster gives the
//!   endpoint and CA, and pipectl signs its own EKS token, so a CI runner needs neither a
//!   kubeconfig nor the aws CLI.
//!
//! With `[eks] cluster` set, DescribeCluster is always read: a cluster that is missing or not
//! ACTIVE is a plan error before anything else is tried.

pub mod auth;
pub mod bounded;
pub mod section;
pub mod token;

pub use section::EksSection;

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use aws_sdk_eks::error::ProvideErrorMetadata;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{describe_sdk_error, Aws};

/// The field manager pipectl writes Kubernetes objects under (server-side apply).
pub const FIELD_MANAGER: &str = "pipectl";
use crate::plan::PlanError;

/// How pipectl reaches the cluster, decided once per run.
#[derive(Debug, Clone)]
enum Access {
    /// A context of the user's kubeconfig.
    Kubeconfig { context: Option<String> },
    /// The EKS endpoint and CA from DescribeCluster, with a token pipectl signs itself.
    EksToken {
        cluster: String,
        endpoint: String,
        certificate_authority: Option<Vec<u8>>,
    },
}

/// A connected cluster. With an EKS token, every request carries a fresh-enough token
/// (`auth::EksTokenLayer`), so a client may be held through waits of any length.
#[derive(Clone)]
pub struct Cluster {
    pub namespace: String,
    client: kube::Client,
}

/// The cluster pipectl was asked to reach, from the flag and the `[eks]` section.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterRequest {
    pub cluster: Option<String>,
    pub kube_context: Option<String>,
    pub namespace: String,
}

impl ClusterRequest {
    /// The cluster a stack's `[eks]` section names, `--kube-context` first.
    pub fn for_stack(spec: &crate::spec::StackSpec, kube_context: Option<&str>) -> Self {
        let eks = spec.section::<EksSection>();
        ClusterRequest {
            cluster: eks
                .and_then(|e| e.cluster.as_ref())
                .map(|c| c.get_ref().clone()),
            kube_context: kube_context
                .map(str::to_string)
                .or_else(|| eks.and_then(|e| e.kube_context.clone())),
            namespace: namespace_of(spec),
        }
    }
}

/// The namespace a stack's Kubernetes objects live in (`[eks] namespace`, default `kafka`).
pub fn namespace_of(spec: &crate::spec::StackSpec) -> String {
    spec.section::<EksSection>()
        .map(|e| e.namespace.get_ref().clone())
        .unwrap_or_else(|| "kafka".to_string())
}

impl Cluster {
    /// Connects, or explains as a plan error why it cannot.
    pub async fn connect(
        aws: &Aws,
        request: &ClusterRequest,
    ) -> std::result::Result<Cluster, PlanError> {
        let resource = match &request.cluster {
            Some(name) => format!("eks.cluster.{name}"),
            None => "eks".to_string(),
        };
        let fail = |message: String, help: &str| PlanError {
            resource: resource.clone(),
            message,
            help: help.to_string(),
        };
        let described = match &request.cluster {
            Some(name) => Some(describe_cluster(aws, name).await.map_err(|e| {
                fail(
                    format!("{e:#}"),
                    "check [eks] cluster, the region and your credentials; `aws eks list-clusters` shows the clusters this account has",
                )
            })?),
            None => None,
        };
        let access = match (&request.kube_context, described) {
            (Some(context), _) => Access::Kubeconfig {
                context: Some(context.clone()),
            },
            (None, Some(access)) => access,
            (None, None) => Access::Kubeconfig { context: None },
        };
        let client = build_client(aws, &access, &request.namespace)
            .await
            .map_err(|e| {
                fail(
                    format!("cannot reach the Kubernetes API: {e:#}"),
                    "set [eks] cluster (pipectl then signs its own EKS token), or pass --kube-context / set KUBECONFIG to a context that reaches the cluster",
                )
            })?;
        Ok(Cluster {
            namespace: request.namespace.clone(),
            client,
        })
    }

    /// The cluster's client (cheap to clone; credentials stay valid, see `Cluster`).
    pub async fn client(&self) -> Result<kube::Client> {
        Ok(self.client.clone())
    }
}

async fn describe_cluster(aws: &Aws, name: &str) -> Result<Access> {
    let output = match aws.eks.describe_cluster().name(name).send().await {
        Ok(output) => output,
        Err(err) if err.code() == Some("ResourceNotFoundException") => {
            return Err(anyhow!(
                "EKS cluster {name} does not exist in {}",
                aws.region
            ))
        }
        Err(err) => {
            return Err(anyhow!(
                "DescribeCluster {name} failed: {}",
                describe_sdk_error(&err)
            ))
        }
    };
    let cluster = output
        .cluster()
        .ok_or_else(|| anyhow!("DescribeCluster {name} returned no cluster"))?;
    let status = cluster.status().map(|s| s.as_str()).unwrap_or("UNKNOWN");
    if status != "ACTIVE" {
        return Err(anyhow!(
            "EKS cluster {name} is {status}, not ACTIVE; pipectl changes nothing on a cluster that is not ACTIVE"
        ));
    }
    let endpoint = cluster
        .endpoint()
        .ok_or_else(|| anyhow!("EKS cluster {name} has no API endpoint yet"))?
        .to_string();
    let certificate_authority = cluster
        .certificate_authority()
        .and_then(|ca| ca.data())
        .map(|data| {
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .context("the cluster's certificate authority is not base64")
        })
        .transpose()?;
    Ok(Access::EksToken {
        cluster: name.to_string(),
        endpoint,
        certificate_authority,
    })
}

async fn build_client(aws: &Aws, access: &Access, namespace: &str) -> Result<kube::Client> {
    let mut config = match access {
        Access::Kubeconfig { context } => {
            let options = kube::config::KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            let kubeconfig = kube::config::Kubeconfig::read()
                .context("no kubeconfig could be read (KUBECONFIG or ~/.kube/config)")?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| match context {
                    Some(context) => format!("kubeconfig context {context}"),
                    None => "the kubeconfig's current context".to_string(),
                })?
        }
        Access::EksToken {
            endpoint,
            certificate_authority,
            ..
        } => {
            let mut config = kube::Config::new(
                endpoint
                    .parse()
                    .with_context(|| format!("the cluster endpoint {endpoint} is not a URL"))?,
            );
            config.root_cert = certificate_authority
                .as_ref()
                .map(|pem| pem_certificates(pem))
                .transpose()?;
            config
        }
    };
    config.default_namespace = namespace.to_string();
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    let builder = kube::client::ClientBuilder::try_from(config)
        .context("building the Kubernetes client")?
        .with_layer(&bounded::BoundedLayer::default());
    Ok(match access {
        Access::Kubeconfig { .. } => builder.build(),
        Access::EksToken { cluster, .. } => {
            // Fails early, with the reason, when no credentials can sign a token.
            let tokens = auth::TokenSource::new(aws, cluster);
            tokens.header(false).await.map_err(|e| anyhow!("{e}"))?;
            builder.with_layer(&auth::EksTokenLayer { tokens }).build()
        }
    })
}

/// DER certificates from the PEM bundle EKS returns (base64-decoded already).
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(pem).context("the cluster CA is not PEM text")?;
    let mut certificates = vec![];
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            current = Some(String::new());
        } else if line.starts_with("-----END CERTIFICATE-----") {
            if let Some(body) = current.take() {
                certificates.push(
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .context("a certificate in the cluster CA is not base64")?,
                );
            }
        } else if let Some(body) = current.as_mut() {
            body.push_str(line);
        }
    }
    if certificates.is_empty() {
        anyhow::bail!("the cluster CA holds no PEM certificate");
    }
    Ok(certificates)
}

/// Server-side apply of `manifest` under the `pipectl` field manager. `force`: the spec is the
/// source of truth, so fields someone changed by hand are taken back, as
/// `kubectl apply --server-side --force-conflicts` would.
pub async fn server_side_apply<K>(
    api: &kube::Api<K>,
    name: &str,
    manifest: &serde_json::Value,
    what: &str,
) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &kube::api::PatchParams::apply(FIELD_MANAGER).force(),
        &kube::api::Patch::Apply(manifest),
    )
    .await
    .map_err(|e| anyhow!("applying {what} failed: {}", describe_kube_error(&e)))?;
    Ok(())
}

/// Fields of `manifest` that another field manager owns in `live` (its `managedFields`) and
/// that the manifest would set to another value: what server-side apply reports as conflicts,
/// and what `force` would take from that manager (Helm, Argo CD, Flux, kubectl), whose next
/// sync may take them back. Lists count as one field, as the atomic lists pipectl writes do.
pub fn field_conflicts(
    live: &serde_json::Value,
    manifest: &serde_json::Value,
) -> Vec<crate::plan::FieldConflict> {
    let owned: Vec<(String, Vec<String>)> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let manager = entry["manager"].as_str()?;
            (manager != FIELD_MANAGER).then(|| {
                let mut paths = vec![];
                owned_paths(&entry["fieldsV1"], &mut vec![], &mut paths);
                paths.into_iter().map(move |p| (manager.to_string(), p))
            })
        })
        .flatten()
        .collect();
    let mut wanted = vec![];
    manifest_leaves(manifest, &mut vec![], &mut wanted);
    let mut conflicts = vec![];
    for (path, value) in wanted {
        let current = path.iter().try_fold(live, |node, key| node.get(key));
        if current == Some(value) {
            continue;
        }
        for (manager, owned_path) in &owned {
            let overlaps = owned_path.starts_with(&path) || path.starts_with(owned_path);
            let conflict = crate::plan::FieldConflict {
                manager: manager.clone(),
                field: path.join("."),
            };
            if overlaps && !conflicts.contains(&conflict) {
                conflicts.push(conflict);
            }
        }
    }
    conflicts
}

/// Paths a `fieldsV1` tree owns (`f:name` keys; a list item key ends the path at the list).
fn owned_paths(tree: &serde_json::Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(map) = tree.as_object() else { return };
    let children: Vec<(&String, &serde_json::Value)> =
        map.iter().filter(|(k, _)| k.starts_with("f:")).collect();
    if children.is_empty()
        || map
            .keys()
            .any(|k| k.starts_with("k:") || k.starts_with("v:"))
    {
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    for (key, child) in children {
        prefix.push(key[2..].to_string());
        owned_paths(child, prefix, out);
        prefix.pop();
    }
}

/// The fields a manifest sets: its leaves (lists whole), without `apiVersion`, `kind` and the
/// object's identity, but with labels and annotations.
fn manifest_leaves<'a>(
    value: &'a serde_json::Value,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, &'a serde_json::Value)>,
) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                let top = prefix.is_empty();
                let identity = prefix.len() == 1
                    && prefix[0] == "metadata"
                    && !matches!(key.as_str(), "labels" | "annotations");
                if (top && matches!(key.as_str(), "apiVersion" | "kind")) || identity {
                    continue;
                }
                prefix.push(key.clone());
                manifest_leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push((prefix.clone(), value)),
    }
}

/// A Kubernetes API error's status code, when the server answered with one.
pub fn api_status(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The server's message, for errors a user reads.
pub fn describe_kube_error(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => format!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_another_manager_owns_and_the_manifest_changes_are_conflicts() {
        let live = serde_json::json!({
            "metadata": {"name": "h", "managedFields": [
                {"manager": "helm", "operation": "Update", "fieldsV1": {"f:spec": {"f:maxReplicas": {}, "f:minReplicas": {}}}},
                {"manager": "pipectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:metrics": {}}}},
            ]},
            "spec": {"maxReplicas": 20, "minReplicas": 3, "metrics": []},
        });
        let manifest = serde_json::json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"maxReplicas": 10, "minReplicas": 3, "metrics": [1]},
        });
        // minReplicas is helm's but unchanged (shared, no conflict); metrics is pipectl's own.
        assert_eq!(
            field_conflicts(&live, &manifest),
            vec![crate::plan::FieldConflict {
                manager: "helm".into(),
                field: "spec.maxReplicas".into()
            }]
        );
    }

    #[test]
    fn cluster_ca_bundle_is_split_into_der_certificates() {
        let der_a = base64::engine::general_purpose::STANDARD.encode(b"first certificate");
        let der_b = base64::engine::general_purpose::STANDARD.encode(b"second");
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n{}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n{der_b}\n-----END CERTIFICATE-----\n",
            &der_a[..8],
            &der_a[8..]
        );
        let certificates = pem_certificates(pem.as_bytes()).expect("two certificates");
        assert_eq!(
            certificates,
            vec![b"first certificate".to_vec(), b"second".to_vec()]
        );
        assert!(pem_certificates(b"not a certificate").is_err());
    }
}
