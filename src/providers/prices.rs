//! `pipectl prices update`: the list prices the plan's cost uses, read from the AWS Price List
//! Query API (`pricing:GetProducts`, served in us-east-1) into a local cache that plans then
//! prefer to the snapshot built into the binary. Each price pipectl needs is found by its
//! service, a few attribute filters, and its usage type (region-prefixed outside us-east-1:
//! `USE2-EBS:VolumeUsage.gp3`), taking the on-demand price dimension that starts at 0.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use aws_sdk_pricing::types::{Filter, FilterType};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{describe_sdk_error, Aws};
use crate::plan::cost::{PriceFilters, PriceSource};

/// What an update found: each SKU's price by region, and what it could not find.
pub struct Fetched {
    pub prices: BTreeMap<String, BTreeMap<String, Decimal>>,
    pub missing: Vec<(String, &'static str)>,
}

/// Reads every price of `sources` (the kinds': `Kind::price_sources`) for each region: one
/// paginated GetProducts per service and filter set and region (the SKUs sharing them are
/// picked from one answer).
pub async fn fetch(aws: &Aws, regions: &[String], sources: &[PriceSource]) -> Result<Fetched> {
    let mut fetched = Fetched {
        prices: BTreeMap::new(),
        missing: vec![],
    };
    for region in regions {
        let mut groups: BTreeMap<(&str, PriceFilters), Vec<&PriceSource>> = BTreeMap::new();
        for want in sources {
            groups
                .entry((want.service, want.filters))
                .or_default()
                .push(want);
        }
        for ((service, filters), wants) in groups {
            let products = products(aws, service, filters, region).await?;
            for want in wants {
                match products.iter().find_map(|p| on_demand_price(p, want)) {
                    Some(price) => {
                        fetched
                            .prices
                            .entry(region.clone())
                            .or_default()
                            .insert(want.sku.to_string(), price);
                    }
                    None => fetched.missing.push((region.clone(), want.sku)),
                }
            }
        }
    }
    Ok(fetched)
}

/// Every product of `service` in `region` matching `filters`, each a Price List JSON object.
async fn products(
    aws: &Aws,
    service: &str,
    filters: &[(&str, &str)],
    region: &str,
) -> Result<Vec<Value>> {
    let mut all_filters = vec![term("regionCode", region)?];
    for (field, value) in filters {
        all_filters.push(term(field, value)?);
    }
    let mut pages = aws
        .pricing
        .get_products()
        .service_code(service)
        .set_filters(Some(all_filters))
        .format_version("aws_v1")
        .max_results(100)
        .into_paginator()
        .send();
    let mut products = vec![];
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "GetProducts {service} ({region}) failed: {}",
                describe_sdk_error(&e)
            )
        })?;
        for item in page.price_list() {
            let product: Value = serde_json::from_str(item)
                .with_context(|| format!("a {service} price list entry is not JSON"))?;
            products.push(product);
        }
    }
    Ok(products)
}

fn term(field: &str, value: &str) -> Result<Filter> {
    Filter::builder()
        .r#type(FilterType::TermMatch)
        .field(field)
        .value(value)
        .build()
        .map_err(|e| anyhow!("the Price List filter {field}={value}: {e}"))
}

/// The product's on-demand price for `want`, if it is that product: its usage type (after a
/// region prefix such as `USE2-`) and unit match, from its dimension beginning at 0.
fn on_demand_price(product: &Value, want: &PriceSource) -> Option<Decimal> {
    let usage_type = product["product"]["attributes"]["usagetype"].as_str()?;
    let prefix = usage_type.strip_suffix(want.usage_type)?;
    let regional = prefix.is_empty()
        || prefix.strip_suffix('-').is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
    if !regional {
        return None;
    }
    let terms = product["terms"]["OnDemand"].as_object()?;
    terms
        .values()
        .filter_map(|term| term["priceDimensions"].as_object())
        .flat_map(|dimensions| dimensions.values())
        .filter(|d| d["unit"].as_str() == Some(want.unit))
        .filter(|d| d["beginRange"].as_str().is_none_or(|b| b == "0"))
        .find_map(|d| Decimal::from_str(d["pricePerUnit"]["USD"].as_str()?).ok())
        .map(|price| (price / Decimal::from(want.per)).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of an offer-file product (AmazonEC2, gp3 storage in US East (Ohio), as AWS's
    /// Price List publishes it).
    fn gp3_ohio() -> Value {
        serde_json::json!({
            "product": {"productFamily": "Storage", "sku": "M6UGCCQ3CDJQAA37",
                        "attributes": {"usagetype": "USE2-EBS:VolumeUsage.gp3", "volumeApiName": "gp3", "regionCode": "us-east-2"}},
            "terms": {"OnDemand": {"M6UGCCQ3CDJQAA37.JRTCKXETXF": {"priceDimensions": {
                "M6UGCCQ3CDJQAA37.JRTCKXETXF.6YS6EN2CT7": {"unit": "GB-Mo", "beginRange": "0", "endRange": "Inf",
                    "pricePerUnit": {"USD": "0.0800000000"}}}}}}
        })
    }

    #[test]
    fn a_price_is_found_by_its_usage_type_behind_a_region_prefix() {
        let storage: PriceFilters = &[("productFamily", "Storage")];
        let gp3 = PriceSource::new(
            "ebs:gp3:storage",
            "AmazonEC2",
            storage,
            "EBS:VolumeUsage.gp3",
            "GB-Mo",
        );
        assert_eq!(on_demand_price(&gp3_ohio(), &gp3), Some(Decimal::new(8, 2)));
        let gp2 = PriceSource::new(
            "ebs:gp2:storage",
            "AmazonEC2",
            storage,
            "EBS:VolumeUsage.gp2",
            "GB-Mo",
        );
        assert_eq!(on_demand_price(&gp3_ohio(), &gp2), None);
        // Lambda-GB-Second must not match Lambda-GB-Second-ARM's product, nor the reverse.
        let x86 = PriceSource::unfiltered(
            "lambda:x86_64:gb-second",
            "AWSLambda",
            "Lambda-GB-Second",
            "Lambda-GB-Second",
        );
        let arm = serde_json::json!({"product": {"attributes": {"usagetype": "USE1-Lambda-GB-Second-ARM"}},
            "terms": {"OnDemand": {"a": {"priceDimensions": {"b": {"unit": "Lambda-GB-Second", "beginRange": "0", "pricePerUnit": {"USD": "0.0000133334"}}}}}}});
        assert_eq!(on_demand_price(&arm, &x86), None);
    }

    /// A price whose Price List unit is larger than the book's is divided down to it.
    #[test]
    fn a_price_in_a_larger_unit_is_divided_to_the_books() {
        let product = serde_json::json!({"product": {"attributes": {"usagetype": "EBS:VolumeP-Throughput.gp3"}},
            "terms": {"OnDemand": {"a": {"priceDimensions": {"b": {"unit": "GiBps-mo", "beginRange": "0", "pricePerUnit": {"USD": "40.96"}}}}}}});
        let throughput = PriceSource::new(
            "ebs:gp3:throughput",
            "AmazonEC2",
            &[("productFamily", "Provisioned Throughput")],
            "EBS:VolumeP-Throughput.gp3",
            "GiBps-mo",
        )
        .per(1024);
        assert_eq!(
            on_demand_price(&product, &throughput),
            Some(Decimal::new(4, 2))
        );
    }
}
