//! The layer rule (DESIGN.md §2): every folder of `src/` imports only the layers below it, so no
//! import runs upward and no two folders import each other. Read from the source itself.

use std::collections::BTreeSet;
use std::path::Path;

/// Layers from the ground up; folders on one floor may not import each other.
const FLOORS: &[&[&str]] = &[
    &["domain"],
    &["geometry"],
    &["codec", "demo"],
    &["store"],
    &["atlas"],
    &["tiles"],
    &["poster"],
    &["app"],
    &["http"],
];
/// Small helpers any layer may use; they themselves use only the domain.
const HELPERS: &[&str] = &["config", "task"];

fn floor_of(folder: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&folder))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it_or_beside_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = BTreeSet::new();
    let mut seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let folder = first.trim_end_matches(".rs").to_string();
        if folder == "main" || folder == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                seen += 1;
                if target == folder || HELPERS.contains(&target.as_str()) {
                    continue;
                }
                let allowed = if HELPERS.contains(&folder.as_str()) {
                    target == "domain"
                } else {
                    match (floor_of(&folder), floor_of(&target)) {
                        (Some(here), Some(there)) => there < here,
                        _ => false,
                    }
                };
                if !allowed {
                    wrong.insert(format!(
                        "{}:{}: {folder} -> {target}",
                        relative.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(seen > 100, "the scan found only {seen} imports");
    assert!(
        wrong.is_empty(),
        "imports against the layer rule:\n{}",
        wrong.into_iter().collect::<Vec<_>>().join("\n")
    );
}
