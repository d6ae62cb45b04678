//! The fake Kubernetes API server itself, driven by kubectl (an independent client): it must
//! answer what a real kube-apiserver answers for what pipectl touches (docs/testing.md lists it).

mod common;

use common::Emulator;

fn manifest(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write manifest");
    path.to_str().expect("utf-8").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_sees_a_faithful_api_server() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let dir = tempfile::tempdir().expect("temp dir");

    // Discovery and reads: core v1 and the groups pipectl uses.
    let resources = cluster.kubectl(&["api-resources", "--no-headers"]);
    resources.expect_code(0);
    for expected in [
        "persistentvolumeclaims",
        "statefulsets",
        "horizontalpodautoscalers",
        "storageclasses",
    ] {
        assert!(resources.stdout.contains(expected), "{}", resources.all());
    }
    cluster
        .kubectl(&["get", "hpa", "nope", "-n", "kafka"])
        .expect_code(1)
        .expect_stderr("horizontalpodautoscalers.autoscaling \"nope\" not found");

    // Server-side apply creates, then updates; a dry run changes nothing.
    let hpa = |max: i64, min: i64| {
        format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: other\n  namespace: kafka\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: StatefulSet, name: kafka-broker}}\n  minReplicas: {min}\n  maxReplicas: {max}\n")
    };
    let file = manifest(dir.path(), "hpa.yaml", &hpa(5, 2));
    cluster
        .kubectl(&["apply", "--server-side", "--validate=false", "-f", &file])
        .expect_code(0)
        .expect_stdout("serverside-applied");
    let file = manifest(dir.path(), "hpa.yaml", &hpa(6, 2));
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--validate=false",
            "--dry-run=server",
            "-f",
            &file,
        ])
        .expect_code(0);
    assert_eq!(cluster.get("hpa", "other")["spec"]["maxReplicas"], 5);
    cluster
        .kubectl(&["apply", "--server-side", "--validate=false", "-f", &file])
        .expect_code(0);
    assert_eq!(cluster.get("hpa", "other")["spec"]["maxReplicas"], 6);

    // HPA validation.
    let file = manifest(dir.path(), "bad.yaml", &hpa(6, 0));
    cluster
        .kubectl(&["apply", "--server-side", "--validate=false", "-f", &file])
        .expect_code(1)
        .expect_stderr("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1");
    let file = manifest(dir.path(), "bad.yaml", &hpa(2, 4));
    cluster
        .kubectl(&["apply", "--server-side", "--validate=false", "-f", &file])
        .expect_code(1)
        .expect_stderr("must be greater than or equal to `minReplicas`");

    // A stale resourceVersion is a 409.
    let mut stale = cluster.get("hpa", "other");
    stale["metadata"]["resourceVersion"] = serde_json::json!("1");
    let file = manifest(dir.path(), "stale.json", &stale.to_string());
    cluster
        .kubectl(&["replace", "--validate=false", "-f", &file])
        .expect_code(1)
        .expect_stderr("the object has been modified");

    // Immutable fields: StorageClass parameters, StatefulSet volumeClaimTemplates.
    cluster
        .merge_patch(
            "storageclass",
            "kafka-gp3",
            r#"{"parameters":{"iops":"4000"}}"#,
        )
        .expect_code(1)
        .expect_stderr("parameters: Forbidden: updates to parameters are forbidden");
    cluster
        .kubectl(&[
            "patch", "statefulset", "kafka-broker", "-n", "kafka", "--type", "merge", "-p",
            r#"{"spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"kafka-gp3","resources":{"requests":{"storage":"900Gi"}}}}]}}"#,
        ])
        .expect_code(1)
        .expect_stderr("updates to statefulset spec for fields other than");

    // Claims: shrinking is refused; growing needs a class that allows expansion.
    let grow = r#"{"spec":{"resources":{"requests":{"storage":"700Gi"}}}}"#;
    cluster
        .merge_patch(
            "pvc",
            "data-kafka-broker-0",
            r#"{"spec":{"resources":{"requests":{"storage":"100Gi"}}}}"#,
        )
        .expect_code(1)
        .expect_stderr("field can not be less than previous value");
    cluster
        .merge_patch(
            "storageclass",
            "kafka-gp3",
            r#"{"allowVolumeExpansion":false}"#,
        )
        .expect_code(0);
    cluster
        .merge_patch("pvc", "data-kafka-broker-0", grow)
        .expect_code(1)
        .expect_stderr("storageclass that provisions the pvc must support resize");
    cluster
        .merge_patch(
            "storageclass",
            "kafka-gp3",
            r#"{"allowVolumeExpansion":true}"#,
        )
        .expect_code(0);
    cluster
        .merge_patch("pvc", "data-kafka-broker-0", grow)
        .expect_code(0);
    let claim = cluster.get("pvc", "data-kafka-broker-0");
    assert_eq!(claim["status"]["capacity"]["storage"], "700Gi");

    // Conflicts: a field another manager changed is a 409 for a non-forced apply.
    cluster
        .merge_patch("hpa", "other", r#"{"spec":{"maxReplicas":9}}"#)
        .expect_code(0);
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            &manifest(dir.path(), "hpa.yaml", &hpa(6, 2)),
        ])
        .expect_code(1)
        .expect_stderr("conflict");
}

/// Object metadata as the real API server validates it (apimachinery ValidateObjectMeta): a
/// label value longer than 63 characters or not alphanumeric at both ends, and a name that is
/// not a DNS-1123 subdomain, are 422 Invalid; pipectl refuses such a stack name offline.
#[test]
fn names_and_labels_are_validated_as_kubernetes_does() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let dir = tempfile::tempdir().expect("temp dir");
    let class = |name: &str, value: &str| {
        format!("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {name}\n  labels:\n    pipectl.io/stack: \"{value}\"\nprovisioner: ebs.csi.aws.com\n")
    };
    let long = "a".repeat(64);
    for (file, text, expected) in [
        (
            "long.yaml",
            class("ok-class", &long),
            "must be no more than 63 characters",
        ),
        (
            "edge.yaml",
            class("ok-class", "team-a-"),
            "must start and end with an alphanumeric character",
        ),
        (
            "name.yaml",
            class("Bad_Name", "team-a"),
            "a lowercase RFC 1123 subdomain",
        ),
    ] {
        let path = manifest(dir.path(), file, &text);
        cluster
            .kubectl(&["apply", "--server-side", "--validate=false", "-f", &path])
            .expect_code(1)
            .expect_stderr("is invalid")
            .expect_stderr(expected);
    }
    let path = manifest(dir.path(), "fine.yaml", &class("ok-class", &"a".repeat(63)));
    cluster
        .kubectl(&["apply", "--server-side", "--validate=false", "-f", &path])
        .expect_code(0);
    let stack = emulator.stack("edge.toml", "[stack]\nname = \"team-a-\"\n");
    emulator
        .pipectl(&["validate", common::path_str(&stack)])
        .expect_code(1)
        .expect_stderr("not a valid stack name")
        .expect_stderr("IsValidLabelValue");
}
