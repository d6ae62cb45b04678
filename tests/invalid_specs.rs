//! The invalid-spec corpus: every file under tests/invalid_specs/ starts with
//! `# expect: LINE:COLUMN message fragment`. Each must be rejected by `validate` and by
//! `apply` with that location, that message and a fix hint, and nothing may reach AWS.

mod common;

use std::path::PathBuf;

use common::Emulator;

struct Case {
    path: PathBuf,
    location: String,
    fragment: String,
}

fn corpus() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_specs");
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .expect("read tests/invalid_specs")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read case");
            let header = text.lines().next().unwrap_or_default();
            let expectation = header.strip_prefix("# expect: ").unwrap_or_else(|| {
                panic!(
                    "{} lacks a '# expect: LINE:COL text' header",
                    path.display()
                )
            });
            let (location, fragment) = expectation.split_once(' ').expect("LINE:COL then text");
            Case {
                location: format!("{}:{location}", path.display()),
                fragment: fragment.to_string(),
                path,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.path.cmp(&b.path));
    cases
}

#[test]
fn corpus_has_at_least_fifteen_cases() {
    assert!(
        corpus().len() >= 15,
        "only {} invalid specs",
        corpus().len()
    );
}

#[test]
fn every_invalid_spec_is_rejected_with_location_and_hint_and_nothing_is_called() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["kafka-log-lambda"]);
    emulator.clear_log();
    for case in corpus() {
        let file = case.path.to_str().expect("utf-8 path");
        for args in [
            vec!["validate", "-f", file],
            vec!["plan", "-f", file],
            vec!["apply", "-f", file, "--auto-approve", "--allow-destroy"],
        ] {
            // The corpus lives in the repository, outside the test's working directory.
            let corpus_dir = case.path.parent().and_then(|p| p.to_str()).unwrap_or(".");
            let run = emulator.pipectl_with(&args, &[("PIPECTL_ALLOW_FILES_FROM", corpus_dir)]);
            run.expect_code(1)
                .expect_stderr(&case.location)
                .expect_stderr(&case.fragment)
                .expect_stderr("help: ")
                .expect_stderr("nothing was read from or changed in AWS or Kubernetes");
        }
    }
    let calls = emulator.mutating_calls();
    assert!(calls.is_empty(), "invalid specs reached AWS: {calls:?}");
}
