//! Reading staff lists as townships keep them: an Excel workbook (.xlsx, read with `calamine`)
//! or a CSV saved from Excel (UTF-8 or GB18030), a header row in Chinese or English. Each row
//! becomes a record or a rejection naming its line (the spreadsheet's row number) and why; one
//! bad row never hides the others. Whether a role or grid exists is decided later, against the
//! database and the atlas.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::NaiveDate;

use super::registry::{RegistryFileError, Rejected, decode};
use crate::domain::team::{ELECTOR_KINDS, yes_no};

/// One staff row.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffRecord {
    pub line: u64,
    /// The township's own id for the person (`编号`), used to update them on a re-import.
    pub ext_id: Option<String>,
    pub name: String,
    pub role: String,
    pub cell: String,
    pub phone: Option<String>,
    /// 公开同意: consent to publish name, photo and phone (absent = no).
    pub consent: bool,
    pub office_phone: Option<String>,
    /// The first day served (`起始日期`), default today.
    pub since: Option<NaiveDate>,
    pub duties: Vec<String>,
    /// An app account (`账号`) the person uses, linked so scores read its records.
    pub account: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StaffFileError {
    #[error(transparent)]
    Text(#[from] RegistryFileError),
    #[error("not a readable Excel workbook: {0}")]
    Workbook(String),
    #[error("the workbook has no worksheet")]
    NoSheet,
    #[error("line 1: the header has no column for {0} (accepted names: {1})")]
    MissingColumn(&'static str, String),
}

/// Column names accepted for each field.
const COLUMNS: Columns = &[
    ("id", &["id", "编号", "ext_id", "人员编号", "工号"]),
    ("name", &["name", "姓名"]),
    ("role", &["role", "角色", "职务", "岗位"]),
    (
        "cell",
        &["cell", "cell_code", "网格编码", "网格代码", "所属网格编码"],
    ),
    ("phone", &["phone", "电话", "联系电话", "手机", "手机号"]),
    (
        "consent",
        &["consent", "公开同意", "同意公开", "是否同意公开"],
    ),
    (
        "office_phone",
        &["office_phone", "办公电话", "村委电话", "监督电话"],
    ),
    (
        "since",
        &["since", "起始日期", "任职日期", "开始日期", "上岗日期"],
    ),
    ("duties", &["duties", "职责", "工作职责"]),
    ("account", &["account", "user", "账号", "网格通账号"]),
];
const REQUIRED: [&str; 3] = ["name", "role", "cell"];

/// Column names of an electorate file (the year-end vote's 党员 and 村民代表 per grid).
const ELECTOR_COLUMNS: Columns = &[
    ("name", &["name", "姓名"]),
    ("kind", &["kind", "类别", "身份", "人员类别"]),
    (
        "cell",
        &["cell", "cell_code", "网格编码", "网格代码", "所属网格编码"],
    ),
];

type Columns = &'static [(&'static str, &'static [&'static str])];

fn column_of(columns: Columns, header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{FEFF}').to_lowercase();
    columns
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == h))
        .map(|(field, _)| *field)
}

/// What kind of file the bytes are: an xlsx is a zip archive.
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The rows of a spreadsheet or CSV under its header, each as a lookup by field; a row holding a
/// NUL is rejected here, naming its column.
fn read_table<T>(
    bytes: &[u8],
    columns: Columns,
    required: &[&'static str],
    record: impl for<'r> Fn(u64, &(dyn Fn(&str) -> Option<&'r str> + 'r)) -> Result<T, Rejected>,
) -> Result<(Vec<Result<T, Rejected>>, String), StaffFileError> {
    let (rows, format) = if is_xlsx(bytes) {
        (xlsx_rows(bytes)?, "xlsx".to_string())
    } else {
        let (text, encoding) = decode(bytes)?;
        (csv_rows(&text)?, format!("CSV {encoding}"))
    };
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(RegistryFileError::Empty.into());
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(field) = column_of(columns, h) {
            index.entry(field).or_insert(i);
        }
    }
    for field in required {
        if !index.contains_key(field) {
            let names = columns
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, n)| n.join(", "))
                .unwrap_or_default();
            return Err(StaffFileError::MissingColumn(field, names));
        }
    }
    let out = rows
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| {
            if let Some(i) = cells.iter().position(|c| c.contains('\0')) {
                return Err(Rejected {
                    line,
                    reason: format!(
                        "{}: contains a NUL character (0x00), which cannot be stored",
                        header.get(i).map_or("a cell", |h| h.as_str())
                    ),
                });
            }
            let get = |field: &str| {
                index
                    .get(field)
                    .and_then(|&i| cells.get(i))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
            };
            record(line, &get)
        })
        .collect();
    Ok((out, format))
}

/// Reads a staff file into records and rejections; the second value names the format read.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Result<StaffRecord, Rejected>>, String), StaffFileError> {
    read_table(bytes, COLUMNS, &REQUIRED, |line, get| record_of(line, get))
}

/// One elector of the year-end vote.
#[derive(Debug, Clone, PartialEq)]
pub struct ElectorRecord {
    pub line: u64,
    pub name: String,
    /// 党员 | 村民代表 | 居民代表
    pub kind: String,
    pub cell: String,
}

/// Reads an electorate file (姓名, 类别, 网格编码), xlsx or CSV.
pub fn parse_electors(
    bytes: &[u8],
) -> Result<(Vec<Result<ElectorRecord, Rejected>>, String), StaffFileError> {
    read_table(
        bytes,
        ELECTOR_COLUMNS,
        &["name", "kind", "cell"],
        |line, get| {
            let reject = |reason: String| Rejected { line, reason };
            let name = get("name").ok_or_else(|| reject("姓名 is empty".into()))?;
            if name.chars().count() > 40 {
                return Err(reject(format!(
                    "姓名 {name:?} is longer than 40 characters"
                )));
            }
            let kind = get("kind").ok_or_else(|| reject("类别 is empty".into()))?;
            if !ELECTOR_KINDS.contains(&kind) {
                return Err(reject(format!(
                    "类别 {kind:?}: use 党员, 村民代表 or 居民代表"
                )));
            }
            let cell = get("cell").ok_or_else(|| reject("网格编码 is empty".into()))?;
            if !cell.bytes().all(|b| b.is_ascii_digit()) || !(6..=19).contains(&cell.len()) {
                return Err(reject(format!(
                    "网格编码 {cell:?} is not a code of 6 to 19 digits"
                )));
            }
            Ok(ElectorRecord {
                line,
                name: name.to_string(),
                kind: kind.to_string(),
                cell: cell.to_string(),
            })
        },
    )
}

fn record_of<'a>(
    line: u64,
    get: &(dyn Fn(&str) -> Option<&'a str> + 'a),
) -> Result<StaffRecord, Rejected> {
    let reject = |reason: String| Rejected { line, reason };
    let name = get("name").ok_or_else(|| reject("姓名 is empty".into()))?;
    if name.chars().count() > 40 {
        return Err(reject(format!(
            "姓名 {name:?} is longer than 40 characters"
        )));
    }
    let role = get("role").ok_or_else(|| reject("角色 is empty".into()))?;
    let cell = get("cell").ok_or_else(|| reject("网格编码 is empty".into()))?;
    if !cell.bytes().all(|b| b.is_ascii_digit()) || !(6..=19).contains(&cell.len()) {
        return Err(reject(format!(
            "网格编码 {cell:?} is not a code of 6 to 19 digits"
        )));
    }
    let phone = get("phone")
        .map(phone_of)
        .transpose()
        .map_err(|e| reject(format!("电话 {e}")))?;
    let office_phone = get("office_phone")
        .map(phone_of)
        .transpose()
        .map_err(|e| reject(format!("办公电话 {e}")))?;
    let consent = match get("consent") {
        None => false,
        Some(v) => {
            yes_no(v).ok_or_else(|| reject(format!("公开同意 must be 是 or 否, got {v:?}")))?
        }
    };
    let since = get("since")
        .map(date_of)
        .transpose()
        .map_err(|e| reject(format!("起始日期 {e}")))?;
    Ok(StaffRecord {
        line,
        ext_id: get("id").map(str::to_string),
        name: name.to_string(),
        role: role.to_string(),
        cell: cell.to_string(),
        phone,
        consent,
        office_phone,
        since,
        duties: get("duties")
            .map(|d| {
                d.split(['；', ';', '、'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        account: get("account").map(str::to_string),
    })
}

/// A phone number: digits with optional `-`, `+` or spaces, 5 to 20 digits (mobile, landline
/// with area code, or a short hotline such as 12345).
pub fn phone_of(s: &str) -> Result<String, String> {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if s.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '))
        && (5..=20).contains(&digits)
    {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a phone number"))
    }
}

fn date_of(s: &str) -> Result<NaiveDate, String> {
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(d);
        }
    }
    Err(format!("{s:?} is not a date (2026-07-01)"))
}

fn csv_rows(text: &str) -> Result<Vec<(u64, Vec<String>)>, StaffFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                out.push((line, r.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if out.is_empty() {
                    return Err(RegistryFileError::Csv {
                        line,
                        message: e.to_string(),
                    }
                    .into());
                }
                // An unreadable row becomes a row the parser rejects (its name is empty).
                out.push((line, Vec::new()));
            }
        }
    }
    Ok(out)
}

fn xlsx_rows(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, StaffFileError> {
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| StaffFileError::Workbook(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(StaffFileError::NoSheet)?
        .map_err(|e| StaffFileError::Workbook(e.to_string()))?;
    let first = range.start().map_or(0, |(r, _)| r as u64);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            let mut cells = vec![String::new(); first_col];
            cells.extend(row.iter().map(text_of));
            (first + i as u64 + 1, cells)
        })
        .collect())
}

/// A cell as text: numbers as Excel shows them (a phone number stored as a number has no
/// ".0"), dates as YYYY-MM-DD.
fn text_of(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(d) => {
            // Excel's day 0 is 1899-12-30 (with its 1900 leap-year bug before March 1900).
            let days = d.as_f64().floor() as i64;
            NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|base| base.checked_add_signed(chrono::TimeDelta::days(days)))
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_with_chinese_headers_gives_records_and_names_bad_lines() {
        let text = "姓名,角色,网格编码,电话,公开同意\n\
                    张三,网格长,520328004016001,13900000001,是\n\
                    ,网格员,520328004016001,,否\n\
                    李四,网格员,52032800401600X,,否\n\
                    王五,网格员,520328004016001,abc,否\n\
                    赵六,网格员,520328004016001,,也许\n\
                    钱七,信息员,520328004016002,0851-1234567,\n\
                    孙\0八,网格员,520328004016002,,否\n";
        let (rows, format) = parse(text.as_bytes()).unwrap();
        assert_eq!(format, "CSV UTF-8");
        assert_eq!(rows.len(), 7);
        let nul = rows[6].as_ref().unwrap_err();
        assert_eq!(nul.line, 8);
        assert!(
            nul.reason.starts_with("姓名: contains a NUL"),
            "{}",
            nul.reason
        );
        let ok = rows[0].as_ref().unwrap();
        assert_eq!((ok.line, ok.name.as_str(), ok.consent), (2, "张三", true));
        let bad: Vec<(u64, &str)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 5);
        assert_eq!(bad[0].0, 3);
        assert!(bad[0].1.contains("姓名"));
        assert!(bad[1].1.contains("网格编码"));
        assert!(bad[2].1.contains("电话"));
        assert!(bad[3].1.contains("公开同意"));
        let last = rows[5].as_ref().unwrap();
        assert!(!last.consent, "an empty 公开同意 is no consent");
        assert_eq!(last.phone.as_deref(), Some("0851-1234567"));
    }

    #[test]
    fn a_gb18030_csv_reads_like_utf8() {
        let text = "姓名,角色,网格编码\n张三,网格长,520328004016001\n";
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        let (rows, format) = parse(&bytes).unwrap();
        assert_eq!(format, "CSV GB18030");
        assert_eq!(rows[0].as_ref().unwrap().name, "张三");
    }

    #[test]
    fn an_electorate_file_names_its_bad_rows() {
        let text = "姓名,类别,网格编码\n王一,党员,520328004016001\n王二,群众,520328004016001\n,党员,520328004016001\n";
        let (rows, _) = parse_electors(text.as_bytes()).unwrap();
        assert_eq!(rows[0].as_ref().unwrap().kind, "党员");
        assert!(rows[1].as_ref().unwrap_err().reason.contains("类别"));
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
    }

    #[test]
    fn a_header_without_a_grid_column_is_refused_naming_it() {
        let err = parse("姓名,角色\n张三,网格长\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("cell"), "{err}");
    }

    #[test]
    fn an_xlsx_sheet_is_read_with_row_numbers_numbers_and_dates() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["姓名", "角色", "网格编码", "电话", "公开同意", "起始日期"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "张三").unwrap();
        sheet.write_string(1, 1, "网格长").unwrap();
        sheet.write_string(1, 2, "520328004016001").unwrap();
        sheet.write_number(1, 3, 13900000001.0).unwrap();
        sheet.write_string(1, 4, "是").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 7, 1).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(1, 5, &date, &format)
            .unwrap();
        sheet.write_string(2, 0, "李四").unwrap();
        sheet.write_string(2, 2, "520328004016001").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let (rows, format) = parse(&bytes).unwrap();
        assert_eq!(format, "xlsx");
        let r = rows[0].as_ref().unwrap();
        assert_eq!(r.line, 2);
        assert_eq!(r.phone.as_deref(), Some("13900000001"));
        assert_eq!(r.since, NaiveDate::from_ymd_opt(2026, 7, 1));
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(bad.reason.contains("角色"));
    }
}
