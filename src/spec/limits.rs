//! The shape of a numeric limit pipectl enforces before calling AWS. Each kind keeps its own, with
//! their sources and dates, in its folder (`src/kinds/KIND/limits.rs`).

/// An inclusive range with the unit and the AWS parameter it constrains.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub min: i64,
    pub max: i64,
    pub unit: &'static str,
    pub aws_name: &'static str,
    /// Where the numbers come from and when they were checked.
    pub source: &'static str,
}

impl Limit {
    pub fn contains(&self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }
}
