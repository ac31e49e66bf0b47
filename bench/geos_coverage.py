"""GEOS CoverageValidator (shapely >= 2.1 coverage_invalid_edges) on the same files as
`cargo bench --bench coverage`, for a side-by-side ratio. Times CPU of the validation only."""
import json
import sys
import time
from collections import defaultdict

import shapely


def load(path, code="code"):
    with open(path) as f:
        fc = json.load(f)
    out = []
    for feat in fc["features"]:
        props = feat.get("properties") or {}
        out.append((str(props.get(code, feat.get("id"))), props.get("parent"), shapely.geometry.shape(feat["geometry"])))
    return out


def groups_by(cells, key):
    g = defaultdict(list)
    for c in cells:
        g[key(c)].append(c[2])
    return list(g.values())


def run(name, groups, repeat=3):
    best = float("inf")
    invalid = 0
    for _ in range(repeat):
        start = time.process_time()
        invalid = 0
        for geoms in groups:
            edges = shapely.coverage_invalid_edges(shapely.GeometryCollection(geoms)) if False else shapely.coverage_invalid_edges(geoms)
            invalid += int((~shapely.is_empty(edges)).sum())
        best = min(best, time.process_time() - start)
    print(f"GEOS {name}: {best * 1000:.1f} ms CPU, {invalid} cells with invalid edges")


if __name__ == "__main__":
    bench, shared = sys.argv[1], sys.argv[2]
    clean = load(f"{bench}/synthetic_100k_cells.geojson")
    run("coverage 100k clean", groups_by(clean, lambda c: c[1]))
    faulted = load(f"{bench}/synthetic_100k_faulted.geojson")
    run("coverage 100k with 50 faults", groups_by(faulted, lambda c: c[1]))
    counties = load(f"{shared}/us/us_counties_2017_10m.geojson", "id")
    run("US counties (per state)", groups_by(counties, lambda c: c[0][:2]), repeat=5)
