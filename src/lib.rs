//! pipectl keeps the scaling settings of a Kafka log-processing stack on AWS in line with one
//! TOML file. The pieces, in the order data flows through them:
//!
//! * [`spec`]: the stack file: types, loading, validation with file:line:column errors;
//! * [`providers`]: the only code that talks to AWS: reads live state, diffs it, applies steps;
//! * [`plan`]: the plan as data (resource ids, actions, field diffs, hazards, lanes, steps);
//! * [`apply`]: executes a plan lane by lane, concurrently, and reports what happened;
//! * [`render`]: shows plans and reports to people;
//! * [`import`]: a stack file written from live state;
//! * [`cli`]: the `pipectl` command line.

pub mod apply;
pub mod cli;
pub mod import;
pub mod plan;
pub mod progress;
pub mod providers;
pub mod render;
pub mod spec;
