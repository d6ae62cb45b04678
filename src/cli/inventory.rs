//! `pipectl inventory STACK.toml`: what the stack holds live, read as `plan` reads it (no
//! write): the objects it owns, the leftovers of blocks removed from the file, and the objects
//! another stack's name is on. Exit 0, or 1 when something could not be read.

use anyhow::Result;
use clap::Args;

use super::{plan_stack, GlobalArgs, ReadArgs, Reading, StackFileArg};
use crate::escape::printable;
use crate::plan::inventory::{Inventory, Standing};

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
    #[command(flatten)]
    pub read: ReadArgs,
    /// How to print it: `text`, or `json` ({stack, location, resources: [{id, standing,
    /// owner, state}], errors}).
    #[arg(short = 'o', long, value_enum, default_value_t = InventoryOutput::Text)]
    pub output: InventoryOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryOutput {
    Text,
    Json,
}

pub async fn run(global: &GlobalArgs, args: &InventoryArgs) -> Result<u8> {
    let reading = Reading {
        keep_errors: true,
        validate_writes: false,
        ..args.read.reading(true)
    };
    let (_, _, plan) = plan_stack(global, args.stack.path(), &reading).await?;
    let inventory = Inventory::of(&plan);
    match args.output {
        InventoryOutput::Text => print!("{}", text(&inventory)),
        InventoryOutput::Json => print!("{}", crate::render::json(&inventory)),
    }
    Ok(if inventory.errors.is_empty() { 0 } else { 1 })
}

fn text(inventory: &Inventory) -> String {
    let mut out = format!(
        "Stack {}{}: {} resource{}: {} owned, {} unmarked, {} missing, {} leftover, {} claimed by another stack\n\n",
        printable(&inventory.stack),
        inventory
            .location
            .as_ref()
            .map(|l| format!(" ({})", printable(l)))
            .unwrap_or_default(),
        inventory.resources.len(),
        if inventory.resources.len() == 1 { "" } else { "s" },
        inventory.count(Standing::Owned),
        inventory.count(Standing::Unmarked),
        inventory.count(Standing::Missing),
        inventory.count(Standing::Leftover),
        inventory.count(Standing::Claimed),
    );
    let width = inventory
        .resources
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    for resource in &inventory.resources {
        let owner = match (resource.standing, &resource.owner) {
            (Standing::Claimed, Some(owner)) => format!(
                "; carries the name of stack {:?}: `--take-over {}` takes it, or remove it from one file",
                printable(owner),
                printable(&resource.id)
            ),
            (Standing::Leftover, _) => "; the file no longer names it".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {:<9} {:<width$}  {}{owner}\n",
            resource.standing.label(),
            printable(&resource.id),
            printable(&resource.state),
        ));
    }
    for error in &inventory.errors {
        out.push_str(&format!(
            "\nnot read: {}: {}\n",
            printable(&error.resource),
            printable(&error.message)
        ));
    }
    out.push_str("\nowned: carries this stack's name · unmarked: named by the file, no stack's name read on it · missing: not created yet · leftover: made by this stack, no longer in the file · claimed: another stack's name is on it\n");
    out
}
