//! Tables out: the same rows as CSV (UTF-8 with a BOM, so Excel reads the Chinese; quoting by the
//! csv crate) or as an xlsx sheet (rust_xlsxwriter, numbers kept as numbers). Every export of
//! figures (KPIs, departments, scores) goes through here, so the two formats never disagree.

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Integer(i64),
    /// A share (0.667): `66.7%` in CSV, a number with a percent format in xlsx.
    Percent(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Number)
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Cell {
        Cell::Integer(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// An export that could not be written (never the caller's input: a library failure).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the table: {0}")]
pub struct TableError(String);

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Writes `header` and `rows` in `format`; numbers are written with `decimals` in CSV.
pub fn write(
    format: Format,
    sheet_name: &str,
    header: &[&str],
    rows: &[Vec<Cell>],
    decimals: usize,
) -> Result<Vec<u8>, TableError> {
    match format {
        Format::Xlsx => {
            let err = |e: rust_xlsxwriter::XlsxError| TableError(e.to_string());
            let percent = rust_xlsxwriter::Format::new().set_num_format("0.0%");
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            sheet.set_name(sheet_name).map_err(err)?;
            for (c, h) in header.iter().enumerate() {
                sheet.write_string(0, c as u16, *h).map_err(err)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (r as u32 + 1, c as u16);
                    match cell {
                        Cell::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
                        Cell::Number(n) => sheet.write_number(r, c, *n).map(|_| ()),
                        Cell::Integer(n) => sheet.write_number(r, c, *n as f64).map(|_| ()),
                        Cell::Percent(n) => sheet
                            .write_number_with_format(r, c, *n, &percent)
                            .map(|_| ()),
                        Cell::Empty => Ok(()),
                    }
                    .map_err(err)?;
                }
            }
            book.save_to_buffer().map_err(err)
        }
        Format::Csv => {
            let mut out = Vec::from(&b"\xEF\xBB\xBF"[..]);
            {
                let err = |e: csv::Error| TableError(e.to_string());
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(header).map_err(err)?;
                for row in rows {
                    w.write_record(row.iter().map(|cell| match cell {
                        Cell::Text(s) => s.clone(),
                        Cell::Number(n) => format!("{n:.decimals$}"),
                        Cell::Integer(n) => n.to_string(),
                        Cell::Percent(n) => format!("{:.1}%", n * 100.0),
                        Cell::Empty => String::new(),
                    }))
                    .map_err(err)?;
                }
                w.flush().map_err(|e| TableError(e.to_string()))?;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_xlsx_carry_the_same_cells() {
        let rows = vec![
            vec![
                Cell::from("派出所, 一"),
                Cell::from(3u64),
                Cell::Number(0.6667),
            ],
            vec![Cell::from("合计"), Cell::Empty, Cell::Number(12.5)],
            vec![Cell::from("率"), Cell::Percent(0.6667), Cell::Empty],
        ];
        let csv = write(Format::Csv, "t", &["名称", "数", "率"], &rows, 3).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\"派出所, 一\",3,0.667"), "{text}");
        assert!(text.contains("合计,,12.500"), "{text}");
        assert!(text.contains("率,66.7%,"), "{text}");
        let xlsx = write(Format::Xlsx, "t", &["名称", "数", "率"], &rows, 3).unwrap();
        use calamine::{DataType, Reader};
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let range = book.worksheet_range("t").unwrap();
        assert_eq!(range.get_value((1, 0)).unwrap().to_string(), "派出所, 一");
        assert_eq!(range.get_value((1, 2)).unwrap().as_f64(), Some(0.6667));
        assert_eq!(range.get_value((2, 1)), Some(&calamine::Data::Empty));
        assert_eq!(range.get_value((3, 1)).unwrap().as_f64(), Some(0.6667));
    }
}
