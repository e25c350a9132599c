//! The manifest: every document's chunks in corpus order, each pointing at its result in
//! the checkpoint. The writer builds it during a run; the merge reads the results through
//! it in corpus order; a shard writes it as `manifest.jsonl` for `merge`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::outdir::journal::RecordRef;

/// The chunks of one document, as this run saw them.
#[derive(Debug, Clone)]
pub struct DocManifest {
    pub rel: Arc<str>,
    pub chunks: Vec<ChunkRef>,
}

/// 24 bytes a chunk: the manifest is the one structure that grows with the corpus.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRef {
    pub index: u32,
    /// Into `Manifest::sections`.
    pub section: SectionId,
    /// The chunk's result in the checkpoint.
    pub record: RecordRef,
}

/// An interned section label; 0 is "none".
pub type SectionId = u32;

/// Section labels, each stored once.
#[derive(Debug, Default)]
pub struct Sections {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, SectionId>,
}

impl Sections {
    pub fn intern(&mut self, section: Option<&str>) -> SectionId {
        let Some(label) = section else { return 0 };
        if let Some(&id) = self.index.get(label) {
            return id;
        }
        let label: Arc<str> = Arc::from(label);
        self.list.push(label.clone());
        let id = self.list.len() as SectionId;
        self.index.insert(label, id);
        id
    }

    pub fn get(&self, id: SectionId) -> Option<&str> {
        id.checked_sub(1)
            .and_then(|i| self.list.get(i as usize))
            .map(|s| &**s)
    }
}

/// Every document's chunks in corpus order, and the section labels they point to.
#[derive(Debug, Default)]
pub struct Manifest {
    pub docs: Vec<DocManifest>,
    pub sections: Sections,
}
