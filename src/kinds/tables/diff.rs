//! The diff of one table: index deletions, the billing/capacity update, index creations, in the
//! order they must run, with the hazards AWS would refuse or regret.

use super::*;

pub(super) fn fmt_capacity(capacity: Option<Capacity>) -> Option<String> {
    capacity.map(|c| format!("read {} / write {}", c.read, c.write))
}

/// Turns one desired table and what is live into changes, in the order they must run:
/// index deletions, then the table's billing/capacity update, then index creations.
/// Notes for the plan: live indexes the file does not list and pipectl did not create, which
/// are left alone.
pub fn unmanaged_notes(desired: &TableDefinition, live: Option<&LiveTable>) -> Vec<String> {
    let Some(live) = live else {
        return vec![];
    };
    desired
        .unmanaged(live)
        .into_iter()
        .map(|index| {
            format!(
                "dynamodb.index.{}/{}: unmanaged (live, not in the stack file, not created by pipectl): left alone; to delete it, add prune = true to the table or list it with remove = true",
                desired.name, index.definition.name
            )
        })
        .collect()
}

/// A table's changes: its throughput and billing mode in place, then its index deletions and
/// creations staged one per step (DynamoDB runs one online index operation at a time), all in
/// the table's lane. A key schema that differs is an error: DynamoDB cannot change it.
pub fn plan_table(
    desired: &TableDefinition,
    live: Option<&LiveTable>,
) -> (Vec<Change>, Vec<PlanError>) {
    let lane = lane_of(&desired.name);
    let table_id = ResourceId::new(TABLE, &desired.name);
    let Some(live) = live else {
        return (vec![plan_create(desired, table_id, lane)], vec![]);
    };
    if let Some(error) = key_schema_error(desired, live, &table_id) {
        return (vec![], vec![error]);
    }
    let indexes = IndexWork::between(desired, live);
    let mut positions = indexes.positions();
    let mut changes = plan_index_deletions(desired, &indexes, &lane, &mut positions);
    changes.push(Change {
        unhealthy: live.health(),
        ..plan_throughput(desired, live, table_id, &lane)
    });
    changes.extend(plan_index_creations(
        desired,
        live,
        &indexes,
        &lane,
        &mut positions,
    ));
    (changes, vec![])
}

/// The error for a live table whose keys differ from the spec's, if they do.
pub(super) fn key_schema_error(
    desired: &TableDefinition,
    live: &LiveTable,
    table_id: &ResourceId,
) -> Option<PlanError> {
    let key_mismatch = |want: Option<&Key>, have: Option<&Key>| match (want, have) {
        (Some(w), Some(h)) => {
            w.name != h.name || (h.attribute_type != "?" && w.attribute_type != h.attribute_type)
        }
        (None, None) => false,
        _ => true,
    };
    let differs = key_mismatch(Some(&desired.partition_key), live.partition_key.as_ref())
        || key_mismatch(desired.sort_key.as_ref(), live.sort_key.as_ref());
    let show = |k: Option<&Key>| k.map(|k| k.to_string()).unwrap_or_else(|| "none".into());
    differs.then(|| PlanError {
        resource: table_id.to_string(),
        message: format!(
            "the live table's keys (partition {}, sort {}) differ from the spec (partition {}, sort {})",
            show(live.partition_key.as_ref()),
            show(live.sort_key.as_ref()),
            show(Some(&desired.partition_key)),
            show(desired.sort_key.as_ref())
        ),
        help: "DynamoDB cannot change a table's key schema, and pipectl does not recreate tables that hold data: \
               make the spec's keys match the live table, or migrate to a new table name"
            .to_string(),
    })
}

/// The index operations a table needs: live indexes to delete, indexes whose shape changed
/// (deleted, then created again) and new ones.
pub(super) struct IndexWork<'a> {
    deletions: Vec<&'a LiveIndex>,
    replacements: Vec<&'a IndexDefinition>,
    creations: Vec<&'a IndexDefinition>,
}

impl<'a> IndexWork<'a> {
    fn between(desired: &'a TableDefinition, live: &'a LiveTable) -> Self {
        let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
        let wanted = |name: &str| desired.indexes.iter().find(|i| i.name == name);
        IndexWork {
            deletions: live
                .indexes
                .iter()
                .filter(|i| wanted(&i.definition.name).is_none())
                .filter(|i| desired.may_delete(&i.definition.name, live))
                .collect(),
            replacements: desired
                .indexes
                .iter()
                .filter(|i| live_index(&i.name).is_some_and(|l| !l.definition.same_shape(i)))
                .collect(),
            creations: desired
                .indexes
                .iter()
                .filter(|i| live_index(&i.name).is_none())
                .collect(),
        }
    }

    /// "1 of N", "2 of N", ...: each online index operation's place in the sequence.
    fn positions(&self) -> impl FnMut() -> String {
        let total = self.deletions.len() + 2 * self.replacements.len() + self.creations.len();
        let mut numbered = 0;
        move || {
            numbered += 1;
            format!("{numbered} of {total}")
        }
    }
}

pub(super) fn plan_index_deletions(
    desired: &TableDefinition,
    indexes: &IndexWork,
    lane: &str,
    next_position: &mut impl FnMut() -> String,
) -> Vec<Change> {
    indexes
        .deletions
        .iter()
        .map(|index| {
            let name = &index.definition.name;
            let id = ResourceId::new(INDEX, format!("{}/{name}", desired.name));
            Change {
                diffs: vec![FieldDiff::new("index", Some(index.definition.shape()), None)],
                hazards: vec![Hazard {
                    message: format!(
                        "deleting index {name} removes it for every query that uses it; recreating it means a full backfill"
                    ),
                }],
                destructive: true,
                steps: vec![delete_index_step(&desired.name, name, next_position())],
                ..Change::new(id, Action::Delete, lane)
            }
        })
        .collect()
}

/// Billing mode and throughput of the table and of every index that stays: one UpdateTable, or
/// a no-op change when nothing differs.
pub(super) fn plan_throughput(
    desired: &TableDefinition,
    live: &LiveTable,
    table_id: ResourceId,
    lane: &str,
) -> Change {
    let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
    let mut diffs = vec![];
    if desired.billing_mode != live.billing_mode {
        diffs.push(FieldDiff::new(
            "billing_mode",
            Some(live.billing_mode.as_aws().into()),
            Some(desired.billing_mode.as_aws().into()),
        ));
    }
    let mut index_capacity = vec![];
    // UpdateTable is not idempotent: throughput equal to the current value is a
    // ValidationException, so the table's throughput is sent only when it differs or when
    // the switch to PROVISIONED requires it.
    let switching_to_provisioned = live.billing_mode != BillingMode::Provisioned;
    let mut table_capacity = None;
    if desired.billing_mode == BillingMode::Provisioned {
        if desired.capacity != live.capacity || switching_to_provisioned {
            table_capacity = desired.capacity;
        }
        if desired.capacity != live.capacity {
            diffs.push(FieldDiff::new(
                "capacity",
                fmt_capacity(live.capacity),
                fmt_capacity(desired.capacity),
            ));
        }
        for index in desired
            .indexes
            .iter()
            .filter(|i| live_index(&i.name).is_some())
        {
            let Some(want) = index.capacity else { continue };
            let have = live_index(&index.name).and_then(|l| l.definition.capacity);
            if have != Some(want) || switching_to_provisioned {
                if have != Some(want) {
                    diffs.push(FieldDiff::new(
                        &format!("index.{}.capacity", index.name),
                        fmt_capacity(have),
                        fmt_capacity(Some(want)),
                    ));
                }
                index_capacity.push((index.name.clone(), want));
            }
        }
    }
    if diffs.is_empty() {
        return Change::new(table_id, Action::NoOp, lane);
    }
    let mut hazards = capacity_quota_hazards(desired);
    if desired.billing_mode == BillingMode::PayPerRequest
        && live.billing_mode == BillingMode::Provisioned
    {
        hazards.extend(on_demand_switch_hazard(live.last_switch_to_on_demand));
    }
    Change {
        diffs,
        hazards,
        steps: vec![(TableOperation::UpdateTable {
            table: desired.name.clone(),
            billing_mode: desired.billing_mode,
            capacity: table_capacity,
            index_capacity,
        })
        .into_step(format!(
            "update billing mode and capacity of {}",
            desired.name
        ))],
        ..Change::new(table_id, Action::Update, lane)
    }
}

/// New indexes, and indexes replaced (deleted, then created), in the spec's order: each create
/// carries the attribute definitions of every index alive at that point.
pub(super) fn plan_index_creations(
    desired: &TableDefinition,
    live: &LiveTable,
    indexes: &IndexWork,
    lane: &str,
    next_position: &mut impl FnMut() -> String,
) -> Vec<Change> {
    let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
    // Index definitions that stay alive after this plan, for AttributeDefinitions.
    let surviving: Vec<&IndexDefinition> = desired
        .indexes
        .iter()
        .filter(|i| live_index(&i.name).is_some_and(|l| l.definition.same_shape(i)))
        .collect();
    let mut created_so_far: Vec<&IndexDefinition> = vec![];
    let mut changes = vec![];
    for index in desired.indexes.iter() {
        let replacing = indexes.replacements.iter().any(|r| r.name == index.name);
        let creating = indexes.creations.iter().any(|c| c.name == index.name);
        if !replacing && !creating {
            continue;
        }
        let id = ResourceId::new(INDEX, format!("{}/{}", desired.name, index.name));
        let mut change = Change::new(id, Action::Create, lane);
        change.hazards.push(Hazard {
            message: format!(
                "index {} backfills from the whole table before it is ACTIVE: minutes to hours on large tables",
                index.name
            ),
        });
        if replacing {
            let old = live_index(&index.name).map(|l| l.definition.shape());
            replace_first(&mut change, desired, index, old, next_position());
        } else {
            change
                .diffs
                .push(FieldDiff::new("index", None, Some(index.shape())));
        }
        if desired.billing_mode == BillingMode::Provisioned {
            change.diffs.push(FieldDiff::new(
                "capacity",
                None,
                fmt_capacity(index.capacity),
            ));
        }
        let attributes = desired.attribute_definitions(
            surviving
                .iter()
                .copied()
                .chain(created_so_far.iter().copied())
                .chain(std::iter::once(index)),
        );
        change.steps.push(create_index_step(
            desired,
            index,
            attributes,
            next_position(),
        ));
        created_so_far.push(index);
        changes.push(change);
    }
    changes
}

/// An index whose key schema or projection changes: deleted first, then created again.
fn replace_first(
    change: &mut Change,
    desired: &TableDefinition,
    index: &IndexDefinition,
    old_shape: Option<String>,
    position: String,
) {
    change.action = Action::Replace;
    change.destructive = true;
    change
        .diffs
        .push(FieldDiff::new("index", old_shape, Some(index.shape())));
    change.hazards.push(Hazard {
        message: format!(
            "key schema or projection of index {} cannot change in place: it is deleted and created again, and queries on it fail in between",
            index.name
        ),
    });
    change
        .steps
        .push(delete_index_step(&desired.name, &index.name, position));
}

/// UpdateTable creating the index, with the attribute definitions of every index alive then;
/// its capacity only when the table is provisioned.
fn create_index_step(
    desired: &TableDefinition,
    index: &IndexDefinition,
    attribute_definitions: Vec<Key>,
    position: String,
) -> Step {
    let provisioned = desired.billing_mode == BillingMode::Provisioned;
    (TableOperation::CreateIndex {
        table: desired.name.clone(),
        index: IndexDefinition {
            capacity: if provisioned { index.capacity } else { None },
            ..index.clone()
        },
        attribute_definitions,
        position: position.clone(),
    })
    .into_step(format!("create index {} ({position})", index.name))
}

/// AWS allows a few switches to on-demand per rolling 24 h (to provisioned at any time).
/// DescribeTable reports only the last switch, so pipectl cannot count them: a switch within
/// the last day is worth a warning, not a refusal.
pub(super) fn on_demand_switch_hazard(last_switch: Option<i64>) -> Option<Hazard> {
    let hours = (now_epoch_seconds() - last_switch?) as f64 / 3600.0;
    (hours < 24.0).then(|| Hazard {
        message: format!(
            "this table last switched to PAY_PER_REQUEST {hours:.1} h ago; AWS allows {} switches to on-demand per rolling 24 h (earlier ones are not reported) and refuses more with LimitExceededException",
            limits::DYNAMODB_SWITCHES_TO_ON_DEMAND_PER_DAY
        ),
    })
}

/// Capacity above DynamoDB's default per-table quota: AWS refuses it unless the account's
/// quota was raised.
pub(super) fn capacity_quota_hazards(desired: &TableDefinition) -> Vec<Hazard> {
    let quota = limits::DYNAMODB_DEFAULT_TABLE_CAPACITY_QUOTA;
    let over = |c: &Capacity| c.read > quota || c.write > quota;
    let table = desired
        .capacity
        .iter()
        .filter(|c| over(c))
        .map(|_| "the table".to_string());
    let indexes = desired
        .indexes
        .iter()
        .filter(|i| i.capacity.as_ref().is_some_and(over))
        .map(|i| format!("index {}", i.name));
    table
        .chain(indexes)
        .map(|what| Hazard {
            message: format!(
                "{what} asks for more than {quota} read or write capacity units, DynamoDB's default per-table quota: AWS refuses it unless this account's quota was raised (Service Quotas)"
            ),
        })
        .collect()
}

pub(super) fn delete_index_step(table: &str, index: &str, position: String) -> Step {
    (TableOperation::DeleteIndex {
        table: table.to_string(),
        index: index.to_string(),
        position: position.clone(),
    })
    .into_step(format!("delete index {index} ({position})"))
}

pub(super) fn plan_create(desired: &TableDefinition, id: ResourceId, lane: String) -> Change {
    let mut diffs = vec![
        FieldDiff::new(
            "billing_mode",
            None,
            Some(desired.billing_mode.as_aws().into()),
        ),
        FieldDiff::new(
            "partition_key",
            None,
            Some(desired.partition_key.to_string()),
        ),
    ];
    if let Some(sort) = &desired.sort_key {
        diffs.push(FieldDiff::new("sort_key", None, Some(sort.to_string())));
    }
    if desired.billing_mode == BillingMode::Provisioned {
        diffs.push(FieldDiff::new(
            "capacity",
            None,
            fmt_capacity(desired.capacity),
        ));
    }
    for index in &desired.indexes {
        diffs.push(FieldDiff::new(
            &format!("index.{}", index.name),
            None,
            Some(index.shape()),
        ));
        if desired.billing_mode == BillingMode::Provisioned {
            diffs.push(FieldDiff::new(
                &format!("index.{}.capacity", index.name),
                None,
                fmt_capacity(index.capacity),
            ));
        }
    }
    if !desired.tags.is_empty() {
        let tags: Vec<String> = desired
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        diffs.push(FieldDiff::new("tags", None, Some(tags.join(", "))));
    }
    Change {
        diffs,
        hazards: capacity_quota_hazards(desired),
        steps: vec![(TableOperation::CreateTable {
            table: desired.clone(),
        })
        .into_step(format!("create table {}", desired.name))],
        ..Change::new(id, Action::Create, lane)
    }
}

pub(super) fn now_epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
