//! Vector tiles: decoded by GDAL's ogrinfo (an independent decoder), cached with ETags, and
//! invalidated only where a new revision changed something.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::harness::demo_db;
use crate::http::{app_with_atlas, call};

fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = (1u64 << z) as f64;
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (x, y)
}

async fn get(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// `ogrinfo` on a tile: layer name → feature count, plus the full text.
fn ogrinfo(
    bytes: &[u8],
    z: u32,
    x: u32,
    y: u32,
) -> (std::collections::BTreeMap<String, usize>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tile.mvt");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-oo",
            &format!("X={x}"),
            "-oo",
            &format!("Y={y}"),
            "-oo",
            &format!("Z={z}"),
            "-oo",
            "CLIP=NO",
        ])
        .arg(&path)
        .output()
        .expect("ogrinfo (gdal-bin) is installed by make test");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut counts = std::collections::BTreeMap::new();
    let mut layer = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = name.trim().to_string();
        }
        if let Some(n) = line.strip_prefix("Feature Count: ") {
            counts.insert(layer.clone(), n.trim().parse().unwrap());
        }
    }
    (counts, text)
}

#[tokio::test]
async fn gdal_reads_our_tiles_with_the_expected_layers_counts_and_properties() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let atlas = state.atlas.load();
    // The tile holding 义泉社区第1网格, at grid, village and township zooms.
    let grid = atlas.get("520328004016001").unwrap();
    let ring = &grid.geometry.0[0].exterior().0;
    let inside = ring
        .iter()
        .fold(geo_types::Coord { x: 0.0, y: 0.0 }, |a, c| a + *c)
        / ring.len() as f64;
    for (z, level) in [(14u32, 3u8), (11, 2), (9, 1)] {
        let (x, y) = tile_of(inside.x, inside.y, z);
        let (status, headers, bytes) =
            get(&app, &format!("/tiles/cells/{z}/{x}/{y}.mvt"), &[]).await;
        assert_eq!(status, StatusCode::OK, "z{z}");
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        let (counts, text) = ogrinfo(&bytes, z, x, y);
        // Expected: every cell of the displayed level that reaches into the buffered tile.
        let source = state.tiles.source();
        let id = gridmap::tiles::mercator::TileId::new(z, x, y).unwrap();
        let [w, s, e, n] = id.bounds();
        let pad = (e - w) * 64.0 / 4096.0;
        let window = geo_types::Rect::new(
            geo_types::Coord {
                x: w - pad,
                y: s - pad,
            },
            geo_types::Coord {
                x: e + pad,
                y: n + pad,
            },
        );
        let expected = source
            .in_bounds([w - pad, s - pad, e + pad, n + pad])
            .filter(|c| c.level == level && geo::Intersects::intersects(&c.shape, &window))
            .count();
        assert!(expected > 0);
        assert_eq!(counts.get("cells"), Some(&expected), "z{z}: {text}");
        assert!(
            text.contains("code (String)") && text.contains("colour (Integer"),
            "{text}"
        );
        if level == 3 {
            assert!(text.contains("义泉社区第1网格"), "{text}");
        }
        // Nothing private in a tile.
        assert!(!text.contains("head_name") && !text.contains("phone"));
    }
    // Labels and boundaries decode too.
    let (x, y) = tile_of(inside.x, inside.y, 14);
    for layer in ["labels", "boundaries"] {
        let (status, _, bytes) = get(&app, &format!("/tiles/{layer}/14/{x}/{y}.mvt"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (counts, _) = ogrinfo(&bytes, 14, x, y);
        assert!(
            counts.get(layer).copied().unwrap_or(0) > 0,
            "{layer}: {counts:?}"
        );
    }
}

#[tokio::test]
async fn adjacent_cells_never_share_a_colour() {
    let db = demo_db().await;
    let (_, state) = app_with_atlas(&db).await;
    state.tiles.follow(&state.atlas.load());
    let source = state.tiles.source();
    let colour: std::collections::HashMap<&str, u8> = source
        .cells
        .iter()
        .map(|c| (c.code.as_str(), c.colour))
        .collect();
    let atlas = state.atlas.load();
    let mut checked = 0;
    for a in atlas.cells().iter().filter(|c| c.level == 3) {
        let edges: std::collections::HashSet<_> = a.geometry.0[0]
            .exterior()
            .0
            .windows(2)
            .map(|w| {
                (
                    w[0].x.to_bits(),
                    w[0].y.to_bits(),
                    w[1].x.to_bits(),
                    w[1].y.to_bits(),
                )
            })
            .collect();
        for b in atlas
            .cells()
            .iter()
            .filter(|c| c.level == 3 && c.code != a.code)
        {
            let touches = b
                .geometry
                .0
                .iter()
                .flat_map(|p| p.exterior().0.windows(2))
                .any(|w| {
                    edges.contains(&(
                        w[1].x.to_bits(),
                        w[1].y.to_bits(),
                        w[0].x.to_bits(),
                        w[0].y.to_bits(),
                    ))
                });
            if touches {
                assert_ne!(
                    colour[a.code.as_str()],
                    colour[b.code.as_str()],
                    "{} and {}",
                    a.code,
                    b.code
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 200);
    assert!(source.cells.iter().all(|c| c.colour < 5));
}

#[tokio::test]
async fn etags_304_204_and_bad_addresses() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let (x, y) = tile_of(107.466, 27.766, 13);
    let uri = format!("/tiles/cells/13/{x}/{y}.mvt");
    let (status, headers, gzipped) = get(&app, &uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(&gzipped[..2], &[0x1f, 0x8b]);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, body) = get(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    let (status, _, _) = get(&app, "/tiles/cells/13/0/0.mvt", &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (uri, field) in [
        ("/tiles/cells/23/0/0.mvt", "z"),
        ("/tiles/cells/3/8/0.mvt", "z"),
        ("/tiles/cells/a/0/0.mvt", "z"),
        ("/tiles/rivers/3/0/0.mvt", "layer"),
    ] {
        let (status, body) = call(&app, uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"]["details"]["field"], field, "{uri}");
    }
    let (status, tilejson) = call(&app, "/tiles/cells.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tilejson["tilejson"], "3.0.0");
    assert!(
        tilejson["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/cells/{z}/{x}/{y}.mvt")
    );
    let (_, style) = call(&app, "/styles/public.json", None).await;
    assert_eq!(style["version"], 8);
    assert!(
        style.get("glyphs").is_none(),
        "no glyph server: local fonts only"
    );
    assert!(
        !style.to_string().contains("https://"),
        "nothing from the internet"
    );
}

#[tokio::test]
async fn a_new_revision_changes_the_etag_of_affected_tiles_only() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let atlas = state.atlas.load_full();
    let grid = atlas.get("520328101200004").unwrap().clone();
    let ring = &grid.geometry.0[0].exterior().0;
    let inside = ring
        .iter()
        .fold(geo_types::Coord { x: 0.0, y: 0.0 }, |a, c| a + *c)
        / ring.len() as f64;
    let (gx, gy) = tile_of(inside.x, inside.y, 15);
    let touched = format!("/tiles/labels/15/{gx}/{gy}.mvt");
    // A tile in the other township, far from the change.
    let far_grid = atlas.get("520328004016001").unwrap();
    let far_point = far_grid.geometry.0[0].exterior().0[0];
    let (fx, fy) = tile_of(far_point.x, far_point.y, 15);
    let far = format!("/tiles/labels/15/{fx}/{fy}.mvt");
    let etag = |h: &axum::http::HeaderMap| h["etag"].to_str().unwrap().to_string();
    let (_, h1, _) = get(&app, &touched, &[]).await;
    let (_, h2, _) = get(&app, &far, &[]).await;
    let before = state.tiles.source();

    // Rename the grid in a new revision.
    let mut client = db.client().await;
    let (base, cells) = gridmap::store::cells::load_current(&client).await.unwrap();
    let mut renamed = cells
        .into_iter()
        .find(|c| c.code.as_str() == "520328101200004")
        .unwrap();
    renamed.name = "马义村第4网格（新）".into();
    let outcome = gridmap::store::cells::write_revision(
        &mut client,
        &[renamed],
        Some(base),
        "test",
        "rename",
    )
    .await
    .unwrap();
    assert!(matches!(
        outcome,
        gridmap::store::cells::WriteOutcome::Committed { .. }
    ));
    gridmap::app::atlas::reload(&state.pool, &state.atlas)
        .await
        .unwrap();

    let (_, h1b, body) = get(&app, &touched, &[]).await;
    let (_, h2b, _) = get(&app, &far, &[]).await;
    // A rename moves no boundary: the new source keeps every other cell's projected shape.
    let after = state.tiles.source();
    assert_eq!((before.revision, after.revision), (1, 2));
    for (old, new) in before.cells.iter().zip(&after.cells) {
        assert_eq!(old.code, new.code);
        assert_eq!(
            std::sync::Arc::ptr_eq(old, new),
            new.code != "520328101200004",
            "{}",
            new.code
        );
    }
    assert_ne!(etag(&h1), etag(&h1b), "the renamed grid's tile must change");
    assert!(String::from_utf8_lossy(&body).contains("马义村第4网格（新）"));
    assert_eq!(
        etag(&h2),
        etag(&h2b),
        "a tile far from the change keeps its ETag"
    );
}

#[tokio::test]
async fn simplified_village_shapes_keep_an_exact_coverage_at_low_zoom() {
    use gridmap::geometry::coverage::{CodeRules, CoverageCell, Options, validate};
    let db = demo_db().await;
    let (_, state) = app_with_atlas(&db).await;
    state.tiles.follow(&state.atlas.load());
    let source = state.tiles.source();
    // Simplification works at one tile unit: it removes the hexagonal zig-zag only when a tile unit
    // is coarser than it (low zooms), and must never open a crack at any zoom.
    for (z, level, reduces) in [
        (9u8, 1u8, true),
        (8, 2, true),
        (7, 3, true),
        (11, 2, false),
        (13, 3, false),
    ] {
        let members: Vec<usize> = source
            .cells
            .iter()
            .filter(|c| c.level == level)
            .map(|c| c.index)
            .collect();
        let before: usize = members
            .iter()
            .map(|&i| {
                source.cells[i]
                    .shape
                    .0
                    .iter()
                    .map(|p| p.exterior().0.len())
                    .sum::<usize>()
            })
            .sum();
        let after: usize = members
            .iter()
            .map(|&i| {
                source
                    .shape_at(i, z)
                    .0
                    .iter()
                    .map(|p| p.exterior().0.len())
                    .sum::<usize>()
            })
            .sum();
        assert!(
            !reduces || after < before,
            "z{z}: {before} → {after} vertices"
        );
        assert!(after <= before);
        let cells: Vec<CoverageCell> = members
            .iter()
            .map(|&i| {
                CoverageCell::from_multipolygon(
                    &source.cells[i].code,
                    None,
                    None,
                    source.shape_at(i, z),
                )
            })
            .collect();
        let options = Options {
            code_rules: CodeRules::Free,
            sliver_width_m: 0.0,
            geographic: false,
            ..Options::default()
        };
        let report = validate(&cells, &[], &options);
        let cracks: Vec<_> = report
            .errors()
            .filter(|v| v.kind.as_str() != "invalid_geometry")
            .collect();
        assert!(cracks.is_empty(), "z{z}: {}", report.summary(5));
    }
}
