//! What a source reports: one piece of evidence of a vendor's software.

use serde::{Deserialize, Serialize};

use crate::policy::{Confidence, Identifier, Vendor};

/// One piece of evidence that a vendor's software is (or was) on a system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The vendor's id in the policy.
    pub vendor_id: String,
    /// The vendor's name.
    pub vendor: String,
    /// The product, when the source or the policy names it.
    pub product: Option<String>,
    /// The installed version, when the source records one.
    pub version: Option<String>,
    /// Where the evidence comes from (`dpkg`, `rpm`, `path`, `systemd`, …).
    pub source: String,
    /// The policy identifier that matched.
    pub identifier: String,
    /// What was seen: a package name, a path, a registry key.
    pub observed: String,
    /// How sure the policy is of the identifier.
    pub confidence: Confidence,
}

impl Finding {
    /// A finding of `vendor`'s software through identifier `id`.
    pub fn new(
        vendor: &Vendor,
        id: &Identifier,
        source: &str,
        observed: impl Into<String>,
    ) -> Self {
        Finding {
            vendor_id: vendor.id.clone(),
            vendor: vendor.name.clone(),
            product: id.product.clone(),
            version: None,
            source: source.to_string(),
            identifier: id.value.clone(),
            observed: observed.into(),
            confidence: id.confidence,
        }
    }

    /// The same finding with a version.
    pub fn with_version(mut self, version: Option<String>) -> Self {
        self.version = version.filter(|v| !v.is_empty());
        self
    }

    /// The same finding with a product name from the source (which outranks
    /// the policy's, being what the system itself says).
    pub fn with_product(mut self, product: Option<String>) -> Self {
        if let Some(p) = product.filter(|p| !p.is_empty()) {
            self.product = Some(p);
        }
        self
    }
}
