//! Hand-made PDFs: pages of text in the standard Helvetica font, written object by object
//! with an exact cross-reference table, so that a benchmark (`pdf-read`) and the readers'
//! tests (which also hide hostile objects in them) need no PDF library and no fixture files.

/// A PDF with the given page content streams (`(data, filter)`), and extra objects that
/// the first page's resources reference as /Extra.
pub fn make_pdf(pages: &[(Vec<u8>, Option<&str>)], extra: Option<Vec<u8>>) -> Vec<u8> {
    let mut objs: Vec<Vec<u8>> = Vec::new();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objs.push(Vec::new()); // pages, filled below
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let extra_ref = extra.map(|e| {
        objs.push(e);
        objs.len()
    });
    let mut kids = Vec::new();
    for (data, filter) in pages {
        let mut s = format!("<< /Length {}", data.len()).into_bytes();
        if let Some(f) = filter {
            s.extend(format!(" /Filter /{f}").as_bytes());
        }
        s.extend(b" >>\nstream\n");
        s.extend(data);
        s.extend(b"\nendstream");
        objs.push(s);
        let content = objs.len();
        let extra = extra_ref.map_or(String::new(), |r| format!(" /Extra {r} 0 R"));
        objs.push(
            format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >>{extra} >> /Contents {content} 0 R >>")
                .into_bytes(),
        );
        kids.push(objs.len());
    }
    let kids_s: Vec<String> = kids.iter().map(|k| format!("{k} 0 R")).collect();
    objs[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids_s.join(" "),
        kids.len()
    )
    .into_bytes();
    let mut buf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(buf.len());
        buf.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        buf.extend(o);
        buf.extend(b"\nendobj\n");
    }
    let xref = buf.len();
    buf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        buf.extend(format!("{off:010} 00000 n \n").as_bytes());
    }
    buf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    buf
}

pub fn text_content(lines: &[String]) -> Vec<u8> {
    let mut s = String::from("BT /F1 10 Tf 50 760 Td 12 TL\n");
    for l in lines {
        s.push_str(&format!(
            "({}) Tj T*\n",
            l.replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)")
        ));
    }
    s.push_str("ET\n");
    s.into_bytes()
}
