//! The `mvt` encoder against the Mapbox vector-tile-spec fixtures in its domain (valid point,
//! line and polygon geometries, single and multi): each fixture's geometry is re-encoded by us and
//! both tiles are decoded by GDAL, which must read the same features.

use mvt::{GeomEncoder, GeomType, Tile};
use serde_json::Value;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mvt-fixtures")
}

/// MVT geometry commands → parts of absolute points.
fn decode_commands(commands: &[u64]) -> Vec<Vec<(i64, i64)>> {
    let (mut parts, mut i, mut x, mut y) = (Vec::new(), 0, 0i64, 0i64);
    let zigzag = |v: u64| ((v >> 1) as i64) ^ -((v & 1) as i64);
    while i < commands.len() {
        let (id, count) = (commands[i] & 7, commands[i] >> 3);
        i += 1;
        match id {
            1 | 2 => {
                for _ in 0..count {
                    x += zigzag(commands[i]);
                    y += zigzag(commands[i + 1]);
                    i += 2;
                    if id == 1 {
                        parts.push(Vec::new());
                    }
                    if let Some(part) = parts.last_mut() {
                        part.push((x, y));
                    }
                }
            }
            _ => {} // ClosePath: implied by the polygon encoder
        }
    }
    parts
}

fn ogr_geometries(path: &std::path::Path) -> Vec<String> {
    let output = std::process::Command::new("ogrinfo")
        .args([
            "-ro", "-al", "-oo", "X=0", "-oo", "Y=0", "-oo", "Z=0", "-oo", "CLIP=NO",
        ])
        .arg(path)
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("POINT")
                || l.starts_with("LINESTRING")
                || l.starts_with("POLYGON")
                || l.starts_with("MULTI")
        })
        .map(String::from)
        .collect()
}

#[test]
fn our_encoder_reproduces_the_spec_fixtures_as_gdal_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for id in ["017", "018", "019", "020", "021", "022"] {
        let fixture = fixtures().join(id);
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture.join("tile.json")).unwrap())
                .unwrap();
        let layer_json = &expected["layers"][0];
        let feature = &layer_json["features"][0];
        let kind = match feature["type"].as_u64() {
            Some(1) => GeomType::Point,
            Some(2) => GeomType::Linestring,
            Some(3) => GeomType::Polygon,
            other => panic!("{id}: type {other:?}"),
        };
        let commands: Vec<u64> = feature["geometry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let mut encoder = GeomEncoder::new(kind);
        for part in decode_commands(&commands) {
            for (x, y) in part {
                encoder.add_point(x as f64, y as f64).unwrap();
            }
            if kind != GeomType::Point {
                encoder.complete_geom().unwrap();
            }
        }
        let mut tile = Tile::new(layer_json["extent"].as_u64().unwrap_or(4096) as u32);
        let layer = tile.create_layer(layer_json["name"].as_str().unwrap());
        let mut ours = layer.into_feature(encoder.encode().unwrap());
        if let Some(fid) = feature["id"].as_u64() {
            ours.set_id(fid);
        }
        tile.add_layer(ours.into_layer()).unwrap();
        let path = dir.path().join(format!("{id}.mvt"));
        std::fs::write(&path, tile.to_bytes().unwrap()).unwrap();
        let theirs = ogr_geometries(&fixture.join("tile.mvt"));
        let mine = ogr_geometries(&path);
        assert!(
            !theirs.is_empty(),
            "{id}: GDAL read nothing from the fixture"
        );
        assert_eq!(mine, theirs, "fixture {id}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}
