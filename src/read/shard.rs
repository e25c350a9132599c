//! `--shard I/N`: which documents this process holds when one corpus is split across
//! processes or machines (a Kubernetes Indexed Job, a Slurm array). A document belongs to
//! shard `blake3(path relative to CORPUS) mod N`: the split depends on neither the listing
//! order nor the machine.

use serde::{Deserialize, Serialize};

/// `--shard I/N`: this run is shard `I` (from 0) of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    fn new(index: i64, count: i64, what: &str) -> Result<Shard, String> {
        if !(1..=65_536).contains(&count) {
            return Err(format!(
                "{what}: the shard count must be 1 to 65536, not {count}"
            ));
        }
        if index < 0 || index >= count {
            return Err(format!(
                "{what}: shard {index} of {count} does not exist (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard {
            index: index as u32,
            count: count as u32,
        })
    }

    /// `I/N`, shards numbered from 0.
    pub fn parse(s: &str, what: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| {
            format!("{what} {s:?}: write it I/N, e.g. 0/4 (shards numbered from 0)")
        })?;
        let num = |t: &str| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| format!("{what} {s:?}: {t:?} is not a number; write it I/N, e.g. 0/4"))
        };
        Shard::new(num(i)?, num(n)?, &format!("{what} {s}"))
    }

    /// The shard from the flag, else from the environment: `AEGIS_SHARD` (`I/N`);
    /// Kubernetes' `JOB_COMPLETION_INDEX` with `AEGIS_SHARD_COUNT` (Kubernetes does not
    /// give the count); Slurm's `SLURM_ARRAY_TASK_ID` with `_MIN`, `_MAX`, `_STEP`, `_COUNT`
    /// (plain ranges only). None: no sharding.
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>, String> {
        if let Some(f) = flag {
            return Shard::parse(f, "--shard").map(Some);
        }
        if let Some(v) = env("AEGIS_SHARD").filter(|v| !v.is_empty()) {
            return Shard::parse(&v, "AEGIS_SHARD").map(Some);
        }
        let int = |name: &str| -> Result<Option<i64>, String> {
            match env(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a number")),
            }
        };
        if let Some(i) = int("JOB_COMPLETION_INDEX")? {
            let n = int("AEGIS_SHARD_COUNT")?.ok_or(
                "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but AEGIS_SHARD_COUNT is not: set it to the Job's completions, or pass --shard I/N",
            )?;
            return Shard::new(i, n, "JOB_COMPLETION_INDEX/AEGIS_SHARD_COUNT").map(Some);
        }
        if let Some(task) = int("SLURM_ARRAY_TASK_ID")? {
            let min = int("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let max = int("SLURM_ARRAY_TASK_MAX")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MAX is not")?;
            let step = int("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
            let count = int("SLURM_ARRAY_TASK_COUNT")?.unwrap_or(max - min + 1);
            if step != 1 || count != max - min + 1 {
                return Err(format!(
                    "the Slurm array is not a plain range (tasks {min}-{max}, step {step}, {count} tasks): shards must be numbered without gaps, so submit it as --array={min}-{max} (a throttle such as %4 is fine), or pass --shard I/N"
                ));
            }
            return Shard::new(task - min, count, "SLURM_ARRAY_TASK_ID").map(Some);
        }
        Ok(None)
    }

    /// Whether the document at `rel` (relative to CORPUS) belongs to this shard.
    pub fn holds(&self, rel: &str) -> bool {
        let h = blake3::hash(rel.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        u64::from_le_bytes(b) % u64::from(self.count) == u64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::walk::walk_order;

    #[test]
    fn shard_specs_and_their_errors() {
        assert_eq!(
            Shard::parse("2/4", "--shard"),
            Ok(Shard { index: 2, count: 4 })
        );
        for bad in ["3/2", "0/0", "4/4", "-1/4", "x/4", "4"] {
            let e = Shard::parse(bad, "--shard").unwrap_err();
            assert!(e.contains("--shard"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_from_kubernetes_and_slurm_environments() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::resolve(None, env(&[])), Ok(None));
        assert_eq!(
            Shard::resolve(Some("1/3"), env(&[("AEGIS_SHARD", "0/2")])),
            Ok(Some(Shard { index: 1, count: 3 }))
        );
        assert_eq!(
            Shard::resolve(None, env(&[("AEGIS_SHARD", "0/2")])),
            Ok(Some(Shard { index: 0, count: 2 }))
        );
        assert_eq!(
            Shard::resolve(
                None,
                env(&[("JOB_COMPLETION_INDEX", "3"), ("AEGIS_SHARD_COUNT", "5")])
            ),
            Ok(Some(Shard { index: 3, count: 5 }))
        );
        let e = Shard::resolve(None, env(&[("JOB_COMPLETION_INDEX", "3")])).unwrap_err();
        assert!(e.contains("AEGIS_SHARD_COUNT"), "{e}");
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_MAX", "13"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::resolve(None, slurm),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        let sparse = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        let e = Shard::resolve(None, sparse).unwrap_err();
        assert!(e.contains("not a plain range"), "{e}");
    }

    #[test]
    fn every_document_is_in_exactly_one_shard_and_the_walk_order_is_by_name() {
        for rel in ["a.md", "b/c.txt", "notes/2026/x.pdf", "ü.md"] {
            let n = (0..4)
                .filter(|i| {
                    Shard {
                        index: *i,
                        count: 4,
                    }
                    .holds(rel)
                })
                .count();
            assert_eq!(n, 1, "{rel}");
        }
        let mut v = vec!["a.txt", "a/b.md", "B.md", "a/a.md"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, ["B.md", "a/a.md", "a/b.md", "a.txt"]);
    }
}
