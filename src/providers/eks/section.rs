//! `[eks]`: the cluster the stack's Kubernetes objects live in, read by the cluster connection
//! (`Clients::cluster`) for every kind that uses it.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::validate::{eks_cluster_name, kubernetes_namespace, Checker};
use crate::spec::Section;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EksSection {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<Spanned<String>>,
    #[serde(default = "default_namespace")]
    #[schemars(with = "String")]
    pub namespace: Spanned<String>,
    pub kube_context: Option<String>,
}

fn default_namespace() -> Spanned<String> {
    Spanned::new(0..0, "kafka".to_string())
}
impl Section for EksSection {
    const PATH: &'static [&'static str] = &["eks"];
}

/// The offline checks of `[eks]`: the names EKS and Kubernetes accept.
pub fn check(spec: &crate::spec::StackSpec, check: &mut Checker) {
    let Some(eks) = spec.section::<EksSection>() else {
        return;
    };
    if let Some(cluster) = &eks.cluster {
        check.name_rule(
            cluster,
            "eks.cluster",
            "EKS cluster name",
            eks_cluster_name,
            "1 to 100 letters, digits, '-' and '_', starting with a letter or digit",
        );
    }
    check.name_rule(
        &eks.namespace,
        "eks.namespace",
        "Kubernetes namespace",
        kubernetes_namespace,
        "1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
}
