//! The README describes the tests by their names: every integration test must be listed there
//! (its name with spaces for underscores), so the description cannot drift from the suite.

use std::path::Path;

#[test]
fn every_integration_test_is_listed_in_the_readme_by_its_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Tests\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Tests section");
    let mut missing = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("tests/it")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if !line.trim_start().starts_with("#[test]")
                && !line.trim_start().starts_with("#[tokio::test")
            {
                continue;
            }
            let Some(def) = lines.by_ref().find(|l| l.contains("fn ")) else {
                continue;
            };
            let name = def
                .split("fn ")
                .nth(1)
                .and_then(|r| r.split('(').next())
                .unwrap_or("");
            seen += 1;
            if !section.contains(&name.replace('_', " ")) {
                missing.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(seen > 50, "found only {seen} tests");
    assert!(
        missing.is_empty(),
        "tests not described in the README:\n{}",
        missing.join("\n")
    );
}
