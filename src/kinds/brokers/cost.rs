//! What the brokers' EBS volumes bill (docs/cost.md): GB-months, IOPS above a type's free
//! baseline (gp3: 3,000; io1/io2: every provisioned IOPS, io2 in tiers), throughput above gp3's
//! 125 MiB/s. Each volume change carries its own volume's cost; the broker autoscaler's change
//! carries the volumes it may add (a StatefulSet keeps its claims when it scales in, so the
//! volumes that exist are the floor, and `max_replicas` volumes the ceiling).

use super::hpa::AutoscalerDefinition;
use super::storage::{EbsVolume, VolumeDefinition};
use crate::plan::cost::{count, Basis, Billable, Line, PriceFilters, PriceSource, Side};

/// gp3's included IOPS and throughput (EBS pricing: charged only above them).
const GP3_FREE_IOPS: i64 = 3_000;
const GP3_FREE_THROUGHPUT_MIBPS: i64 = 125;
/// io2's IOPS price tiers: up to 32,000, then to 64,000, then above.
const IO2_TIERS: [(i64, &str); 3] = [
    (32_000, "ebs:io2:iops:tier1"),
    (64_000, "ebs:io2:iops:tier2"),
    (i64::MAX, "ebs:io2:iops:tier3"),
];

const EC2_STORAGE: PriceFilters = &[("productFamily", "Storage")];
const EC2_IOPS: PriceFilters = &[("productFamily", "System Operation")];
const EC2_THROUGHPUT: PriceFilters = &[("productFamily", "Provisioned Throughput")];

/// Where the Price List has the volumes' prices (service AmazonEC2).
pub(super) const PRICE_SOURCES: &[PriceSource] = &[
    ebs(
        "ebs:gp3:storage",
        EC2_STORAGE,
        "EBS:VolumeUsage.gp3",
        "GB-Mo",
    ),
    ebs("ebs:gp3:iops", EC2_IOPS, "EBS:VolumeP-IOPS.gp3", "IOPS-Mo"),
    // The Price List prices gp3 throughput per GiB/s-month; the book per MiB/s-month.
    ebs(
        "ebs:gp3:throughput",
        EC2_THROUGHPUT,
        "EBS:VolumeP-Throughput.gp3",
        "GiBps-mo",
    )
    .per(1024),
    ebs(
        "ebs:gp2:storage",
        EC2_STORAGE,
        "EBS:VolumeUsage.gp2",
        "GB-Mo",
    ),
    ebs(
        "ebs:io1:storage",
        EC2_STORAGE,
        "EBS:VolumeUsage.piops",
        "GB-Mo",
    ),
    ebs(
        "ebs:io1:iops",
        EC2_IOPS,
        "EBS:VolumeP-IOPS.piops",
        "IOPS-Mo",
    ),
    ebs(
        "ebs:io2:storage",
        EC2_STORAGE,
        "EBS:VolumeUsage.io2",
        "GB-Mo",
    ),
    ebs(
        "ebs:io2:iops:tier1",
        EC2_IOPS,
        "EBS:VolumeP-IOPS.io2",
        "IOPS-Mo",
    ),
    ebs(
        "ebs:io2:iops:tier2",
        EC2_IOPS,
        "EBS:VolumeP-IOPS.io2.tier2",
        "IOPS-Mo",
    ),
    ebs(
        "ebs:io2:iops:tier3",
        EC2_IOPS,
        "EBS:VolumeP-IOPS.io2.tier3",
        "IOPS-Mo",
    ),
];

const fn ebs(
    sku: &'static str,
    filters: PriceFilters,
    usage_type: &'static str,
    unit: &'static str,
) -> PriceSource {
    PriceSource::new(sku, "AmazonEC2", filters, usage_type, unit)
}

/// One volume's settings, as far as its price goes.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSettings {
    pub volume_type: String,
    pub size_gib: i64,
    pub iops: Option<i64>,
    pub throughput_mibps: Option<i64>,
}

impl VolumeSettings {
    pub fn live(ebs: &EbsVolume) -> VolumeSettings {
        VolumeSettings {
            volume_type: ebs.volume_type.clone(),
            size_gib: ebs.size_gib,
            iops: ebs.iops,
            throughput_mibps: ebs.throughput_mibps,
        }
    }

    /// What the volume will be once the file's settings are applied (a size only grows).
    pub fn wanted(ebs: &EbsVolume, desired: &VolumeDefinition) -> VolumeSettings {
        VolumeSettings {
            volume_type: desired
                .volume_type
                .clone()
                .unwrap_or_else(|| ebs.volume_type.clone()),
            size_gib: desired.size_gib.unwrap_or(ebs.size_gib).max(ebs.size_gib),
            iops: desired.iops.or(ebs.iops),
            throughput_mibps: desired.throughput_mibps.or(ebs.throughput_mibps),
        }
    }

    /// A month of the volume, line by line. A type without a price in the book (st1, sc1)
    /// stays unknown.
    pub fn lines(&self) -> Vec<Line> {
        let kind = self.volume_type.as_str();
        let mut lines = vec![Line::new(
            "storage",
            &format!("ebs:{kind}:storage"),
            count(self.size_gib),
            "GB-Mo",
        )];
        let iops = self.iops.unwrap_or(0);
        match kind {
            "gp3" => {
                lines.push(Line::new(
                    "IOPS above 3,000",
                    "ebs:gp3:iops",
                    count((iops - GP3_FREE_IOPS).max(0)),
                    "IOPS-Mo",
                ));
                let throughput = self.throughput_mibps.unwrap_or(GP3_FREE_THROUGHPUT_MIBPS);
                lines.push(Line::new(
                    "throughput above 125 MiB/s",
                    "ebs:gp3:throughput",
                    count((throughput - GP3_FREE_THROUGHPUT_MIBPS).max(0)),
                    "MiBps-Mo",
                ));
            }
            "io1" => lines.push(Line::new(
                "provisioned IOPS",
                "ebs:io1:iops",
                count(iops),
                "IOPS-Mo",
            )),
            "io2" => {
                let mut below = 0;
                for (ceiling, sku) in IO2_TIERS {
                    let in_tier = (iops.min(ceiling) - below).max(0);
                    if in_tier > 0 {
                        lines.push(Line::new(
                            "provisioned IOPS",
                            sku,
                            count(in_tier),
                            "IOPS-Mo",
                        ));
                    }
                    below = ceiling;
                }
            }
            _ => {}
        }
        lines
    }
}

/// One volume's cost before and after the plan.
pub fn volume_billable(ebs: &EbsVolume, desired: &VolumeDefinition) -> Billable {
    Billable {
        before: Some(Side::fixed(VolumeSettings::live(ebs).lines())),
        after: Some(Side::fixed(VolumeSettings::wanted(ebs, desired).lines())),
        basis: Basis::ListPrice,
        range: None,
    }
}

/// The volumes the autoscaler may add: from the volumes that exist (`existing`) up to its
/// maximum, each like `per_volume` (before: at the live maximum and settings; after: at the
/// file's). Nothing is billed until it scales out, so the month and the floor are $0.
pub fn headroom_billable(
    existing: usize,
    live_max: Option<i64>,
    desired: &AutoscalerDefinition,
    per_volume: (&VolumeSettings, &VolumeSettings),
) -> Billable {
    let existing = existing as i64;
    let side = |max: i64, settings: &VolumeSettings| {
        Side::scaled(settings.lines(), 0, 0, (max - existing).max(0))
    };
    Billable {
        before: live_max.map(|max| side(max, per_volume.0)),
        after: Some(side(desired.max_replicas, per_volume.1)),
        basis: Basis::ListPrice,
        range: Some(format!(
            "{existing} volumes exist; up to {} more at max_replicas {}, {} GiB {} each",
            (desired.max_replicas - existing).max(0),
            desired.max_replicas,
            per_volume.1.size_gib,
            per_volume.1.volume_type
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::cost::{decimal, Money, PriceBook};

    fn settings(kind: &str, size: i64, iops: i64, throughput: i64) -> VolumeSettings {
        VolumeSettings {
            volume_type: kind.into(),
            size_gib: size,
            iops: Some(iops),
            throughput_mibps: Some(throughput),
        }
    }

    fn monthly(settings: &VolumeSettings) -> Option<Money> {
        let book = PriceBook::builtin("us-east-1", None).expect("book");
        book.price(&Billable {
            before: None,
            after: Some(Side::fixed(settings.lines())),
            basis: Basis::ListPrice,
            range: None,
        })
        .monthly_after
    }

    #[test]
    fn each_volume_type_bills_its_own_way() {
        assert_eq!(
            monthly(&settings("gp3", 500, 3000, 125)),
            Some(Money(decimal("40.00")))
        );
        assert_eq!(
            monthly(&settings("gp3", 500, 6000, 250)),
            Some(Money(decimal("60.00")))
        );
        // gp2: storage only (its IOPS come with the size), $0.10/GB-month.
        assert_eq!(
            monthly(&settings("gp2", 500, 1500, 0)),
            Some(Money(decimal("50.00")))
        );
        // io1: $0.125/GB-month and $0.065 per provisioned IOPS-month.
        assert_eq!(
            monthly(&settings("io1", 100, 1000, 0)),
            Some(Money(decimal("77.50")))
        );
        // io2 in tiers: 32,000 × 0.065 + 8,000 × 0.0455 = 2,080 + 364, plus 100 GB × 0.125.
        assert_eq!(
            monthly(&settings("io2", 100, 40_000, 0)),
            Some(Money(decimal("2456.50")))
        );
        // No price for st1 in the book: unknown, not $0.
        assert_eq!(monthly(&settings("st1", 500, 0, 0)), None);
    }
}
