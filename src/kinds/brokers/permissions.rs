//! What the brokers family calls: in Kubernetes, the StatefulSet, its HPA, its claims and their
//! volumes, and the StorageClass; in EC2, the volumes behind the claims (the Service
//! Authorization Reference: EC2's Describe actions have no resource type; ModifyVolume has
//! `volume`, whose id the CSI driver gives when a claim is provisioned).

use crate::plan::permissions::{
    KubeGrant, Permissions, Resource, Scope, EVERY, IMPORT, READ, WRITE,
};
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
    let namespace = eks.namespace.get_ref().as_str();
    if let Some(brokers) = brokers {
        out.kube.extend(broker_grants(namespace, brokers));
    }
    out.kube.extend(import_claim_grants(namespace));
    if let Some(storage) = storage {
        out.kube.extend(storage_grants(namespace, storage));
        storage_aws(&mut out, scope);
    }
    out.creates_only_when_missing();
    name_write_calls(&mut out);
    out
}

/// The StatefulSet (read) and its HPA (read, and written with server-side apply).
fn broker_grants(namespace: &str, brokers: &KafkaBrokers) -> Vec<KubeGrant> {
    let ns = Some(namespace);
    let statefulset = [brokers.statefulset.get_ref().as_str()];
    let hpa = [brokers.hpa_name.get_ref().as_str()];
    let hpa_changes = format!("eks.hpa.{namespace}/");
    const STATEFULSETS: (&str, &str) = ("apps", "statefulsets");
    const HPAS: (&str, &str) = ("autoscaling", "horizontalpodautoscalers");
    vec![
        KubeGrant::new(STATEFULSETS, "get", ns, &statefulset, READ, None),
        KubeGrant::new(HPAS, "get", ns, &hpa, READ, None),
        KubeGrant::new(HPAS, "patch", ns, &hpa, WRITE, Some(&hpa_changes)),
        // A server-side apply that creates the object is authorized as `create` on its name
        // too (k8s.io/apiserver, endpoints/handlers/patch.go).
        KubeGrant::new(HPAS, "create", ns, &hpa, WRITE, Some(&hpa_changes)),
        KubeGrant::new(STATEFULSETS, "get", ns, &statefulset, IMPORT, None),
        KubeGrant::new(HPAS, "list", ns, &[], IMPORT, None),
    ]
}

/// Import reads the StatefulSet's claims and their volumes, whatever the file says.
fn import_claim_grants(namespace: &str) -> [KubeGrant; 2] {
    [
        KubeGrant::new(CLAIMS, "list", Some(namespace), &[], IMPORT, None),
        KubeGrant::new(VOLUMES, "get", None, &[], IMPORT, None),
    ]
}

const CLAIMS: (&str, &str) = ("", "persistentvolumeclaims");
const VOLUMES: (&str, &str) = ("", "persistentvolumes");
const CLASSES: (&str, &str) = ("storage.k8s.io", "storageclasses");

/// The StorageClass (read, applied, deleted when its parameters change), the claims (listed,
/// patched to grow) and their volumes (read).
fn storage_grants(namespace: &str, storage: &KafkaStorage) -> Vec<KubeGrant> {
    let ns = Some(namespace);
    let class = [storage.storage_class.get_ref().as_str()];
    let class_changes = Some("eks.storage_class.");
    let volume_changes = Some("eks.volume.");
    vec![
        KubeGrant::new(CLASSES, "get", None, &class, READ, None),
        KubeGrant::new(CLAIMS, "list", ns, &[], READ, None),
        KubeGrant::new(VOLUMES, "get", None, &[], READ, None),
        KubeGrant::new(CLASSES, "patch", None, &class, WRITE, class_changes),
        KubeGrant::new(CLASSES, "create", None, &class, WRITE, class_changes),
        KubeGrant::new(CLASSES, "delete", None, &class, WRITE, class_changes),
        KubeGrant::new(CLAIMS, "patch", ns, &[], WRITE, volume_changes),
        KubeGrant::new(CLAIMS, "get", ns, &[], WRITE, volume_changes),
        KubeGrant::new(CLASSES, "get", None, &class, IMPORT, None),
    ]
}

/// EC2: the volumes behind the claims, read and modified.
fn storage_aws(out: &mut Permissions, scope: &Scope) {
    out.aws("ec2:DescribeVolumes", EC2_DESCRIBE, EVERY);
    out.aws("ec2:DescribeVolumesModifications", EC2_DESCRIBE, EVERY);
    // The volumes' ids are known only once their claims are bound: the account's volumes in
    // this region.
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

/// Each Kubernetes write as the step that makes it lists it (for `--plan`).
fn name_write_calls(out: &mut Permissions) {
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
}
