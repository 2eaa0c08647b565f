//! The golden hash: pins the bytes of a small dataset. If this fails, the data changed: make
//! sure that was meant, then update the pin (and say so in the changelog).

use mouvements_generator::{Generator, GeneratorConfig};
use sha2::{Digest, Sha256};

/// SHA-256 of the CSV (header included) of rows 0..100 000, seed 42, June 2025, defaults.
/// Data version 2: the books calibrated to market figures (see CHANGELOG.md).
const GOLDEN_SHA256: &str = "1b50346f82c542efd40f8bbd5c3dc9c0f50702da4fbfda2ad539e87c159d7f1a";

#[test]
fn golden_dataset_hash_is_pinned() {
    let generator = Generator::new(GeneratorConfig::with_rows(42, 100_000).unwrap());
    let mut hasher = Sha256::new();
    let mut bytes = Vec::new();
    generator.write_csv(0..100_000, true, &mut bytes).unwrap();
    hasher.update(&bytes);
    let hex = hasher.finalize().iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    assert_eq!(hex, GOLDEN_SHA256, "the generated data changed");
}
