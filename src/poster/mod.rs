//! The printable grid diagram (网格示意图) of one village or community: SVG drawn here, PDF by
//! `svg2pdf` with the Chinese font embedded. Pure: it gets everything it draws in `PosterInput`.

use std::fmt::Write;

pub mod sheets;
pub mod sign;

use geo_types::{Coord, MultiPolygon};

use crate::tiles::label::pole_of_inaccessibility;

/// Paper sizes, landscape, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A3,
    A1,
}

impl Paper {
    pub fn parse(name: &str) -> Option<Paper> {
        match name.to_ascii_lowercase().as_str() {
            "a3" => Some(Paper::A3),
            "a1" => Some(Paper::A1),
            _ => None,
        }
    }

    pub fn size_mm(self) -> (f64, f64) {
        match self {
            Paper::A3 => (420.0, 297.0),
            Paper::A1 => (841.0, 594.0),
        }
    }
}

/// A grid on the poster, with what the public may see of its team.
#[derive(Debug, Clone)]
pub struct PosterGrid {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub geometry: MultiPolygon<f64>,
    pub colour: u8,
    pub leader: String,
    /// The leader's portrait as a data URI, only when its publication was consented to.
    pub leader_photo: Option<String>,
    pub members: Vec<String>,
    pub phone: String,
    pub households: Option<i64>,
    pub four_to: [String; 4],
}

#[derive(Debug, Clone)]
pub struct PosterInput {
    pub village: String,
    pub place: String,
    pub village_shape: MultiPolygon<f64>,
    pub grids: Vec<PosterGrid>,
    pub revision: i32,
    pub revision_date: String,
    pub supervision_phone: Option<String>,
    pub office_phone: Option<String>,
}

pub use crate::atlas::colour::PALETTE;
const FONT: &str = "Noto Sans CJK SC";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The poster as SVG (millimetre user units).
pub fn render_svg(input: &PosterInput, paper: Paper) -> String {
    let (w, h) = paper.size_mm();
    let k = w / 420.0; // everything scales with the paper
    let margin = 12.0 * k;
    let side = 165.0 * k;
    let (map_x, map_y, map_w, map_h) = (
        margin,
        34.0 * k,
        w - side - 3.0 * margin,
        h - 34.0 * k - 22.0 * k,
    );
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family="{FONT}">"#
    );
    let _ = write!(s, r##"<rect width="{w}" height="{h}" fill="#fffdf8"/>"##);
    let _ = write!(
        s,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#8c2d19" stroke-width="{:.2}"/>"##,
        margin / 2.0,
        margin / 2.0,
        w - margin,
        h - margin,
        0.8 * k
    );
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="{:.1}" font-weight="bold" fill="#8c2d19">{}网格示意图</text>"##,
        margin,
        20.0 * k,
        11.0 * k,
        esc(&input.village)
    );
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="{:.1}" fill="#444">{} · 共 {} 个网格 · 第 {} 版（{}）</text>"##,
        margin,
        28.0 * k,
        4.2 * k,
        esc(&input.place),
        input.grids.len(),
        input.revision,
        esc(&input.revision_date)
    );

    // The map, fitted to its box with a local equirectangular scale.
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for c in input
        .village_shape
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter())
    {
        x0 = x0.min(c.x);
        y0 = y0.min(c.y);
        x1 = x1.max(c.x);
        y1 = y1.max(c.y);
    }
    let cos = ((y0 + y1) / 2.0).to_radians().cos();
    let scale = (map_w / ((x1 - x0) * cos)).min(map_h / (y1 - y0)) * 0.94;
    let (dx, dy) = (
        map_x + (map_w - (x1 - x0) * cos * scale) / 2.0,
        map_y + (map_h - (y1 - y0) * scale) / 2.0,
    );
    let project = |c: &Coord<f64>| ((c.x - x0) * cos * scale + dx, (y1 - c.y) * scale + dy);
    let path = |shape: &MultiPolygon<f64>| {
        let mut d = String::new();
        for polygon in &shape.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for (i, c) in ring.0.iter().enumerate() {
                    let (x, y) = project(c);
                    let _ = write!(d, "{}{:.2},{:.2}", if i == 0 { "M" } else { "L" }, x, y);
                }
                d.push('Z');
            }
        }
        d
    };
    for grid in &input.grids {
        let fill = PALETTE[grid.colour as usize % PALETTE.len()];
        let _ = write!(
            s,
            r##"<path d="{}" fill="{fill}" fill-rule="evenodd" stroke="#666" stroke-width="{:.2}"/>"##,
            path(&grid.geometry),
            0.35 * k
        );
        if grid.kind == "专属网格" {
            let _ = write!(
                s,
                r##"<path d="{}" fill="none" stroke="#b5442f" stroke-width="{:.2}" stroke-dasharray="{:.1} {:.1}"/>"##,
                path(&grid.geometry),
                0.9 * k,
                2.0 * k,
                1.0 * k
            );
        }
    }
    let _ = write!(
        s,
        r##"<path d="{}" fill="none" stroke="#222" stroke-width="{:.2}"/>"##,
        path(&input.village_shape),
        1.2 * k
    );
    for (n, grid) in input.grids.iter().enumerate() {
        let biggest =
            grid.geometry.0.iter().max_by(|a, b| {
                geo::Area::unsigned_area(*a).total_cmp(&geo::Area::unsigned_area(*b))
            });
        if let Some(label) = biggest.and_then(|p| pole_of_inaccessibility(p, 1e-6)) {
            let (x, y) = project(&label);
            let _ = write!(
                s,
                r##"<circle cx="{x:.1}" cy="{:.1}" r="{:.1}" fill="#8c2d19"/>"##,
                y - 2.0 * k,
                3.2 * k
            );
            let _ = write!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" fill="#fff" font-weight="bold">{}</text>"##,
                y - 0.8 * k,
                3.4 * k,
                n + 1
            );
            let short = grid.name.strip_prefix(&input.village).unwrap_or(&grid.name);
            let _ = write!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" fill="#222" stroke="#fffdf8" stroke-width="{:.2}" paint-order="stroke">{}</text>"##,
                y + 4.5 * k,
                3.3 * k,
                0.8 * k,
                esc(short)
            );
        }
    }
    // North arrow and scale bar.
    let (nx, ny) = (map_x + map_w - 10.0 * k, map_y + 8.0 * k);
    let _ = write!(
        s,
        r##"<path d="M{nx:.1},{:.1} L{:.1},{:.1} L{nx:.1},{:.1} L{:.1},{:.1} Z" fill="#222"/>"##,
        ny - 6.0 * k,
        nx + 3.5 * k,
        ny + 6.0 * k,
        ny + 3.0 * k,
        nx - 3.5 * k,
        ny + 6.0 * k
    );
    let _ = write!(
        s,
        r##"<text x="{nx:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" font-weight="bold">北</text>"##,
        ny - 8.0 * k,
        4.5 * k
    );
    let metres_per_mm = 111_320.0 / scale;
    let bar_m = [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]
        .into_iter()
        .find(|m| m / metres_per_mm >= 25.0 * k)
        .unwrap_or(10_000.0);
    let bar_mm = bar_m / metres_per_mm;
    let (bx, by) = (map_x, map_y + map_h);
    let _ = write!(
        s,
        r##"<path d="M{bx:.1},{by:.1} h{bar_mm:.1}" stroke="#222" stroke-width="{:.2}"/>"##,
        1.0 * k
    );
    let _ = write!(
        s,
        r##"<text x="{bx:.1}" y="{:.1}" font-size="{:.1}">{}</text>"##,
        by - 1.5 * k,
        3.2 * k,
        if bar_m >= 1000.0 {
            format!("{} 公里", bar_m / 1000.0)
        } else {
            format!("{bar_m} 米")
        }
    );

    // One card per grid: number and colour key, leader with phone, team, households, 四至.
    let tx = w - side - margin;
    let mut y = 40.0 * k;
    let _ = write!(
        s,
        r##"<text x="{tx:.1}" y="{y:.1}" font-size="{:.1}" font-weight="bold" fill="#8c2d19">网格与网格团队</text>"##,
        5.0 * k
    );
    y += 3.0 * k;
    let row_h = ((h - y - 24.0 * k) / input.grids.len().max(1) as f64).min(26.0 * k);
    let font = (row_h / 6.0).clamp(2.4 * k, 3.8 * k);
    for (n, grid) in input.grids.iter().enumerate() {
        let top = y + n as f64 * row_h;
        let short = grid.name.strip_prefix(&input.village).unwrap_or(&grid.name);
        let fill = PALETTE[grid.colour as usize % PALETTE.len()];
        let _ = write!(
            s,
            r##"<rect x="{tx:.1}" y="{:.1}" width="{side:.1}" height="{:.1}" rx="{:.1}" fill="{fill}" fill-opacity="0.35" stroke="{fill}" stroke-width="{:.2}"/>"##,
            top + 0.6 * k,
            row_h - 1.2 * k,
            1.5 * k,
            0.5 * k
        );
        let (cx, cy, r) = (
            tx + 6.5 * k,
            top + row_h / 2.0,
            (row_h / 2.0 - 2.0 * k).min(5.5 * k),
        );
        let initial = grid
            .leader
            .chars()
            .next()
            .filter(|_| !grid.leader.starts_with('（'))
            .map(String::from)
            .unwrap_or_else(|| "网".into());
        let _ = write!(
            s,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="#e8d8cf" stroke="#8c2d19" stroke-width="{:.2}"/>"##,
            0.4 * k
        );
        match &grid.leader_photo {
            Some(uri) => {
                let _ = write!(
                    s,
                    r##"<clipPath id="portrait{n}"><circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}"/></clipPath><image href="{uri}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" clip-path="url(#portrait{n})"/>"##,
                    cx - r,
                    cy - r,
                    2.0 * r,
                    2.0 * r
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<text x="{cx:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" fill="#8c2d19" font-weight="bold">{}</text>"##,
                    cy + r * 0.35,
                    r,
                    esc(&initial)
                );
            }
        }
        let text_x = tx + 14.5 * k;
        let households = grid
            .households
            .map(|h| format!("{h} 户"))
            .unwrap_or_else(|| "不足10户".into());
        let lines = [
            (
                font * 1.1,
                "#222",
                "bold",
                format!("{}. {short}    {households}", n + 1),
            ),
            (
                font,
                "#222",
                "normal",
                format!("网格长 {}    电话 {}", grid.leader, grid.phone),
            ),
            (
                font * 0.85,
                "#444",
                "normal",
                format!("网格员 {}", grid.members.join("、")),
            ),
            (
                font * 0.75,
                "#555",
                "normal",
                format!(
                    "东至{}；南至{}；西至{}；北至{}",
                    grid.four_to[0], grid.four_to[1], grid.four_to[2], grid.four_to[3]
                ),
            ),
        ];
        let mut line_y = top + (row_h - font * 4.6) / 2.0 + font;
        for (size, colour, weight, text) in lines {
            // Squeeze a line only when it would overflow the card.
            let width: f64 = text
                .chars()
                .map(|c| if c.is_ascii() { 0.55 * size } else { size })
                .sum();
            let room = side - 16.5 * k;
            let fit = if width > room {
                format!(r#" textLength="{room:.1}" lengthAdjust="spacingAndGlyphs""#)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                r##"<text x="{text_x:.1}" y="{line_y:.1}" font-size="{size:.2}" fill="{colour}" font-weight="{weight}"{fit}>{}</text>"##,
                esc(&text)
            );
            line_y += size * 1.25;
        }
    }
    // Footer.
    let mut footer = String::from(
        "本图为网格示意图，不作为权属界线依据。未经本人同意，网格员个人电话不予公开，请拨打村（社区）办公电话",
    );
    if let Some(office) = &input.office_phone {
        let _ = write!(footer, " {office}");
    }
    if let Some(phone) = &input.supervision_phone {
        let _ = write!(footer, "。监督电话 {phone}");
    }
    let _ = write!(
        s,
        r##"<text x="{margin:.1}" y="{:.1}" font-size="{:.1}" fill="#444">{}</text>"##,
        h - 10.0 * k,
        3.3 * k,
        esc(&footer)
    );
    s.push_str("</svg>");
    s
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("the poster SVG could not be parsed: {0}")]
    Svg(#[from] usvg::Error),
    #[error("PDF conversion failed: {0}")]
    Pdf(String),
}

/// The system's fonts, scanned once per process (a scan reads every font file's tables; the CJK
/// collections make it a noticeable part of a small PDF).
static FONTS: std::sync::LazyLock<std::sync::Arc<usvg::fontdb::Database>> =
    std::sync::LazyLock::new(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        std::sync::Arc::new(db)
    });

/// Parsing options with the shared font database and our font as the default family.
pub(crate) fn svg_options() -> usvg::Options<'static> {
    usvg::Options {
        font_family: FONT.to_string(),
        fontdb: FONTS.clone(),
        ..usvg::Options::default()
    }
}

/// The SVG as a one-page PDF with the fonts it uses embedded (subset), at the SVG's paper size.
pub fn to_pdf(svg: &str) -> Result<Vec<u8>, PosterError> {
    let options = svg_options();
    let tree = usvg::Tree::from_str(svg, &options)?;
    svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions { dpi: 96.0 },
    )
    .map_err(|e| PosterError::Pdf(e.to_string()))
}
