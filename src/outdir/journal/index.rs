//! Where the journal's records are: the key of a chunk's work (`ChunkKey`), the place of one
//! record (`RecordRef`), and the index of the latest record of every key found when the
//! journal was opened (`BaseIndex`), which the producer asks what is already done.

/// Content address of a chunk's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey(pub [u8; 16]);

impl ChunkKey {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    /// First 8 bytes: a per-chunk seed, so reruns sample the same way.
    /// Kept within i64 range: servers validate `seed` as a signed 64-bit integer.
    pub fn seed(&self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().unwrap_or([0; 8])) & crate::engine::SEED_MASK
    }
}

/// Where the latest record of a key is, and what it says.
#[derive(Debug, Clone, Copy)]
pub struct IndexEntry {
    pub offset: u64,
    pub len: u32,
    pub ok: bool,
    /// Index into `BaseIndex::models` (ok records only).
    pub model: u16,
}

/// The latest record of every key found when the journal was opened, sorted by key.
#[derive(Debug, Default)]
pub struct BaseIndex {
    entries: Vec<(ChunkKey, IndexEntry)>,
    /// Where the keys of each 16-bit prefix start in `entries` (keys are uniform hashes,
    /// so a bucket holds a handful): a lookup touches 2 or 3 cache lines instead of the
    /// 20 of a binary search over a million keys.
    buckets: Vec<u32>,
    models: Vec<String>,
}

const BUCKET_BITS: u32 = 16;

fn bucket_of(key: &ChunkKey) -> usize {
    usize::from(u16::from_be_bytes([key.0[0], key.0[1]]))
}

impl BaseIndex {
    /// The index over `entries` sorted by key.
    pub(super) fn new(entries: Vec<(ChunkKey, IndexEntry)>, models: Vec<String>) -> Self {
        let mut buckets = vec![0u32; (1 << BUCKET_BITS) + 1];
        for (k, _) in &entries {
            buckets[bucket_of(k) + 1] += 1;
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        BaseIndex {
            entries,
            buckets,
            models,
        }
    }

    pub fn get(&self, key: &ChunkKey) -> Option<&IndexEntry> {
        let b = bucket_of(key);
        let (lo, hi) = match (self.buckets.get(b), self.buckets.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => return None,
        };
        let slice = self.entries.get(lo..hi)?;
        slice
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &slice[i].1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn model_name(&self, entry: &IndexEntry) -> &str {
        self.models
            .get(entry.model as usize)
            .map_or("", String::as_str)
    }

    /// Where a key's result is, and its model, when its latest record is a result.
    pub fn done(&self, key: &ChunkKey) -> Option<(RecordRef, &str)> {
        self.get(key).filter(|e| e.ok).map(|e| {
            (
                RecordRef {
                    offset: e.offset,
                    len: e.len,
                },
                self.model_name(e),
            )
        })
    }

    /// The model of a key's result, when its latest record is a result.
    pub fn done_model(&self, key: &ChunkKey) -> Option<&str> {
        self.get(key).filter(|e| e.ok).map(|e| self.model_name(e))
    }

    /// Finished chunks per model.
    pub fn done_by_model(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        for (_, e) in self.entries.iter().filter(|(_, e)| e.ok) {
            *out.entry(self.model_name(e).to_string()).or_default() += 1;
        }
        out
    }
}

/// Where one result record is: what the merge reads back. `len` 0: no result (a failed
/// chunk), nothing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordRef {
    pub offset: u64,
    pub len: u32,
}

impl RecordRef {
    pub const NONE: RecordRef = RecordRef { offset: 0, len: 0 };

    pub fn is_some(&self) -> bool {
        self.len > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucketed_index_finds_every_key_and_no_other() {
        // Keys at both ends of the prefix range, many in one bucket, none in most.
        let mut keys: Vec<ChunkKey> = Vec::new();
        for i in 0..3000u32 {
            let h = blake3::hash(&i.to_le_bytes());
            let mut k = [0u8; 16];
            k.copy_from_slice(&h.as_bytes()[..16]);
            if i % 7 == 0 {
                k[0] = 0xff;
                k[1] = 0xff;
            }
            if i % 11 == 0 {
                k[0] = 0;
                k[1] = 0;
            }
            keys.push(ChunkKey(k));
        }
        keys.sort();
        keys.dedup();
        let entries: Vec<(ChunkKey, IndexEntry)> = keys
            .iter()
            .enumerate()
            .map(|(n, k)| {
                (
                    *k,
                    IndexEntry {
                        offset: n as u64,
                        len: 1,
                        ok: true,
                        model: 0,
                    },
                )
            })
            .collect();
        let idx = BaseIndex::new(entries, vec!["m".into()]);
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(idx.get(k).map(|e| e.offset), Some(n as u64));
            let mut other = *k;
            other.0[15] ^= 0x55;
            assert!(keys.binary_search(&other).is_ok() || idx.get(&other).is_none());
        }
        assert!(BaseIndex::default().get(&keys[0]).is_none());
    }
}
