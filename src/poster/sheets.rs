//! The team's printed matter: the 网格员证 (credit-card size, ten to an A4 page), the ballot slips
//! of the satisfaction vote (eight to a page, each with its QR code), and the 公示 sheet of a
//! village. SVG drawn here; `pages_to_pdf` makes one PDF of many pages with the Chinese font
//! embedded. Pure: everything drawn comes in as arguments, already filtered for consent.

use std::fmt::Write;

use super::{FONT, PosterError, esc};

/// A4 portrait, millimetres.
const A4: (f64, f64) = (210.0, 297.0);
/// ISO/IEC 7810 ID-1: a bank card.
const CARD: (f64, f64) = (85.6, 54.0);

/// The QR code of `text` as one SVG path of unit squares, `size` mm wide at (`x`, `y`).
pub fn qr_path(text: &str, x: f64, y: f64, size: f64) -> Result<String, PosterError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| PosterError::Pdf(e.to_string()))?;
    let n = code.width();
    let quiet = 2.0;
    let unit = size / (n as f64 + 2.0 * quiet);
    let mut d = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (cx, cy) = ((i % n) as f64 + quiet, (i / n) as f64 + quiet);
            let _ = write!(
                d,
                "M{:.3} {:.3}h{u:.3}v{u:.3}h-{u:.3}z",
                x + cx * unit,
                y + cy * unit,
                u = unit
            );
        }
    }
    Ok(format!(
        r##"<rect x="{x:.2}" y="{y:.2}" width="{size:.2}" height="{size:.2}" fill="#fff"/><path d="{d}" fill="#000" shape-rendering="crispEdges"/>"##
    ))
}

fn page(body: &str) -> String {
    let (w, h) = A4;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family="{FONT}"><rect width="{w}" height="{h}" fill="#fff"/>{body}</svg>"##
    )
}

/// One 网格员证.
#[derive(Debug, Clone)]
pub struct StaffCard {
    pub name: String,
    pub role: String,
    pub grid: String,
    pub grid_code: String,
    pub office_phone: Option<String>,
    /// A `data:` URI, only with photo consent.
    pub photo: Option<String>,
    /// The absolute URL of the grid's public card (the QR code's content).
    pub link: String,
    pub issuer: String,
}

fn card_svg(c: &StaffCard, x: f64, y: f64) -> Result<String, PosterError> {
    let (w, h) = CARD;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<g><rect x="{x:.2}" y="{y:.2}" width="{w}" height="{h}" rx="3" fill="#fff" stroke="#999" stroke-width="0.2" stroke-dasharray="1 1"/><rect x="{x:.2}" y="{y:.2}" width="{w}" height="9" rx="3" fill="#b71c1c"/><text x="{tx:.2}" y="{ty:.2}" font-size="4.2" fill="#fff" text-anchor="middle" font-weight="bold">网格员证</text>"##,
        tx = x + w / 2.0,
        ty = y + 6.3,
    );
    // Photo (only with consent) or a placeholder frame.
    let (px, py, pw, ph) = (x + 4.0, y + 13.0, 20.0, 26.0);
    match &c.photo {
        Some(uri) => {
            let _ = write!(
                s,
                r##"<image href="{}" x="{px:.2}" y="{py:.2}" width="{pw}" height="{ph}" preserveAspectRatio="xMidYMid slice"/>"##,
                esc(uri)
            );
        }
        None => {
            let _ = write!(
                s,
                r##"<rect x="{px:.2}" y="{py:.2}" width="{pw}" height="{ph}" fill="#eee" stroke="#bbb" stroke-width="0.2"/><text x="{:.2}" y="{:.2}" font-size="2.6" fill="#888" text-anchor="middle">照片未公开</text>"##,
                px + pw / 2.0,
                py + ph / 2.0
            );
        }
    }
    let tx = x + 28.0;
    let lines = [
        ("姓名", c.name.as_str()),
        ("职务", c.role.as_str()),
        ("网格", c.grid.as_str()),
        ("编码", c.grid_code.as_str()),
        ("电话", c.office_phone.as_deref().unwrap_or("—")),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{tx:.2}" y="{:.2}" font-size="3"><tspan fill="#666">{k}：</tspan><tspan fill="#000">{}</tspan></text>"##,
            y + 16.0 + i as f64 * 5.2,
            esc(v)
        );
    }
    s.push_str(&qr_path(&c.link, x + w - 22.0, y + h - 24.0, 20.0)?);
    let _ = write!(
        s,
        r##"<text x="{:.2}" y="{:.2}" font-size="2.4" fill="#444">{}　持证上岗</text></g>"##,
        x + 4.0,
        y + h - 3.5,
        esc(&c.issuer)
    );
    Ok(s)
}

/// The cards, ten to an A4 page (two columns of five), cut lines dashed.
pub fn staff_card_pages(cards: &[StaffCard]) -> Result<Vec<String>, PosterError> {
    let (cw, ch) = CARD;
    let (gap_x, gap_y) = (4.0, 3.0);
    let x0 = (A4.0 - 2.0 * cw - gap_x) / 2.0;
    let y0 = (A4.1 - 5.0 * ch - 4.0 * gap_y) / 2.0;
    cards
        .chunks(10)
        .map(|chunk| {
            let mut body = String::new();
            for (i, c) in chunk.iter().enumerate() {
                let (col, row) = ((i % 2) as f64, (i / 2) as f64);
                body.push_str(&card_svg(
                    c,
                    x0 + col * (cw + gap_x),
                    y0 + row * (ch + gap_y),
                )?);
            }
            Ok(page(&body))
        })
        .collect()
}

/// One ballot slip: a code and the link that opens it.
#[derive(Debug, Clone)]
pub struct Slip {
    pub period: String,
    pub grid: String,
    pub code: String,
    pub link: String,
}

/// Ballot slips, eight to an A4 page. A slip carries no voter's name: whoever holds it votes once.
pub fn slip_pages(slips: &[Slip]) -> Result<Vec<String>, PosterError> {
    let (sw, sh) = (95.0, 68.0);
    let x0 = (A4.0 - 2.0 * sw) / 2.0;
    let y0 = (A4.1 - 4.0 * sh) / 2.0;
    slips
        .chunks(8)
        .map(|chunk| {
            let mut body = String::new();
            for (i, s) in chunk.iter().enumerate() {
                let x = x0 + (i % 2) as f64 * sw;
                let y = y0 + (i / 2) as f64 * sh;
                let _ = write!(
                    body,
                    r##"<rect x="{x:.2}" y="{y:.2}" width="{sw}" height="{sh}" fill="none" stroke="#999" stroke-width="0.2" stroke-dasharray="1 1"/><text x="{:.2}" y="{:.2}" font-size="4" font-weight="bold">{}网格长满意度测评</text><text x="{:.2}" y="{:.2}" font-size="3">{}</text><text x="{:.2}" y="{:.2}" font-size="3">扫码或访问链接投票，每码限投一次</text><text x="{:.2}" y="{:.2}" font-size="3">□满意　□基本满意　□不满意</text><text x="{:.2}" y="{:.2}" font-size="5" font-family="monospace" letter-spacing="0.8">{}</text><text x="{:.2}" y="{:.2}" font-size="2.2" fill="#555">{}</text>"##,
                    x + 5.0,
                    y + 9.0,
                    esc(&s.period),
                    x + 5.0,
                    y + 16.0,
                    esc(&s.grid),
                    x + 5.0,
                    y + 24.0,
                    x + 5.0,
                    y + 32.0,
                    x + 5.0,
                    y + 46.0,
                    esc(&s.code),
                    x + 5.0,
                    y + sh - 5.0,
                    esc(&s.link)
                );
                body.push_str(&qr_path(&s.link, x + sw - 38.0, y + 14.0, 34.0)?);
            }
            Ok(page(&body))
        })
        .collect()
}

/// One row of a 公示 sheet: a grid's leader and results. The name is `None` without consent.
#[derive(Debug, Clone)]
pub struct GongshiRow {
    pub grid: String,
    pub leader: Option<String>,
    pub satisfied: i64,
    pub basic: i64,
    pub unsatisfied: i64,
    pub flagged: bool,
    pub score: Option<f64>,
}

/// The 公示 sheet of a village: a title, the period, then the table (25 rows a page).
pub fn gongshi_pages(
    title: &str,
    period: &str,
    published: &str,
    supervision_phone: Option<&str>,
    rows: &[GongshiRow],
) -> Vec<String> {
    let chunks: Vec<&[GongshiRow]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(25).collect()
    };
    let pages = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(p, chunk)| {
            let mut body = String::new();
            let _ = write!(
                body,
                r##"<text x="105" y="24" font-size="7" text-anchor="middle" font-weight="bold">{}</text><text x="105" y="33" font-size="4" text-anchor="middle">{}　网格长工作绩效与满意度测评结果公示</text>"##,
                esc(title),
                esc(period)
            );
            let cols = [
                (15.0, "网格"),
                (75.0, "网格长"),
                (105.0, "满意"),
                (122.0, "基本满意"),
                (142.0, "不满意"),
                (160.0, "半年考核"),
                (180.0, "结论"),
            ];
            let mut y = 46.0;
            for (x, h) in cols {
                let _ = write!(
                    body,
                    r##"<text x="{x}" y="{y}" font-size="3.4" font-weight="bold">{h}</text>"##
                );
            }
            let _ = write!(
                body,
                r##"<line x1="15" y1="{:.1}" x2="195" y2="{:.1}" stroke="#000" stroke-width="0.3"/>"##,
                y + 2.0,
                y + 2.0
            );
            for r in chunk.iter() {
                y += 8.5;
                let verdict = if r.flagged { "应予调整" } else { "—" };
                let score = r.score.map_or("—".to_string(), |s| format!("{s:.1}"));
                let leader = r.leader.clone().unwrap_or_else(|| "（未同意公开姓名）".into());
                for (x, v) in [
                    (15.0, r.grid.clone()),
                    (75.0, leader),
                    (105.0, r.satisfied.to_string()),
                    (122.0, r.basic.to_string()),
                    (142.0, r.unsatisfied.to_string()),
                    (160.0, score),
                    (180.0, verdict.to_string()),
                ] {
                    let _ = write!(
                        body,
                        r##"<text x="{x}" y="{y:.1}" font-size="3.2">{}</text>"##,
                        esc(&v)
                    );
                }
            }
            let _ = write!(
                body,
                r##"<text x="15" y="272" font-size="3">公示时间：{}。测评中不满意票超过三分之一的网格长应予调整。</text><text x="15" y="279" font-size="3">如有异议，请在公示期内向乡镇（街道）反映{}。</text><text x="195" y="288" font-size="2.6" text-anchor="end" fill="#666">第 {} / {} 页</text>"##,
                esc(published),
                supervision_phone
                    .map(|p| format!("，监督电话 {}", esc(p)))
                    .unwrap_or_default(),
                p + 1,
                pages
            );
            page(&body)
        })
        .collect()
}

/// Several SVG pages as one PDF, each page at its SVG's size, the fonts embedded once per page.
/// Pages are parsed and converted in parallel (each is independent: a sign batch is a village's
/// worth of them), then numbered into one document in order.
pub fn pages_to_pdf(pages: &[String]) -> Result<Vec<u8>, PosterError> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref};
    use rayon::prelude::*;
    let converted: Vec<(pdf_writer::Chunk, Ref, f32, f32)> = pages
        .par_iter()
        .map(|svg| {
            let tree = usvg::Tree::from_str(svg, &super::svg_options())?;
            let (chunk, svg_ref) = svg2pdf::to_chunk(&tree, svg2pdf::ConversionOptions::default())
                .map_err(|e| PosterError::Pdf(e.to_string()))?;
            // SVG user units are millimetres: points = mm × 72 / 25.4.
            let (w, h) = (
                tree.size().width() * 72.0 / 96.0,
                tree.size().height() * 72.0 / 96.0,
            );
            Ok((chunk, svg_ref, w, h))
        })
        .collect::<Result<_, PosterError>>()?;
    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let tree_id = alloc.bump();
    let mut pdf = Pdf::new();
    let mut kids = Vec::new();
    let mut chunks = Vec::new();
    for (chunk, svg_ref, w, h) in converted {
        let mut map = std::collections::HashMap::new();
        let chunk = chunk.renumber(|old| *map.entry(old).or_insert_with(|| alloc.bump()));
        let svg_ref = *map
            .get(&svg_ref)
            .ok_or_else(|| PosterError::Pdf("the page lost its drawing".into()))?;
        let page_id = alloc.bump();
        let content_id = alloc.bump();
        kids.push(page_id);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, w, h));
        page.parent(tree_id);
        page.contents(content_id);
        page.resources().x_objects().pair(Name(b"S0"), svg_ref);
        page.finish();
        let mut content = Content::new();
        content
            .transform([w, 0.0, 0.0, h, 0.0, 0.0])
            .x_object(Name(b"S0"));
        pdf.stream(content_id, &content.finish());
        chunks.push(chunk);
    }
    pdf.catalog(catalog).pages(tree_id);
    let count = kids.len() as i32;
    pdf.pages(tree_id).kids(kids).count(count);
    for chunk in &chunks {
        pdf.extend(chunk);
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_cards_fill_a_page_and_the_eleventh_starts_another() {
        let card = StaffCard {
            name: "张三".into(),
            role: "网格长".into(),
            grid: "一组网格".into(),
            grid_code: "520328004016001".into(),
            office_phone: Some("0851-1234567".into()),
            photo: None,
            link: "https://example.org/g/520328004016001".into(),
            issuer: "湄潭县".into(),
        };
        let pages = staff_card_pages(&vec![card; 11]).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].matches("网格员证").count(), 10);
        assert!(pages[0].contains("照片未公开"));
        let pdf = pages_to_pdf(&pages).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }
}
