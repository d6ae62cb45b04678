//! What the brokers family calls: in Kubernetes, the StatefulSet, its HPA, its claims and their
//! volumes, and the StorageClass; in EC2, the volumes behind the claims (the Service
//! Authorization Reference: EC2's Describe actions have no resource type; ModifyVolume has
//! `volume`, whose id the CSI driver gives when a claim is provisioned).

use crate::plan::permissions::{KubeGrant, Permissions, Resource, Scope, IMPORT, READ, WRITE};
use crate::providers::eks::section::EksSection;
use crate::spec::StackSpec;

use super::section::{KafkaBrokers, KafkaStorage};

const EC2_DESCRIBE: Resource = Resource::Any {
    sid: "Ec2DescribeActionsHaveNoResourceType",
    why: "EC2's Describe actions have no resource-level permissions (Service Authorization Reference)",
};

pub fn permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let brokers = spec.section::<KafkaBrokers>();
    let storage = spec.section::<KafkaStorage>();
    let mut out = Permissions::default();
    let (Some(eks), true) = (
        spec.section::<EksSection>(),
        brokers.is_some() || storage.is_some(),
    ) else {
        return out;
    };
    let ns = Some(eks.namespace.get_ref().as_str());
    if let Some(brokers) = brokers {
        let statefulset = brokers.statefulset.get_ref().as_str();
        let hpa = brokers.hpa_name.get_ref().as_str();
        let hpa_changes = format!("eks.hpa.{}/", eks.namespace.get_ref());
        out.kube.extend([
            KubeGrant::new(
                ("apps", "statefulsets"),
                "get",
                ns,
                &[statefulset],
                READ,
                None,
            ),
            KubeGrant::new(
                ("autoscaling", "horizontalpodautoscalers"),
                "get",
                ns,
                &[hpa],
                READ,
                None,
            ),
            KubeGrant::new(
                ("autoscaling", "horizontalpodautoscalers"),
                "patch",
                ns,
                &[hpa],
                WRITE,
                Some(&hpa_changes),
            ),
            // A server-side apply that creates the object is authorized as `create` on its
            // name too (k8s.io/apiserver, endpoints/handlers/patch.go).
            KubeGrant::new(
                ("autoscaling", "horizontalpodautoscalers"),
                "create",
                ns,
                &[hpa],
                WRITE,
                Some(&hpa_changes),
            ),
            KubeGrant::new(
                ("apps", "statefulsets"),
                "get",
                ns,
                &[statefulset],
                IMPORT,
                None,
            ),
            KubeGrant::new(
                ("autoscaling", "horizontalpodautoscalers"),
                "list",
                ns,
                &[],
                IMPORT,
                None,
            ),
        ]);
    }
    // Import reads the StatefulSet's claims and their volumes, whatever the file says.
    out.kube.extend([
        KubeGrant::new(
            ("", "persistentvolumeclaims"),
            "list",
            ns,
            &[],
            IMPORT,
            None,
        ),
        KubeGrant::new(("", "persistentvolumes"), "get", None, &[], IMPORT, None),
    ]);
    if let Some(storage) = storage {
        let class = storage.storage_class.get_ref().as_str();
        out.kube.extend([
            KubeGrant::new(
                ("storage.k8s.io", "storageclasses"),
                "get",
                None,
                &[class],
                READ,
                None,
            ),
            KubeGrant::new(("", "persistentvolumeclaims"), "list", ns, &[], READ, None),
            KubeGrant::new(("", "persistentvolumes"), "get", None, &[], READ, None),
            KubeGrant::new(
                ("storage.k8s.io", "storageclasses"),
                "patch",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            KubeGrant::new(
                ("storage.k8s.io", "storageclasses"),
                "create",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            KubeGrant::new(
                ("storage.k8s.io", "storageclasses"),
                "delete",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            KubeGrant::new(
                ("", "persistentvolumeclaims"),
                "patch",
                ns,
                &[],
                WRITE,
                Some("eks.volume."),
            ),
            KubeGrant::new(
                ("", "persistentvolumeclaims"),
                "get",
                ns,
                &[],
                WRITE,
                Some("eks.volume."),
            ),
            KubeGrant::new(
                ("storage.k8s.io", "storageclasses"),
                "get",
                None,
                &[class],
                IMPORT,
                None,
            ),
        ]);
        out.aws(
            "ec2:DescribeVolumes",
            EC2_DESCRIBE,
            crate::plan::permissions::EVERY,
        );
        out.aws(
            "ec2:DescribeVolumesModifications",
            EC2_DESCRIBE,
            crate::plan::permissions::EVERY,
        );
        // The volumes' ids are known only once their claims are bound: the account's volumes
        // in this region.
        out.aws_write(
            "ec2:ModifyVolume",
            scope.arn("ec2", "volume/*"),
            "eks.volume.",
        );
        out.aws_write(
            "ec2:DescribeVolumesModifications",
            EC2_DESCRIBE,
            "eks.volume.",
        );
    }
    out.creates_only_when_missing();
    // Each write as the step that makes it lists it (for `--plan`).
    for grant in out.kube.iter_mut().filter(|g| g.commands == WRITE) {
        grant.call = Some(match (grant.resource, grant.verb) {
            ("horizontalpodautoscalers", _) => super::hpa::APPLY_HPA,
            ("storageclasses", "delete") => super::storage::DELETE_CLASS,
            ("storageclasses", _) => super::storage::APPLY_CLASS,
            ("persistentvolumeclaims", "patch") => super::storage::PATCH_CLAIM,
            ("persistentvolumeclaims", _) => super::storage::GET_CLAIM,
            _ => continue,
        });
    }
    out
}
