//! What a stack holds live, read off its plan: `pipectl inventory`. Every resource the plan
//! read is listed with where it stands (this stack's, another stack's, a leftover of a removed
//! block, not created yet, or with no stack's name read) and its state, so a reviewer sees in
//! one list what the stack owns, what it left behind and what it fights over.

use serde::Serialize;

use super::{Action, Change, Plan, PlanError};

/// Where a live object stands with respect to this stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It carries this stack's name.
    Owned,
    /// The file names it, and no stack's name was read on it (a kind without tags or labels,
    /// or an object adopted and not changed yet).
    Unmarked,
    /// This stack made it and the file no longer names it.
    Leftover,
    /// It carries another stack's name.
    Claimed,
    /// The file names it and it does not exist yet.
    Missing,
}

impl Standing {
    pub fn label(self) -> &'static str {
        match self {
            Standing::Owned => "owned",
            Standing::Unmarked => "unmarked",
            Standing::Leftover => "leftover",
            Standing::Claimed => "claimed",
            Standing::Missing => "missing",
        }
    }
}

/// One resource of the inventory.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Entry {
    pub id: String,
    pub standing: Standing,
    /// The stack whose name the live object carries, when its kind reads one.
    pub owner: Option<String>,
    /// `in sync`, `would change`, `would be destroyed`, `does not work: REASON`, ...
    pub state: String,
}

/// A stack's inventory.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Inventory {
    pub stack: String,
    /// "AWS account A, region R".
    pub location: Option<String>,
    pub resources: Vec<Entry>,
    /// What could not be read (another stack's claims are resources, not errors).
    pub errors: Vec<PlanError>,
}

impl Inventory {
    /// The inventory of a plan built with its errors kept.
    pub fn of(plan: &Plan) -> Inventory {
        let resources: Vec<Entry> = plan.changes.iter().map(|c| entry(&plan.stack, c)).collect();
        let claimed = |error: &PlanError| {
            resources
                .iter()
                .any(|r| r.standing == Standing::Claimed && r.id == error.resource)
        };
        Inventory {
            stack: plan.stack.clone(),
            location: plan.location.clone(),
            errors: plan
                .errors
                .iter()
                .filter(|e| !claimed(e))
                .cloned()
                .collect(),
            resources,
        }
    }

    /// How many resources stand so.
    pub fn count(&self, standing: Standing) -> usize {
        self.resources
            .iter()
            .filter(|r| r.standing == standing)
            .count()
    }
}

fn entry(stack: &str, change: &Change) -> Entry {
    let standing = match (&change.owner, change.action) {
        (Some(owner), _) if owner != stack => Standing::Claimed,
        // A delete is always of something the file no longer names.
        (_, Action::Delete) => Standing::Leftover,
        (_, Action::Create) => Standing::Missing,
        (Some(_), _) => Standing::Owned,
        (None, _) => Standing::Unmarked,
    };
    let state = match (&change.unhealthy, change.action) {
        (Some(unhealthy), _) => format!("does not work: {}", unhealthy.reason),
        (None, Action::NoOp) => "in sync".to_string(),
        (None, Action::Create) => "would be created".to_string(),
        (None, Action::Delete) => "would be destroyed (needs --allow-destroy)".to_string(),
        (None, Action::Replace) => "would be replaced".to_string(),
        (None, Action::Update) => {
            let fields: Vec<&str> = change.diffs.iter().map(|d| d.field.as_str()).collect();
            format!("would change: {}", fields.join(", "))
        }
    };
    Entry {
        id: change.id.to_string(),
        standing,
        owner: change.owner.clone(),
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ResourceId, ResourceKind};

    fn change(name: &str, action: Action, owner: Option<&str>) -> Change {
        Change {
            owner: owner.map(str::to_string),
            ..Change::new(
                ResourceId::new(ResourceKind::named("lambda.function"), name),
                action,
                "lane",
            )
        }
    }

    #[test]
    fn each_resource_stands_where_its_mark_and_action_put_it() {
        let plan = Plan {
            stack: "a".into(),
            changes: vec![
                change("mine", Action::NoOp, Some("a")),
                change("theirs", Action::NoOp, Some("b")),
                change("left", Action::Delete, None),
                change("new", Action::Create, None),
                change("plain", Action::NoOp, None),
            ],
            errors: vec![PlanError {
                resource: "lambda.function.theirs".into(),
                message: "it belongs to stack \"b\"".into(),
                help: String::new(),
            }],
            ..Plan::default()
        };
        let inventory = Inventory::of(&plan);
        let standings: Vec<Standing> = inventory.resources.iter().map(|r| r.standing).collect();
        assert_eq!(
            standings,
            vec![
                Standing::Owned,
                Standing::Claimed,
                Standing::Leftover,
                Standing::Missing,
                Standing::Unmarked
            ]
        );
        assert!(
            inventory.errors.is_empty(),
            "a claim is a resource, not an error"
        );
    }
}
