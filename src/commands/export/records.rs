//! The records of a finished run as export writes them: read through `outdir::finished`,
//! then cleaned of what the databases cannot hold (NUL characters), and their documents
//! listed once each.

pub use crate::outdir::communities::{Community, CommunityReport};
pub use crate::outdir::finished::{Entity, Relation, Source};

/// Drops NUL characters.
pub fn clean(s: &mut String) {
    if s.contains('\0') {
        s.retain(|c| c != '\0');
    }
}

fn clean_sources(list: &mut [Source]) {
    for s in list {
        clean(&mut s.doc);
        if let Some(sec) = &mut s.section {
            clean(sec);
        }
    }
}

impl CleanRecord for Entity {
    fn clean_record(&mut self) {
        for s in [
            &mut self.id,
            &mut self.name,
            &mut self.kind,
            &mut self.description,
        ] {
            clean(s);
        }
        clean_sources(&mut self.sources);
    }
}

impl CleanRecord for Relation {
    fn clean_record(&mut self) {
        for s in [
            &mut self.id,
            &mut self.source,
            &mut self.target,
            &mut self.kind,
            &mut self.description,
        ] {
            clean(s);
        }
        clean_sources(&mut self.sources);
    }
}

impl CleanRecord for Community {
    fn clean_record(&mut self) {
        clean(&mut self.id);
        if let Some(p) = &mut self.parent {
            clean(p);
        }
        for s in self
            .children
            .iter_mut()
            .chain(&mut self.members)
            .chain(&mut self.relations)
        {
            clean(s);
        }
    }
}

impl CleanRecord for CommunityReport {
    fn clean_record(&mut self) {
        for s in [
            &mut self.community,
            &mut self.title,
            &mut self.summary,
            &mut self.rating_explanation,
        ] {
            clean(s);
        }
        for f in &mut self.findings {
            clean(&mut f.summary);
            clean(&mut f.explanation);
            for s in f.entities.iter_mut().chain(&mut f.relations) {
                clean(s);
            }
        }
    }
}

/// Distinct document paths of a source list, in order of first appearance.
pub fn docs(sources: &[Source]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in sources {
        // Source lists are short (capped by the merge) and grouped by document.
        if !out.contains(&s.doc.as_str()) {
            out.push(&s.doc);
        }
    }
    out
}

/// The record types export writes. NUL characters are dropped before writing: JSON can
/// carry them, but PostgreSQL text, XML and the graph databases cannot.
pub trait CleanRecord {
    fn clean_record(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_dropped_and_documents_listed_once() {
        let mut e: Entity = serde_json::from_str(
            r#"{"id":"ent_1","name":"A\u0000b","type":"PERSON","sources":[{"doc":"a\u0000.md","chunk":0},{"doc":"a.md","chunk":1},{"doc":"b.md","chunk":0}]}"#,
        )
        .unwrap();
        e.clean_record();
        assert_eq!(e.name, "Ab");
        assert_eq!(docs(&e.sources), ["a.md", "b.md"]);
    }
}
