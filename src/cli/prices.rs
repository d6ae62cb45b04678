//! `pipectl prices update [REGION...]`: reads the list prices the plan's cost uses from the AWS
//! Price List Query API (`pricing:GetProducts`) into the local price cache (docs/cost.md), which
//! plans then prefer to the prices built into the binary. Prints what changed.

use std::str::FromStr;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::GlobalArgs;
use crate::plan::cost::{cache_path, Snapshot, SnapshotPrice};

#[derive(Debug, Args)]
pub struct PricesArgs {
    #[command(subcommand)]
    pub action: PricesAction,
}

#[derive(Debug, Subcommand)]
pub enum PricesAction {
    /// Read the list prices from the AWS Price List Query API into the price cache
    /// (PIPECTL_PRICES_FILE, else ~/.cache/pipectl/prices.json).
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The regions whose prices to read (default: us-east-1).
    #[arg(value_name = "REGION")]
    pub regions: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &PricesArgs) -> Result<u8> {
    let PricesAction::Update(update) = &args.action;
    let regions = if update.regions.is_empty() {
        vec!["us-east-1".to_string()]
    } else {
        update.regions.clone()
    };
    for region in &regions {
        if !crate::spec::validate::is_region_name(region) {
            bail!("{region:?} is not an AWS region name; use a region code such as us-east-1");
        }
    }
    let path = cache_path()
        .context("no place for the price cache: set PIPECTL_PRICES_FILE, XDG_CACHE_HOME or HOME")?;
    let aws =
        crate::providers::Aws::connect(&global.runner_connection(Some("us-east-1".to_string())))
            .await?;
    let sources = crate::engine::registry::price_sources();
    let fetched = crate::providers::prices::fetch(&aws, &regions, &sources).await?;
    if fetched.prices.is_empty() {
        bail!(
            "the Price List answered no price pipectl uses for {}: the cache is left as it was",
            regions.join(", ")
        );
    }
    // What was read replaces what the cache (or the snapshot) had; the rest is kept.
    let mut snapshot = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<Snapshot>(&text).ok())
        .map_or_else(Snapshot::builtin, Ok)?;
    snapshot.date = today();
    snapshot.note = Some("List prices read by `pipectl prices update` from the AWS Price List Query API; prices it did not find are the built-in ones.".into());
    let mut changed = 0;
    for (region, prices) in &fetched.prices {
        let book = snapshot.regions.entry(region.clone()).or_default();
        for (sku, price) in prices {
            let old = book.get(sku).map(|p| p.price.clone());
            // Compared as numbers: "0.10" and "0.1" are one price.
            let same = old
                .as_deref()
                .and_then(|o| rust_decimal::Decimal::from_str(o).ok())
                .is_some_and(|o| o == *price);
            if same {
                continue;
            }
            changed += 1;
            let new = price.to_string();
            println!(
                "{region} {sku}: {} -> {new}",
                old.as_deref().unwrap_or("none")
            );
            match book.get_mut(sku) {
                Some(entry) => entry.price = new,
                None => {
                    book.insert(
                        sku.clone(),
                        SnapshotPrice {
                            price: new,
                            unit: None,
                            what: None,
                        },
                    );
                }
            }
        }
    }
    for (region, sku) in &fetched.missing {
        eprintln!(
            "warning: {region} {sku}: not found in the Price List; the earlier price is kept"
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    super::write_whole(&path, &serde_json::to_string_pretty(&snapshot)?)?;
    println!(
        "{changed} price(s) changed; {} read for {}, dated {}, in {}.",
        fetched.prices.values().map(|p| p.len()).sum::<usize>(),
        regions.join(", "),
        snapshot.date,
        path.display()
    );
    Ok(0)
}

/// Today's date, UTC (`2026-12-06`).
fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    crate::plan::usage::utc_date(now)
}
