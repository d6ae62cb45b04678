//! What a change costs a month, before and after, with the floor and ceiling autoscaling
//! allows. A kind says what a resource bills (`Billable`: quantities a month at named prices,
//! per unit of its scale, and how many units now, at the least and at the most); this module
//! prices that with a `PriceBook` (list prices built into the binary) into a `ResourceCost`, and
//! sums a plan's. Money is `Decimal`, never floating point. A price or a quantity that is not
//! known stays unknown (`None`), never $0.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Hours in a billing month, as AWS's pricing pages count them.
pub const HOURS_PER_MONTH: i64 = 730;

/// TERM_MATCH filters on a Price List product's attributes: (attribute, value).
pub type PriceFilters = &'static [(&'static str, &'static str)];

/// Where the AWS Price List has one price of the book (`pipectl prices update`): the price's
/// service, TERM_MATCH attribute filters besides `regionCode`, its usage type without the
/// region prefix (`EBS:VolumeUsage.gp3`, `USE2-EBS:VolumeUsage.gp3` in Ohio), the Price List's
/// unit, and what to divide its price by for the book's unit. Each kind lists its own
/// (`Kind::price_sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceSource {
    pub sku: &'static str,
    pub service: &'static str,
    pub filters: PriceFilters,
    pub usage_type: &'static str,
    pub unit: &'static str,
    pub per: i64,
}

impl PriceSource {
    /// A price whose Price List unit is the book's.
    pub const fn new(
        sku: &'static str,
        service: &'static str,
        filters: PriceFilters,
        usage_type: &'static str,
        unit: &'static str,
    ) -> PriceSource {
        PriceSource {
            sku,
            service,
            filters,
            usage_type,
            unit,
            per: 1,
        }
    }

    /// A price the service's products in a region answer without attribute filters.
    pub const fn unfiltered(
        sku: &'static str,
        service: &'static str,
        usage_type: &'static str,
        unit: &'static str,
    ) -> PriceSource {
        PriceSource::new(sku, service, &[], usage_type, unit)
    }

    /// The same, when the Price List's unit is `per` of the book's.
    pub const fn per(self, per: i64) -> PriceSource {
        PriceSource { per, ..self }
    }
}

/// One quantity billed a month at one list price (`sku` names it in the price book): 500
/// GB-months of gp3 storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub sku: String,
    pub quantity: Decimal,
    pub unit: String,
}

impl Line {
    pub fn new(name: &str, sku: &str, quantity: Decimal, unit: &str) -> Line {
        Line {
            name: name.to_string(),
            sku: sku.to_string(),
            quantity,
            unit: unit.to_string(),
        }
    }
}

/// What one side (before or after the plan) of a resource bills: lines per unit of its scale
/// (one volume, one instance), and how many units now, at the least and at the most. A count
/// nobody knows (a function's invocations) is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub lines: Vec<Line>,
    pub now: Option<Decimal>,
    pub floor: Option<Decimal>,
    pub ceiling: Option<Decimal>,
    /// What the ceiling bills, when that is not `lines` scaled (a function's month is its
    /// measured use; its ceiling, its reservation busy all month).
    pub ceiling_lines: Option<Vec<Line>>,
}

impl Side {
    /// A resource that does not scale: one unit, always.
    pub fn fixed(lines: Vec<Line>) -> Side {
        Side::scaled(lines, 1, 1, 1)
    }

    /// `now` units, between `floor` and `ceiling` as autoscaling allows.
    pub fn scaled(lines: Vec<Line>, now: i64, floor: i64, ceiling: i64) -> Side {
        Side {
            lines,
            now: Some(Decimal::from(now)),
            floor: Some(Decimal::from(floor)),
            ceiling: Some(Decimal::from(ceiling)),
            ceiling_lines: None,
        }
    }
}

/// Where a resource's quantities come from (the JSON's `basis`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// Provisioned quantities, read or declared: the list price is the whole story.
    ListPrice,
    /// The price per unit is known, the usage is not.
    UnitPriceOnly,
    /// Measured usage: `usage over 14 days to 2026-12-06` (`Usage::basis`).
    Measured(String),
    /// The stack file's `usage = {...}`, where nothing was measured.
    Declared,
}

impl Basis {
    fn text(&self) -> String {
        match self {
            Basis::ListPrice => "list price".into(),
            Basis::UnitPriceOnly => "unit price only".into(),
            Basis::Measured(window) => window.clone(),
            Basis::Declared => "declared usage".into(),
        }
    }
}

/// What a resource bills, before and after the plan (`None`: that side does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Billable {
    pub before: Option<Side>,
    pub after: Option<Side>,
    pub basis: Basis,
    /// How the floor and ceiling come about, for readers: `min 1 .. max 10 × ml.m5.large`.
    pub range: Option<String>,
}

/// An amount of money, or a price: written as a decimal string in JSON (never a float).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub Decimal);

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Decimal::from_str(&text)
            .map(Money)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a decimal: {e}")))
    }
}

impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "A decimal amount in the plan's currency (a string, never a float)"
        })
    }
}

impl std::fmt::Display for Money {
    /// Cents: `40.00`, `8760.02`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", cents(self.0))
    }
}

/// An amount in cents, always written with two decimals (`0.00`, `40.00`).
fn cents(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// One line of a resource's cost, on its side after the plan (before, for a resource the plan
/// removes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CostComponent {
    pub name: String,
    /// A month's quantity at the current scale (per unit, when the count is not known).
    pub quantity: Money,
    pub unit: String,
    /// `null` when the price book has no price for it.
    pub unit_price: Option<Money>,
    pub monthly: Option<Money>,
}

/// What one resource costs a month. `null` where a side does not exist or is not known; for a
/// resource that does not scale, floor and ceiling equal monthly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResourceCost {
    pub currency: String,
    pub monthly_before: Option<Money>,
    pub monthly_after: Option<Money>,
    pub floor_before: Option<Money>,
    pub floor_after: Option<Money>,
    pub ceiling_before: Option<Money>,
    pub ceiling_after: Option<Money>,
    /// Where the quantities come from: `list price` or `unit price only`.
    pub basis: String,
    /// The date of the list prices.
    pub price_date: String,
    pub components: Vec<CostComponent>,
    /// How the floor and ceiling come about (`min 1 .. max 10 × ml.m5.large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Which sides exist (before, after): an unknown value on one of them is not $0.
    #[serde(skip)]
    pub sides: (bool, bool),
}

/// A plan's totals over every priced resource (changed or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanCost {
    pub currency: String,
    pub monthly_before: Option<Money>,
    pub monthly_after: Option<Money>,
    pub ceiling_before: Option<Money>,
    pub ceiling_after: Option<Money>,
    pub price_date: String,
    /// The region whose list prices were used.
    pub region: String,
    /// `--discount`: the percentage taken off every list price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<Money>,
    /// Resources with a value that is not known (a function's usage): each total sums only
    /// the values that are known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

/// The snapshot of list prices built into the binary (docs/cost.md says where each comes
/// from).
pub const SNAPSHOT: &str = include_str!("prices.json");

/// A price book's file: the built-in snapshot, or the cache `prices update` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub date: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub regions: BTreeMap<String, BTreeMap<String, SnapshotPrice>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotPrice {
    pub price: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

impl Snapshot {
    pub fn builtin() -> anyhow::Result<Snapshot> {
        serde_json::from_str(SNAPSHOT)
            .map_err(|e| anyhow::anyhow!("the built-in price snapshot is not valid: {e}"))
    }
}

/// Where `prices update` keeps the list prices it read: `PIPECTL_PRICES_FILE`, else
/// `$XDG_CACHE_HOME/pipectl/prices.json`, else `~/.cache/pipectl/prices.json`. Never a path
/// a stack file names.
pub fn cache_path() -> Option<std::path::PathBuf> {
    if let Some(file) = std::env::var_os("PIPECTL_PRICES_FILE").filter(|f| !f.is_empty()) {
        return Some(file.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cache"))
        })?;
    Some(base.join("pipectl").join("prices.json"))
}

/// The list prices of one region, less a negotiated discount.
#[derive(Debug, Clone)]
pub struct PriceBook {
    pub date: String,
    pub currency: String,
    pub region: String,
    prices: BTreeMap<String, Decimal>,
    /// The share of a list price paid: 1 without a discount.
    factor: Decimal,
    pub discount_percent: Option<Decimal>,
}

impl PriceBook {
    /// The built-in snapshot's prices for `region` (none for a region it does not cover: every
    /// price is then unknown), less `discount_percent`.
    pub fn builtin(region: &str, discount_percent: Option<Decimal>) -> anyhow::Result<PriceBook> {
        PriceBook::of(Snapshot::builtin()?, region, discount_percent)
    }

    /// The prices `prices update` cached, when they cover `region` and are newer than the
    /// built-in ones; else the built-in snapshot. A cache that cannot be read is said in the
    /// note, and the built-in prices are used.
    pub fn load(
        region: &str,
        discount_percent: Option<Decimal>,
    ) -> anyhow::Result<(PriceBook, Option<String>)> {
        let builtin = Snapshot::builtin()?;
        let Some(path) = cache_path().filter(|p| p.exists()) else {
            return Ok((PriceBook::of(builtin, region, discount_percent)?, None));
        };
        let cached = std::fs::read_to_string(&path)
            .map_err(anyhow::Error::from)
            .and_then(|text| serde_json::from_str::<Snapshot>(&text).map_err(anyhow::Error::from));
        match cached {
            Ok(cached) if cached.regions.contains_key(region) && cached.date >= builtin.date => {
                Ok((PriceBook::of(cached, region, discount_percent)?, None))
            }
            Ok(_) => Ok((PriceBook::of(builtin, region, discount_percent)?, None)),
            Err(error) => Ok((
                PriceBook::of(builtin, region, discount_percent)?,
                Some(format!(
                    "cost: the price cache {} could not be read ({error}); the built-in prices are used: run `pipectl prices update` again, or delete the file",
                    path.display()
                )),
            )),
        }
    }

    fn of(
        snapshot: Snapshot,
        region: &str,
        discount_percent: Option<Decimal>,
    ) -> anyhow::Result<PriceBook> {
        let mut prices = BTreeMap::new();
        for (sku, entry) in snapshot.regions.get(region).into_iter().flatten() {
            let price = Decimal::from_str(&entry.price).map_err(|e| {
                anyhow::anyhow!("the built-in price of {sku} is not a decimal: {e}")
            })?;
            prices.insert(sku.clone(), price);
        }
        let factor = Decimal::ONE - discount_percent.unwrap_or_default() / Decimal::ONE_HUNDRED;
        Ok(PriceBook {
            date: snapshot.date,
            currency: snapshot.currency,
            region: region.to_string(),
            prices,
            factor,
            discount_percent,
        })
    }

    /// Whether the snapshot has prices for this region.
    pub fn covers_region(&self) -> bool {
        !self.prices.is_empty()
    }

    /// A SKU's price, less the discount.
    pub fn unit_price(&self, sku: &str) -> Option<Decimal> {
        self.prices.get(sku).map(|p| p * self.factor)
    }

    /// What a billable resource costs.
    pub fn price(&self, billable: &Billable) -> ResourceCost {
        let before = billable.before.as_ref().map(|s| self.side(s));
        let after = billable.after.as_ref().map(|s| self.side(s));
        let shown = billable.after.as_ref().or(billable.before.as_ref());
        let components = shown.map(|s| self.components(s)).unwrap_or_default();
        let pick = |side: &Option<Priced>, f: fn(&Priced) -> Option<Decimal>| {
            side.as_ref().and_then(f).map(|d| Money(cents(d)))
        };
        ResourceCost {
            currency: self.currency.clone(),
            monthly_before: pick(&before, |p| p.now),
            monthly_after: pick(&after, |p| p.now),
            floor_before: pick(&before, |p| p.floor),
            floor_after: pick(&after, |p| p.floor),
            ceiling_before: pick(&before, |p| p.ceiling),
            ceiling_after: pick(&after, |p| p.ceiling),
            basis: billable.basis.text(),
            price_date: self.date.clone(),
            components,
            range: billable.range.clone(),
            sides: (billable.before.is_some(), billable.after.is_some()),
        }
    }

    /// A side's month per unit, then at its three counts; unknown if any price is.
    fn side(&self, side: &Side) -> Priced {
        let per_unit = self.sum(&side.lines);
        let at_ceiling = side
            .ceiling_lines
            .as_ref()
            .map_or(per_unit, |lines| self.sum(lines));
        let times = |unit: Option<Decimal>, count: Option<Decimal>| Some(unit? * count?);
        Priced {
            now: times(per_unit, side.now),
            floor: times(per_unit, side.floor),
            ceiling: times(at_ceiling, side.ceiling),
        }
    }

    /// Lines priced and summed; unknown if any price is.
    fn sum(&self, lines: &[Line]) -> Option<Decimal> {
        lines
            .iter()
            .map(|line| self.unit_price(&line.sku).map(|p| p * line.quantity))
            .sum()
    }

    fn components(&self, side: &Side) -> Vec<CostComponent> {
        side.lines
            .iter()
            .map(|line| {
                let quantity = line.quantity * side.now.unwrap_or(Decimal::ONE);
                let unit_price = self.unit_price(&line.sku);
                CostComponent {
                    name: line.name.clone(),
                    quantity: Money(quantity),
                    unit: line.unit.clone(),
                    unit_price: unit_price.map(Money),
                    monthly: unit_price
                        .filter(|_| side.now.is_some())
                        .map(|p| Money(cents(p * quantity))),
                }
            })
            .collect()
    }
}

struct Priced {
    now: Option<Decimal>,
    floor: Option<Decimal>,
    ceiling: Option<Decimal>,
}

impl PlanCost {
    /// The totals of the priced resources (`(id, cost)`). A resource counts in the monthly
    /// totals only when its month is known on every side it has (and likewise for the
    /// ceilings), so a difference never compares a known side with an unknown one; a resource
    /// left out of a total is named in `unpriced`. Nothing unknown is counted as $0.
    pub fn of<'a>(
        costs: impl IntoIterator<Item = (String, &'a ResourceCost)>,
        book: &PriceBook,
    ) -> PlanCost {
        let zero = Some(Money(Decimal::ZERO));
        let mut total = PlanCost {
            currency: book.currency.clone(),
            monthly_before: zero,
            monthly_after: zero,
            ceiling_before: zero,
            ceiling_after: zero,
            price_date: book.date.clone(),
            region: book.region.clone(),
            discount_percent: book.discount_percent.map(Money),
            unpriced: vec![],
        };
        for (id, cost) in costs {
            let (before, after) = cost.sides;
            // A side the resource does not have costs nothing; one it has must be known.
            let value = |exists: bool, value: Option<Money>| match exists {
                false => Some(Decimal::ZERO),
                true => value.map(|v| v.0),
            };
            let pair =
                |b: Option<Money>, a: Option<Money>| Some((value(before, b)?, value(after, a)?));
            let monthly = pair(cost.monthly_before, cost.monthly_after);
            let ceiling = pair(cost.ceiling_before, cost.ceiling_after);
            let add = |sum: &mut Option<Money>, amount: Decimal| {
                if let Some(sum) = sum.as_mut() {
                    sum.0 += amount;
                }
            };
            if let Some((b, a)) = monthly {
                add(&mut total.monthly_before, b);
                add(&mut total.monthly_after, a);
            }
            if let Some((b, a)) = ceiling {
                add(&mut total.ceiling_before, b);
                add(&mut total.ceiling_after, a);
            }
            if monthly.is_none() || ceiling.is_none() {
                total.unpriced.push(id);
            }
        }
        for sum in [
            &mut total.monthly_before,
            &mut total.monthly_after,
            &mut total.ceiling_before,
            &mut total.ceiling_after,
        ] {
            *sum = sum.map(|m| Money(cents(m.0)));
        }
        total
    }

    /// How much the plan raises the monthly cost (negative: lowers it).
    pub fn monthly_increase(&self) -> Option<Decimal> {
        Some(self.monthly_after?.0 - self.monthly_before?.0)
    }

    /// How much the plan raises the cost at maximum scale.
    pub fn ceiling_increase(&self) -> Option<Decimal> {
        Some(self.ceiling_after?.0 - self.ceiling_before?.0)
    }
}

/// Prices every change that bills something, and the plan's totals (over every resource,
/// changed or not). A region the snapshot has no prices for is said in a note.
pub fn price_plan(plan: &mut super::Plan, book: &PriceBook) {
    if !book.covers_region() {
        plan.notes.push(format!(
            "cost: the built-in list prices do not cover region {}, so no cost is shown (docs/cost.md lists the regions priced)",
            book.region
        ));
        return;
    }
    for change in &mut plan.changes {
        change.cost = change.billable.as_ref().map(|b| book.price(b));
    }
    let priced = plan
        .changes
        .iter()
        .filter_map(|c| c.cost.as_ref().map(|cost| (c.id.to_string(), cost)));
    plan.cost = Some(PlanCost::of(priced, book));
}

/// `+$60.00`, `-$12.50`.
pub fn signed(amount: Decimal) -> String {
    if amount.is_sign_negative() && !amount.is_zero() {
        format!("-${:.2}", cents(-amount))
    } else {
        format!("+${:.2}", cents(amount))
    }
}

/// A decimal from an integer count (GiB, IOPS, instances).
pub fn count(n: i64) -> Decimal {
    Decimal::from(n)
}

/// A decimal literal in a test (`"0.08"`).
#[cfg(test)]
pub fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a decimal literal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> PriceBook {
        PriceBook::builtin("us-east-1", None).expect("the snapshot parses")
    }

    fn gp3(size: i64, iops: i64, throughput: i64) -> Vec<Line> {
        vec![
            Line::new("storage", "ebs:gp3:storage", count(size), "GB-Mo"),
            Line::new(
                "iops above 3000",
                "ebs:gp3:iops",
                count((iops - 3000).max(0)),
                "IOPS-Mo",
            ),
            Line::new(
                "throughput above 125 MiB/s",
                "ebs:gp3:throughput",
                count((throughput - 125).max(0)),
                "MiBps-Mo",
            ),
        ]
    }

    /// gp3 500 GiB at 3000 IOPS / 125 MiB/s → 6000 / 250: $40.00 → $60.00 a volume-month
    /// ($0.08/GB-month, $0.005 per IOPS-month above 3000, $0.04 per MiB/s-month above 125).
    #[test]
    fn a_gp3_volume_costs_what_the_list_prices_say() {
        let cost = book().price(&Billable {
            before: Some(Side::fixed(gp3(500, 3000, 125))),
            after: Some(Side::fixed(gp3(500, 6000, 250))),
            basis: Basis::ListPrice,
            range: None,
        });
        assert_eq!(cost.monthly_before, Some(Money(decimal("40.00"))));
        assert_eq!(cost.monthly_after, Some(Money(decimal("60.00"))));
        assert_eq!(cost.ceiling_after, cost.monthly_after);
        assert_eq!(cost.components[1].monthly, Some(Money(decimal("15.00"))));
        assert_eq!(cost.components[2].monthly, Some(Money(decimal("5.00"))));
    }

    /// Lambda x86 at $0.0000166667 per GB-second: 100 reserved × 2 GiB × 730 h ≈ $8,760.02.
    #[test]
    fn a_reservation_ceiling_is_exact_to_the_cent() {
        let seconds = count(100) * count(2) * count(HOURS_PER_MONTH) * count(3600);
        let side = Side {
            lines: vec![Line::new(
                "compute",
                "lambda:x86_64:gb-second",
                seconds,
                "GB-s",
            )],
            now: None,
            floor: None,
            ceiling: Some(Decimal::ONE),
            ceiling_lines: None,
        };
        let cost = book().price(&Billable {
            before: None,
            after: Some(side),
            basis: Basis::UnitPriceOnly,
            range: None,
        });
        assert_eq!(cost.ceiling_after, Some(Money(decimal("8760.02"))));
        assert_eq!(cost.monthly_after, None, "usage unknown is not $0");
    }

    /// DynamoDB provisioned 5 RCU / 5 WCU ($0.00013/RCU-hour, $0.00065/WCU-hour): $2.85.
    #[test]
    fn provisioned_throughput_is_priced_by_the_hour() {
        let lines = vec![
            Line::new(
                "read capacity",
                "dynamodb:rcu-hour",
                count(5 * HOURS_PER_MONTH),
                "RCU-hours",
            ),
            Line::new(
                "write capacity",
                "dynamodb:wcu-hour",
                count(5 * HOURS_PER_MONTH),
                "WCU-hours",
            ),
        ];
        let cost = book().price(&Billable {
            before: None,
            after: Some(Side::fixed(lines)),
            basis: Basis::ListPrice,
            range: None,
        });
        assert_eq!(cost.monthly_after, Some(Money(decimal("2.85"))));
    }

    #[test]
    fn an_unknown_price_is_unknown_and_a_discount_applies_to_every_price() {
        let side = Side::scaled(
            vec![Line::new(
                "instance",
                "sagemaker:hosting:ml.nope.large",
                count(730),
                "hours",
            )],
            1,
            1,
            4,
        );
        let cost = book().price(&Billable {
            before: None,
            after: Some(side),
            basis: Basis::ListPrice,
            range: None,
        });
        assert_eq!(cost.monthly_after, None);
        assert_eq!(cost.components[0].unit_price, None);
        let discounted = PriceBook::builtin("us-east-1", Some(decimal("10"))).expect("book");
        assert_eq!(
            discounted.unit_price("ebs:gp3:storage"),
            Some(decimal("0.072"))
        );
        let elsewhere = PriceBook::builtin("xx-nowhere-1", None).expect("book");
        assert!(!elsewhere.covers_region());
    }

    #[test]
    fn money_is_a_string_in_json() {
        let json = serde_json::to_string(&Money(decimal("40.00"))).expect("json");
        assert_eq!(json, "\"40.00\"");
        assert_eq!(Money(decimal("40")).to_string(), "40.00");
        assert_eq!(signed(decimal("-12.5")), "-$12.50");
    }
}
