//! The double's authorizer: Kafka's ACL rules for the operations pipectl's admin calls need
//! (apache/kafka `AclAuthorizer`/`StandardAuthorizer`, and the protocol guide's table of the
//! operation each request needs). On only when ACLs are given (`--acl`): a broker without an
//! authorizer allows everything.

/// One `--acl PRINCIPAL:OPERATION:RESOURCE` rule, e.g. `User:admin:Describe:topic=app-logs`,
/// `User:admin:Create:cluster`, `User:admin:All:topic=app-*` (a prefixed pattern).
#[derive(Debug, Clone)]
pub struct Acl {
    principal: String,
    operation: String,
    resource: Resource,
}

#[derive(Debug, Clone)]
enum Resource {
    Cluster,
    Topic(String),
    TopicPrefix(String),
}

impl Acl {
    pub fn parse(text: &str) -> anyhow::Result<Acl> {
        // The principal has a colon of its own (User:NAME).
        let mut parts = text.rsplitn(3, ':');
        let (Some(resource), Some(operation), Some(principal)) =
            (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--acl User:NAME:OPERATION:topic=NAME|topic=PREFIX*|cluster, not {text}");
        };
        let resource = match resource {
            "cluster" => Resource::Cluster,
            topic => {
                let name = topic
                    .strip_prefix("topic=")
                    .ok_or_else(|| anyhow::anyhow!("unknown ACL resource {topic}"))?;
                match name.strip_suffix('*') {
                    Some(prefix) => Resource::TopicPrefix(prefix.to_string()),
                    None => Resource::Topic(name.to_string()),
                }
            }
        };
        Ok(Acl {
            principal: principal.to_string(),
            operation: operation.to_string(),
            resource,
        })
    }

    fn covers(&self, principal: &str, operation: &str, topic: Option<&str>) -> bool {
        let resource = match (&self.resource, topic) {
            (Resource::Cluster, None) => true,
            (Resource::Topic(name), Some(topic)) => name == "*" || name == topic,
            (Resource::TopicPrefix(prefix), Some(topic)) => topic.starts_with(prefix.as_str()),
            _ => false,
        };
        resource && self.principal == principal && implies(&self.operation, operation)
    }
}

/// Kafka's implied operations: All implies every one; Describe is implied by Read, Write,
/// Delete and Alter; DescribeConfigs by AlterConfigs (AclAuthorizer, "implicit" ACLs).
fn implies(granted: &str, wanted: &str) -> bool {
    granted == wanted
        || granted == "All"
        || (wanted == "Describe" && matches!(granted, "Read" | "Write" | "Delete" | "Alter"))
        || (wanted == "DescribeConfigs" && granted == "AlterConfigs")
}

/// The ACLs of a broker, or none (no authorizer).
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    acls: Vec<Acl>,
}

impl Authorizer {
    pub fn new(acls: Vec<Acl>) -> Authorizer {
        Authorizer { acls }
    }

    /// Whether `principal` may do `operation` on the topic (or the cluster, for `None`).
    pub fn allows(&self, principal: &str, operation: &str, topic: Option<&str>) -> bool {
        self.acls.is_empty()
            || self
                .acls
                .iter()
                .any(|a| a.covers(principal, operation, topic))
    }
}
