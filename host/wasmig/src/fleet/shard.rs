//! A static split of a fleet into N shards by a stable hash of each tenant's name: for orchestrators that already start N workers (Kubernetes indexed jobs, CI matrices) without a coordinator.

use std::fmt;

use sha2::{Digest, Sha256};

use super::source::Tenant;

/// Shard `index` of `count` (1-based, as `--shard 2/4` says it): the tenants
/// whose name hashes to it. Every tenant is in exactly one shard of a given
/// `count`, whatever the order or the other tenants of the listing, on
/// every machine and wasmig version (SHA-256 of the name, not Rust's hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// A `--shard` that is not `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not a shard: write K/N with 1 <= K <= N (e.g. `--shard 2/4` for the second of four workers; a \
     Kubernetes indexed job passes $((JOB_COMPLETION_INDEX + 1))/N)"
)]
pub struct ShardError {
    given: String,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 || index == 0 || index > count {
            return Err(ShardError { given: format!("{index}/{count}") });
        }
        Ok(Shard { index, count })
    }

    /// `K/N`.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let bad = || ShardError { given: text.to_owned() };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index = index.trim().parse().map_err(|_| bad())?;
        let count = count.trim().parse().map_err(|_| bad())?;
        Shard::new(index, count).map_err(|_| bad())
    }

    /// Whether the tenant named `name` belongs to this shard.
    pub fn holds(&self, name: &str) -> bool {
        let digest = Sha256::digest(name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// The tenants of `tenants` that belong to this shard, lazily.
    pub fn select<I: IntoIterator<Item = Tenant>>(self, tenants: I) -> impl Iterator<Item = Tenant> {
        tenants.into_iter().filter(move |tenant| self.holds(&tenant.name))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..1_000).map(|i| format!("tenant_{i:04}")).collect();
        for count in [1u32, 2, 3, 7, 16] {
            let shards: Vec<Shard> = (1..=count).map(|index| Shard::new(index, count).unwrap()).collect();
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                let holders: Vec<usize> =
                    shards.iter().enumerate().filter(|(_, shard)| shard.holds(name)).map(|(i, _)| i).collect();
                assert_eq!(holders.len(), 1, "{name} in {count} shards: {holders:?}");
                sizes[holders[0]] += 1;
            }
            // A hash, not a partition by position: roughly even, never empty at this size.
            let even = names.len() / count as usize;
            assert!(sizes.iter().all(|size| *size > even / 2 && *size < even * 2), "{count}: {sizes:?}");
        }
    }

    #[test]
    fn the_split_does_not_depend_on_the_machine_or_the_listing() {
        // Pinned: a shard must hold the same tenants on every machine and wasmig version.
        let four: Vec<u32> = ["acme", "globex", "initech", "umbrella"]
            .iter()
            .map(|name| (1..=4).find(|index| Shard::new(*index, 4).unwrap().holds(name)).unwrap())
            .collect();
        // The first 8 bytes of SHA-256 of each name, big-endian, modulo 4, plus 1.
        assert_eq!(four, [1, 4, 4, 1]);
    }

    #[test]
    fn shards_are_parsed_as_k_of_n() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard::new(2, 4).unwrap());
        assert_eq!(Shard::parse("2/4").unwrap().to_string(), "2/4");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/4", "1/4/5"] {
            let error = Shard::parse(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("`{bad}`")) && error.contains("K/N"), "{bad}: {error}");
        }
    }
}
