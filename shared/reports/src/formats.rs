//! Report files written one row at a time, so a report of any length needs memory for one row only:
//! [`CsvWriter`] (RFC 4180) and [`XlsxWriter`] (one worksheet, inline strings, deflated as it goes).
//!
//! Cells are [`Cell::Text`] or [`Cell::Integer`]: money is whole rupiah, never floating point.

use std::io::{Seek, Write};

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Integer(i64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Integer(n)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the XLSX container: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// CSV, comma-separated, CRLF line ends, fields quoted when they need it.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Self {
        CsvWriter { out, rows: 0 }
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            match c {
                Cell::Integer(n) => write!(self.out, "{n}")?,
                Cell::Text(t) => {
                    // A leading = + - @ would make a spreadsheet run the cell as a formula.
                    let formula = t.starts_with(['=', '+', '-', '@']);
                    if formula || t.contains([',', '"', '\n', '\r']) {
                        let escaped = t.replace('"', "\"\"");
                        let guard = if formula { "'" } else { "" };
                        write!(self.out, "\"{guard}{escaped}\"")?;
                    } else {
                        self.out.write_all(t.as_bytes())?;
                    }
                }
            }
        }
        self.out.write_all(b"\r\n")?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written, header included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(mut self) -> Result<W, ReportError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A one-sheet XLSX workbook written as rows arrive: the sheet's XML is deflated into the zip container as it is
/// written, and the small fixed parts are added at the end.
pub struct XlsxWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    rows: u64,
}

impl<W: Write + Seek> std::fmt::Debug for XlsxWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxWriter")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

fn xml_escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// The column letters of a zero-based index: 0 → A, 25 → Z, 26 → AA.
fn column(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl<W: Write + Seek> XlsxWriter<W> {
    /// Starts a workbook whose one sheet is called `sheet`.
    pub fn new(out: W, sheet: &str) -> Result<Self, ReportError> {
        let mut zip = zip::ZipWriter::new(out);
        zip.start_file("[Content_Types].xml", options())?;
        zip.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        )?;
        zip.start_file("_rels/.rels", options())?;
        zip.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        )?;
        zip.start_file("xl/_rels/workbook.xml.rels", options())?;
        zip.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        )?;
        let mut name = String::new();
        xml_escape(&sheet.chars().take(31).collect::<String>(), &mut name);
        zip.start_file("xl/workbook.xml", options())?;
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        )?;
        // The sheet last, so its rows stream into the open entry.
        zip.start_file("xl/worksheets/sheet1.xml", options())?;
        zip.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        )?;
        Ok(XlsxWriter { zip, rows: 0 })
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        self.rows += 1;
        let r = self.rows;
        let mut xml = format!(r#"<row r="{r}">"#);
        for (i, c) in cells.iter().enumerate() {
            let at = format!("{}{r}", column(i));
            match c {
                Cell::Integer(n) => xml.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#)),
                Cell::Text(t) => {
                    xml.push_str(&format!(r#"<c r="{at}" t="inlineStr"><is><t xml:space="preserve">"#));
                    xml_escape(t, &mut xml);
                    xml.push_str("</t></is></c>");
                }
            }
        }
        xml.push_str("</row>");
        self.zip.write_all(xml.as_bytes())?;
        Ok(())
    }

    /// Rows written, header included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(mut self) -> Result<W, ReportError> {
        self.zip.write_all(b"</sheetData></worksheet>")?;
        Ok(self.zip.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;

    #[test]
    fn csv_quotes_what_needs_quoting_and_disarms_formulas() {
        let mut w = CsvWriter::new(Vec::new());
        w.row(&["partner".into(), "revenue".into()]).unwrap();
        w.row(&["Toko \"Maju\", Jaya".into(), Cell::Integer(-1500)]).unwrap();
        w.row(&["=HYPERLINK(\"x\")".into(), Cell::Integer(0)]).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "partner,revenue\r\n\"Toko \"\"Maju\"\", Jaya\",-1500\r\n\"'=HYPERLINK(\"\"x\"\")\",0\r\n"
        );
    }

    #[test]
    fn columns_are_lettered_like_a_spreadsheet() {
        assert_eq!(column(0), "A");
        assert_eq!(column(25), "Z");
        assert_eq!(column(26), "AA");
        assert_eq!(column(701), "ZZ");
        assert_eq!(column(702), "AAA");
    }

    #[test]
    fn a_workbook_opens_with_its_rows_text_and_numbers() {
        let mut w = XlsxWriter::new(std::io::Cursor::new(Vec::new()), "Laba 2026-10").unwrap();
        w.row(&["partner".into(), "revenue".into()]).unwrap();
        for i in 0..1000 {
            w.row(&[format!("Mitra <{i}> & Co").into(), Cell::Integer(i * 1000)])
                .unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("Laba 2026-10").unwrap();
        assert_eq!(sheet.height(), 1001);
        assert_eq!(sheet.get_value((0, 0)), Some(&calamine::Data::String("partner".into())));
        assert_eq!(
            sheet.get_value((5, 0)),
            Some(&calamine::Data::String("Mitra <4> & Co".into()))
        );
        let n = sheet.get_value((1000, 1)).unwrap();
        assert!(
            matches!(n, calamine::Data::Float(f) if *f == 999_000.0) || matches!(n, calamine::Data::Int(999_000)),
            "{n:?}"
        );
    }
}
