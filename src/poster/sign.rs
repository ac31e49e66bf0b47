//! The per-grid service sign (服务指示牌, 001: "在每个网格内醒目位置设置网格区域管理图和服务指示牌，
//! 公布网格管理服务工作人员姓名、联系方式、工作内容、监督电话"): the grid's map with its neighbours
//! named (四至), its team as consented, their duties, the supervision phone and a QR code to the
//! grid's public page. A4 or A3 portrait; SVG drawn here, one PDF of many signs by
//! `sheets::pages_to_pdf`. Pure: everything comes in already filtered for consent.

use std::fmt::Write;

use geo::BoundingRect;
use geo_types::MultiPolygon;

use super::sheets::qr_path;
use super::{FONT, PALETTE, PosterError, esc};
use crate::tiles::label::pole_of_inaccessibility;

/// Portrait paper for signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignPaper {
    A4,
    A3,
}

impl SignPaper {
    pub fn parse(name: &str) -> Option<SignPaper> {
        match name.to_ascii_lowercase().as_str() {
            "a4" => Some(SignPaper::A4),
            "a3" => Some(SignPaper::A3),
            _ => None,
        }
    }

    /// Width and height in millimetres.
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            SignPaper::A4 => (210.0, 297.0),
            SignPaper::A3 => (297.0, 420.0),
        }
    }
}

/// A team member on a sign: each of name, phone and photo present only with consent.
#[derive(Debug, Clone)]
pub struct SignMember {
    pub role: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// A `data:` URI of the consented portrait.
    pub photo: Option<String>,
    pub duties: Vec<String>,
}

/// Everything one sign shows.
#[derive(Debug, Clone)]
pub struct Sign {
    pub code: String,
    pub name: String,
    /// The enclosing cells' names (county … village).
    pub place: String,
    pub geometry: MultiPolygon<f64>,
    pub colour: u8,
    /// Neighbouring cells of the same level: name and shape (drawn grey, named).
    pub neighbours: Vec<(String, MultiPolygon<f64>)>,
    /// 东、南、西、北至, each already joined.
    pub four_to: [String; 4],
    pub households: Option<i64>,
    pub team: Vec<SignMember>,
    pub office_phone: Option<String>,
    pub supervision_phone: Option<String>,
    /// The absolute URL of the grid's public page (the QR code's content).
    pub link: String,
    pub revision: i32,
    pub revision_date: String,
}

/// Splits `text` into lines of at most `width` characters (CJK text has no spaces to break at).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// One sign as an SVG page (millimetre user units).
pub fn sign_svg(sign: &Sign, paper: SignPaper) -> Result<String, PosterError> {
    let (w, h) = paper.size_mm();
    let k = w / 210.0;
    let m = 10.0 * k;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family="{FONT}"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    // The title band.
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{w}" height="{:.2}" fill="#8c2d19"/><text x="{:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" fill="#fff" text-anchor="middle">网格服务指示牌</text><text x="{:.2}" y="{:.2}" font-size="{:.2}" fill="#fff" text-anchor="middle">{}</text>"##,
        30.0 * k,
        w / 2.0,
        15.0 * k,
        10.0 * k,
        w / 2.0,
        24.5 * k,
        4.2 * k,
        esc(&sign.place)
    );
    let _ = write!(
        s,
        r##"<text x="{m:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" fill="#222">{}</text><text x="{:.2}" y="{:.2}" font-size="{:.2}" fill="#555" text-anchor="end">编码 {}{}</text>"##,
        42.0 * k,
        8.0 * k,
        esc(&sign.name),
        w - m,
        42.0 * k,
        3.4 * k,
        esc(&sign.code),
        sign.households
            .map(|n| format!(" · {n} 户"))
            .unwrap_or_default()
    );

    // The map: the grid and what lies around it, fitted to the frame.
    let (fx, fy, fw, fh) = (m, 48.0 * k, w - 2.0 * m, 105.0 * k);
    let rect = sign
        .geometry
        .bounding_rect()
        .ok_or_else(|| PosterError::Pdf(format!("{} has no shape", sign.code)))?;
    let kx = rect.center().y.to_radians().cos();
    let (gw, gh) = (rect.width() * kx, rect.height());
    // The grid takes about 60 % of the frame; the neighbours show around it.
    let scale = (fw * 0.6 / gw.max(1e-12)).min(fh * 0.6 / gh.max(1e-12));
    let (cx, cy) = (rect.center().x, rect.center().y);
    let project = |x: f64, y: f64| {
        (
            fx + fw / 2.0 + (x - cx) * kx * scale,
            fy + fh / 2.0 - (y - cy) * scale,
        )
    };
    let path = |shape: &MultiPolygon<f64>| {
        let mut d = String::new();
        for polygon in &shape.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for (i, c) in ring.0.iter().enumerate() {
                    let (x, y) = project(c.x, c.y);
                    let _ = write!(d, "{}{x:.2} {y:.2}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        d
    };
    let _ = write!(
        s,
        r##"<defs><clipPath id="frame"><rect x="{fx:.2}" y="{fy:.2}" width="{fw:.2}" height="{fh:.2}"/></clipPath></defs><rect x="{fx:.2}" y="{fy:.2}" width="{fw:.2}" height="{fh:.2}" fill="#f4f1ec"/><g clip-path="url(#frame)">"##
    );
    for (_, shape) in &sign.neighbours {
        let _ = write!(
            s,
            r##"<path d="{}" fill="#e6e2dc" stroke="#9a948c" stroke-width="{:.2}" fill-rule="evenodd"/>"##,
            path(shape),
            0.3 * k
        );
    }
    let fill = PALETTE[sign.colour as usize % PALETTE.len()];
    let _ = write!(
        s,
        r##"<path d="{}" fill="{fill}" stroke="#8c2d19" stroke-width="{:.2}" fill-rule="evenodd"/>"##,
        path(&sign.geometry),
        0.9 * k
    );
    // Neighbours named where their inside falls in the frame (kept off the edges).
    let inside = |x: f64, y: f64, pad: f64| {
        x > fx + pad && x < fx + fw - pad && y > fy + pad && y < fy + fh - pad
    };
    for (name, shape) in &sign.neighbours {
        let Some(p) = shape
            .0
            .first()
            .and_then(|p| pole_of_inaccessibility(p, 1e-6))
        else {
            continue;
        };
        let (x, y) = project(p.x, p.y);
        let (x, y) = (
            x.clamp(fx + 14.0 * k, fx + fw - 14.0 * k),
            y.clamp(fy + 5.0 * k, fy + fh - 3.0 * k),
        );
        if inside(x, y, 2.0 * k) {
            let _ = write!(
                s,
                r##"<text x="{x:.2}" y="{y:.2}" font-size="{:.2}" fill="#555" text-anchor="middle">{}</text>"##,
                3.0 * k,
                esc(name)
            );
        }
    }
    if let Some(p) = sign
        .geometry
        .0
        .first()
        .and_then(|p| pole_of_inaccessibility(p, 1e-6))
    {
        let (x, y) = project(p.x, p.y);
        let _ = write!(
            s,
            r##"<text x="{x:.2}" y="{y:.2}" font-size="{:.2}" font-weight="bold" fill="#8c2d19" text-anchor="middle">{}</text>"##,
            4.4 * k,
            esc(&sign.name)
        );
    }
    let _ = write!(
        s,
        r##"</g><rect x="{fx:.2}" y="{fy:.2}" width="{fw:.2}" height="{fh:.2}" fill="none" stroke="#777" stroke-width="{:.2}"/><text x="{:.2}" y="{:.2}" font-size="{:.2}" fill="#555" text-anchor="end">↑北</text>"##,
        0.3 * k,
        fx + fw - 2.0 * k,
        fy + 5.0 * k,
        3.2 * k
    );

    // 四至.
    let mut y = fy + fh + 8.0 * k;
    for (i, (label, text)) in ["东至", "南至", "西至", "北至"]
        .iter()
        .zip(&sign.four_to)
        .enumerate()
    {
        let x = m + (i % 2) as f64 * (w - 2.0 * m) / 2.0;
        let yy = y + (i / 2) as f64 * 6.0 * k;
        let shown = if text.is_empty() {
            "辖区边界"
        } else {
            text.as_str()
        };
        let _ = write!(
            s,
            r##"<text x="{x:.2}" y="{yy:.2}" font-size="{:.2}"><tspan fill="#8c2d19" font-weight="bold">{label}</tspan><tspan fill="#222">　{}</tspan></text>"##,
            3.6 * k,
            esc(&wrap(shown, 24).first().cloned().unwrap_or_default())
        );
    }
    y += 16.0 * k;

    // The team: photo (consented) or a frame, role and name, phone, duties.
    let _ = write!(
        s,
        r##"<text x="{m:.2}" y="{y:.2}" font-size="{:.2}" font-weight="bold" fill="#222">网格服务团队</text>"##,
        5.0 * k
    );
    y += 4.0 * k;
    let columns = 2usize;
    let col_w = (w - 2.0 * m) / columns as f64;
    let row_h = 28.0 * k;
    let rows_room = ((h - y - 58.0 * k) / row_h).floor().max(1.0) as usize;
    let shown_members = sign.team.len().min(rows_room * columns);
    for (i, member) in sign.team.iter().take(shown_members).enumerate() {
        let x = m + (i % columns) as f64 * col_w;
        let top = y + (i / columns) as f64 * row_h;
        let (pw, ph) = (20.0 * k, 26.0 * k);
        match &member.photo {
            Some(uri) => {
                let _ = write!(
                    s,
                    r##"<image href="{}" x="{x:.2}" y="{top:.2}" width="{pw:.2}" height="{ph:.2}" preserveAspectRatio="xMidYMid slice"/>"##,
                    esc(uri)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<rect x="{x:.2}" y="{top:.2}" width="{pw:.2}" height="{ph:.2}" fill="#eee" stroke="#bbb" stroke-width="{:.2}"/><text x="{:.2}" y="{:.2}" font-size="{:.2}" fill="#888" text-anchor="middle">照片未公开</text>"##,
                    0.2 * k,
                    x + pw / 2.0,
                    top + ph / 2.0,
                    2.4 * k
                );
            }
        }
        let tx = x + pw + 3.0 * k;
        let who = match &member.name {
            Some(n) => format!("{} {}", member.role, n),
            None => format!("{}（姓名未公开）", member.role),
        };
        let phone = match (&member.phone, &sign.office_phone) {
            (Some(p), _) => format!("电话 {p}"),
            (None, Some(o)) => format!("办公电话 {o}"),
            (None, None) => "电话未公开".into(),
        };
        let _ = write!(
            s,
            r##"<text x="{tx:.2}" y="{:.2}" font-size="{:.2}" font-weight="bold" fill="#222">{}</text><text x="{tx:.2}" y="{:.2}" font-size="{:.2}" fill="#222">{}</text>"##,
            top + 4.5 * k,
            3.8 * k,
            esc(&who),
            top + 10.0 * k,
            3.3 * k,
            esc(&phone)
        );
        let duties = member.duties.join("、");
        for (j, line) in wrap(&duties, 20).iter().take(3).enumerate() {
            let _ = write!(
                s,
                r##"<text x="{tx:.2}" y="{:.2}" font-size="{:.2}" fill="#555">{}{}</text>"##,
                top + 15.5 * k + j as f64 * 4.2 * k,
                2.9 * k,
                if j == 0 { "职责：" } else { "" },
                esc(line)
            );
        }
    }
    if sign.team.len() > shown_members {
        let _ = write!(
            s,
            r##"<text x="{m:.2}" y="{:.2}" font-size="{:.2}" fill="#555">另有 {} 名团队成员，扫码查看</text>"##,
            y + rows_room as f64 * row_h,
            3.0 * k,
            sign.team.len() - shown_members
        );
    }
    if sign.team.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{m:.2}" y="{:.2}" font-size="{:.2}" fill="#555">团队信息待公布</text>"##,
            y + 6.0 * k,
            3.4 * k
        );
    }

    // The foot: supervision phone, office phone, the QR code to the grid's page.
    let qr = 40.0 * k;
    let qy = h - m - qr - 6.0 * k;
    s.push_str(&qr_path(&sign.link, w - m - qr, qy, qr)?);
    let _ = write!(
        s,
        r##"<text x="{:.2}" y="{:.2}" font-size="{:.2}" fill="#333" text-anchor="middle">扫码查看网格信息、办理结果、居民之声</text>"##,
        w - m - qr / 2.0,
        qy + qr + 4.0 * k,
        2.6 * k
    );
    let fy2 = qy + 8.0 * k;
    if let Some(p) = &sign.supervision_phone {
        let _ = write!(
            s,
            r##"<text x="{m:.2}" y="{fy2:.2}" font-size="{:.2}" font-weight="bold" fill="#8c2d19">监督电话 {}</text>"##,
            6.0 * k,
            esc(p)
        );
    }
    if let Some(p) = &sign.office_phone {
        let _ = write!(
            s,
            r##"<text x="{m:.2}" y="{:.2}" font-size="{:.2}" fill="#222">村（居）委会办公电话 {}</text>"##,
            fy2 + 9.0 * k,
            4.2 * k,
            esc(p)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{m:.2}" y="{:.2}" font-size="{:.2}" fill="#222">遇到问题可直接联系网格员，或扫码提交意见建议。</text><text x="{m:.2}" y="{:.2}" font-size="{:.2}" fill="#666">第 {} 版 {} · 网格示意图（不作为权属界线依据）</text></svg>"##,
        fy2 + 17.0 * k,
        3.4 * k,
        h - m,
        2.6 * k,
        sign.revision,
        esc(&sign.revision_date)
    );
    Ok(s)
}

/// The signs as pages, one per sign.
pub fn sign_pages(signs: &[Sign], paper: SignPaper) -> Result<Vec<String>, PosterError> {
    signs.iter().map(|s| sign_svg(s, paper)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Polygon, polygon};

    fn square(x: f64) -> MultiPolygon<f64> {
        let p: Polygon<f64> = polygon![(x: x, y: 27.7), (x: x + 0.01, y: 27.7), (x: x + 0.01, y: 27.71), (x: x, y: 27.71)];
        MultiPolygon(vec![p])
    }

    fn sign(team: Vec<SignMember>) -> Sign {
        Sign {
            code: "520328004016001".into(),
            name: "义泉社区第1网格".into(),
            place: "湄潭县 湄江街道 义泉社区".into(),
            geometry: square(107.5),
            colour: 1,
            neighbours: vec![("义泉社区第2网格".into(), square(107.51))],
            four_to: [
                "义泉社区第2网格".into(),
                String::new(),
                String::new(),
                String::new(),
            ],
            households: Some(300),
            team,
            office_phone: Some("0851-24211234".into()),
            supervision_phone: Some("0851-24225678".into()),
            link: "https://grid.example.cn/g/520328004016001".into(),
            revision: 3,
            revision_date: "2026-11-30".into(),
        }
    }

    #[test]
    fn a_sign_names_its_neighbours_and_shows_only_consented_fields() {
        let member = |name: Option<&str>, phone: Option<&str>| SignMember {
            role: "网格员".into(),
            name: name.map(str::to_string),
            phone: phone.map(str::to_string),
            photo: None,
            duties: vec!["巡查走访".into()],
        };
        let svg = sign_svg(
            &sign(vec![
                member(Some("张三"), Some("13800000001")),
                member(None, None),
            ]),
            SignPaper::A4,
        )
        .unwrap();
        assert!(svg.contains("义泉社区第2网格"));
        assert!(svg.contains("网格员 张三") && svg.contains("电话 13800000001"));
        assert!(svg.contains("网格员（姓名未公开）") && svg.contains("办公电话 0851-24211234"));
        assert!(svg.contains("监督电话 0851-24225678"));
        assert!(svg.contains("照片未公开"));
    }

    #[test]
    fn a3_is_the_a4_sign_scaled() {
        let a4 = sign_svg(&sign(vec![]), SignPaper::A4).unwrap();
        let a3 = sign_svg(&sign(vec![]), SignPaper::A3).unwrap();
        assert!(a4.contains(r#"width="210mm" height="297mm""#));
        assert!(a3.contains(r#"width="297mm" height="420mm""#));
        assert!(a3.contains("团队信息待公布"));
    }
}
