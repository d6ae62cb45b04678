//! What a SageMaker variant bills (docs/cost.md): instance-hours of its instance type
//! (SageMaker real-time hosting prices), 730 an instance-month, times the instances it runs
//! now, with Application Auto Scaling's min and max capacity as floor and ceiling. Serverless
//! variants and endpoints of inference components are billed otherwise and not priced here
//! (their plans are refused before this matters).

use super::*;
use crate::plan::cost::{count, Basis, Billable, Line, Side, HOURS_PER_MONTH};

/// Where the Price List has the instance hours the book holds (`prices update`).
pub(super) const PRICE_SOURCES: &[crate::plan::cost::PriceSource] =
    &[crate::plan::cost::PriceSource::new(
        "sagemaker:hosting:ml.m5.large",
        "AmazonSageMaker",
        &[("instanceType", "ml.m5.large-Hosting")],
        "Host:ml.m5.large",
        "Hrs",
    )];

fn side(instance_type: &str, now: Option<i64>, floor: i64, ceiling: i64) -> Side {
    Side {
        lines: vec![Line::new(
            &format!("{instance_type} hosting"),
            &format!("sagemaker:hosting:{instance_type}"),
            count(HOURS_PER_MONTH),
            "instance-hours",
        )],
        now: now.map(count),
        floor: Some(count(floor)),
        ceiling: Some(count(ceiling)),
        ceiling_lines: None,
    }
}

/// The variant's cost: before at its live scaling target's bounds, after at the file's; the
/// instances it runs now are the month on both sides (scaling moves them, not the plan).
/// None when the instance type is not known (the plan was not priced, or no config said).
pub fn variant_billable(
    desired: &VariantDefinition,
    live: &LiveEndpoint,
    scaling: &LiveScaling,
) -> Option<Billable> {
    let (instance_type, now) = live.instances.get(&desired.variant)?;
    let instance_type = instance_type.as_deref()?;
    let (target, _) = scaling.of(&desired.resource_id());
    // Not yet a scaling target: it runs the instances it has, no more, no fewer.
    let before = match target {
        Some((min, max)) => side(instance_type, *now, *min, *max),
        None => {
            let n = now.unwrap_or(1);
            side(instance_type, *now, n, n)
        }
    };
    let (min, max) = (desired.min_capacity, desired.max_capacity);
    let after_now = now.map(|n| n.clamp(min, max));
    Some(Billable {
        before: Some(before),
        after: Some(side(instance_type, after_now, min, max)),
        basis: Basis::ListPrice,
        range: Some(format!("min {min} .. max {max} × {instance_type}")),
    })
}
