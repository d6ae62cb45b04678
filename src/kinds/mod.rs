//! The kinds of resource pipectl manages, one folder each, behind one interface (`kind::Kind`).
//! A kind uses the backends (`crate::providers`: AWS, the cluster, the Kafka brokers), the plan
//! as data and the stack file; nothing below it uses a kind.

pub mod alerts;
pub mod brokers;
pub mod functions;
pub mod insights;
pub mod kind;
pub mod tables;
pub mod topics;
pub mod variants;
