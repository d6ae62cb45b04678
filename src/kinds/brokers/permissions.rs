//! What the brokers family calls: in Kubernetes, the StatefulSet, its HPA, its claims and their
//! volumes, and the StorageClass; in EC2, the volumes behind the claims (the Service
//! Authorization Reference: EC2's Describe actions have no resource type; ModifyVolume has
//! `volume`, whose id the CSI driver gives when a claim is provisioned).

use crate::plan::permissions::{
    Command, KubeGrant, Permissions, Resource, Scope, IMPORT, READ, WRITE,
};
use crate::providers::eks::section::EksSection;
use crate::spec::StackSpec;

use super::section::{KafkaBrokers, KafkaStorage};

const EC2_DESCRIBE: Resource = Resource::Any {
    sid: "Ec2DescribeActionsHaveNoResourceType",
    why: "EC2's Describe actions have no resource-level permissions (Service Authorization Reference)",
};

/// One Kubernetes grant.
fn kube(
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
    namespace: Option<&str>,
    names: &[&str],
    commands: &'static [Command],
    changes: Option<&str>,
) -> KubeGrant {
    KubeGrant {
        group,
        resource,
        verb,
        namespace: namespace.map(str::to_string),
        names: names.iter().map(|n| n.to_string()).collect(),
        commands,
        changes: changes.map(str::to_string),
        when: None,
    }
}

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
            kube(
                "apps",
                "statefulsets",
                "get",
                ns,
                &[statefulset],
                READ,
                None,
            ),
            kube(
                "autoscaling",
                "horizontalpodautoscalers",
                "get",
                ns,
                &[hpa],
                READ,
                None,
            ),
            kube(
                "autoscaling",
                "horizontalpodautoscalers",
                "patch",
                ns,
                &[hpa],
                WRITE,
                Some(&hpa_changes),
            ),
            // A server-side apply that creates the object is authorized as `create` on its
            // name too (k8s.io/apiserver, endpoints/handlers/patch.go).
            kube(
                "autoscaling",
                "horizontalpodautoscalers",
                "create",
                ns,
                &[hpa],
                WRITE,
                Some(&hpa_changes),
            ),
            kube(
                "apps",
                "statefulsets",
                "get",
                ns,
                &[statefulset],
                IMPORT,
                None,
            ),
            kube(
                "autoscaling",
                "horizontalpodautoscalers",
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
        kube("", "persistentvolumeclaims", "list", ns, &[], IMPORT, None),
        kube("", "persistentvolumes", "get", None, &[], IMPORT, None),
    ]);
    if let Some(storage) = storage {
        let class = storage.storage_class.get_ref().as_str();
        out.kube.extend([
            kube(
                "storage.k8s.io",
                "storageclasses",
                "get",
                None,
                &[class],
                READ,
                None,
            ),
            kube("", "persistentvolumeclaims", "list", ns, &[], READ, None),
            kube("", "persistentvolumes", "get", None, &[], READ, None),
            kube(
                "storage.k8s.io",
                "storageclasses",
                "patch",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            kube(
                "storage.k8s.io",
                "storageclasses",
                "create",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            kube(
                "storage.k8s.io",
                "storageclasses",
                "delete",
                None,
                &[class],
                WRITE,
                Some("eks.storage_class."),
            ),
            kube(
                "",
                "persistentvolumeclaims",
                "patch",
                ns,
                &[],
                WRITE,
                Some("eks.volume."),
            ),
            kube(
                "",
                "persistentvolumeclaims",
                "get",
                ns,
                &[],
                WRITE,
                Some("eks.volume."),
            ),
            kube(
                "storage.k8s.io",
                "storageclasses",
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
    for grant in out.kube.iter_mut().filter(|g| g.verb == "create") {
        grant.when = Some("the object does not exist yet (server-side apply creates it)");
    }
    out
}
