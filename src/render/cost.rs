//! Cost in the text and Markdown plans: a resource's `$/month: 40.00 -> 60.00` with its range,
//! and the plan's closing line. Values come from the plan (numbers and pipectl's own words);
//! the range text names an instance type read from AWS, so it is escaped by the callers.

use crate::plan::cost::{signed, Money, PlanCost, ResourceCost};

fn show(value: Option<Money>, side_exists: bool) -> String {
    match (value, side_exists) {
        (Some(value), _) => value.to_string(),
        (None, true) => "unknown".to_string(),
        (None, false) => "none".to_string(),
    }
}

/// `$/month: 40.00 -> 60.00`, and for a resource whose cost scales, `floor .., ceiling ..
/// (min 1 .. max 10 × ml.m5.large)`. None when the change has no cost.
pub fn change_lines(cost: &ResourceCost) -> Vec<String> {
    let (before, after) = cost.sides;
    // A cost read back from a saved plan does not know its sides: a value there means one.
    let before = before || cost.monthly_before.is_some() || cost.ceiling_before.is_some();
    let after = after || cost.monthly_after.is_some() || cost.ceiling_after.is_some();
    let mut lines = vec![format!(
        "$/month: {} -> {}",
        show(cost.monthly_before, before),
        show(cost.monthly_after, after)
    )];
    let scales = cost.floor_after != cost.monthly_after || cost.ceiling_after != cost.monthly_after;
    if scales && after {
        let range = cost
            .range
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        lines.push(format!(
            "floor {}, ceiling {}{range}",
            show(cost.floor_after, after),
            show(cost.ceiling_after, after)
        ));
    }
    if cost.basis != "list price" {
        lines.push(format!("basis: {}", cost.basis));
    }
    lines
}

/// `Monthly cost: $X -> $Y (+$Z); at maximum scale: $A -> $B. List prices, us-east-1, of
/// 2026-12-01.`
pub fn total_line(cost: &PlanCost) -> String {
    let money = |m: Option<Money>| {
        m.map(|m| format!("${m}"))
            .unwrap_or_else(|| "unknown".into())
    };
    let change = cost
        .monthly_increase()
        .map(|d| format!(" ({})", signed(d)))
        .unwrap_or_default();
    let discount = cost
        .discount_percent
        .map(|d| format!(" less {}%", d.0.normalize()))
        .unwrap_or_default();
    let mut line = format!(
        "Monthly cost: {} -> {}{change}; at maximum scale: {} -> {}. List prices{discount}, {}, of {}.",
        money(cost.monthly_before),
        money(cost.monthly_after),
        money(cost.ceiling_before),
        money(cost.ceiling_after),
        cost.region,
        cost.price_date
    );
    if !cost.unpriced.is_empty() {
        line.push_str(&format!(
            " Not fully priced (usage or a price unknown): {}.",
            cost.unpriced.join(", ")
        ));
    }
    line
}
