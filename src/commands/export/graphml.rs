//! `--to graphml`: one directed graph in GraphML (Gephi, yEd, NetworkX's `read_graphml`, igraph),
//! to look at the graph. Nodes are entities (`label` = name, for the viewers), edges are
//! relations; documents are listed one per line in `docs`. Text is XML-escaped; characters
//! XML 1.0 cannot hold (control characters other than tab and line breaks) are dropped;
//! carriage returns and tabs are written as character references so parsers keep them.
//!
//! When the finishing step has written communities, each node also carries the id of its
//! community at each level: `community_level_0` (the coarsest), `community_level_1`, ...
//! (keys declared for every level; a node that does not reach a level has no value there).

use std::io::{self, Write};

use super::graph::{Ctx, Input};
use super::records::docs;

/// `s` escaped for XML text and attribute values. Not `quick_xml::escape`: it keeps
/// carriage returns and tabs as they are (a parser then normalises them away) and keeps
/// the characters XML 1.0 cannot hold; one pass here does all three.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push('\n'),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

const KEYS: [(&str, &str, &str, &str); 14] = [
    ("label", "node", "label", "string"),
    ("n_type", "node", "type", "string"),
    ("n_description", "node", "description", "string"),
    ("n_mentions", "node", "mentions", "long"),
    ("n_docs", "node", "docs", "string"),
    ("n_corpus", "node", "corpus", "string"),
    ("e_type", "edge", "type", "string"),
    ("e_label", "edge", "label", "string"),
    ("e_description", "edge", "description", "string"),
    ("e_weight", "edge", "weight", "double"),
    ("e_mentions", "edge", "mentions", "long"),
    ("e_docs", "edge", "docs", "string"),
    ("e_corpus", "edge", "corpus", "string"),
    ("e_id", "edge", "id", "string"),
];

fn data(w: &mut dyn Write, key: &str, value: &str) -> io::Result<()> {
    writeln!(w, "      <data key=\"{key}\">{}</data>", escape(value))
}

pub fn write(ctx: &Ctx, input: &mut Input, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        w,
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">"
    )?;
    for (id, on, name, ty) in KEYS {
        writeln!(
            w,
            "  <key id=\"{id}\" for=\"{on}\" attr.name=\"{name}\" attr.type=\"{ty}\"/>"
        )?;
    }
    let levels = input.communities.as_ref().map_or(0, |c| c.levels);
    for level in 0..levels {
        writeln!(
            w,
            "  <key id=\"community_level_{level}\" for=\"node\" attr.name=\"community_level_{level}\" attr.type=\"string\"/>"
        )?;
    }
    let corpus = ctx.namespace.as_str();
    writeln!(
        w,
        "  <graph id=\"{}\" edgedefault=\"directed\">",
        escape(corpus)
    )?;
    let communities = input.communities.take();
    input.entities(|e| {
        writeln!(w, "    <node id=\"{}\">", escape(&e.id))?;
        data(w, "label", &e.name)?;
        data(w, "n_type", &e.kind)?;
        data(w, "n_description", &e.description)?;
        data(w, "n_mentions", &e.mentions.to_string())?;
        data(w, "n_docs", &docs(&e.sources).join("\n"))?;
        data(w, "n_corpus", corpus)?;
        for c in communities.iter().flat_map(|c| c.of_entity(&e.id)) {
            data(w, &format!("community_level_{}", c.level), &c.id)?;
        }
        writeln!(w, "    </node>")
    })?;
    input.communities = communities;
    input.relations(|r| {
        writeln!(
            w,
            "    <edge id=\"{}\" source=\"{}\" target=\"{}\">",
            escape(&r.id),
            escape(&r.source),
            escape(&r.target)
        )?;
        data(w, "e_type", &r.kind)?;
        data(w, "e_label", &r.kind)?;
        data(w, "e_description", &r.description)?;
        let weight = if r.weight.is_finite() { r.weight } else { 0.0 };
        data(w, "e_weight", &format!("{weight:?}"))?;
        data(w, "e_mentions", &r.mentions.to_string())?;
        data(w, "e_docs", &docs(&r.sources).join("\n"))?;
        data(w, "e_corpus", corpus)?;
        data(w, "e_id", &r.id)?;
        writeln!(w, "    </edge>")
    })?;
    writeln!(w, "  </graph>")?;
    writeln!(w, "</graphml>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_invalid_characters_dropped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\r\t\u{1}😀"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&#13;&#9;😀"
        );
    }
}
