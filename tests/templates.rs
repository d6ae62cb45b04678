//! `pipectl init`, its templates and the stack file's JSON Schema (issue 11): every template
//! starts a valid stack, checked by `pipectl validate` and, independently, by Python's
//! `jsonschema` against the schema `init` writes beside it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{path_str, python, Emulator};

const TEMPLATES: &[&str] = &[
    "seed-pipeline",
    "dynamodb-only",
    "lambda-consumers",
    "environments",
    "ci-github",
    "ci-gitlab",
];

/// Validates a TOML file against a JSON Schema with Python's tomllib and jsonschema.
fn schema_errors(schema: &Path, toml: &Path) -> Option<String> {
    let output = Command::new(python())
        .args([
            "-c",
            "import json, sys, tomllib, jsonschema\nschema = json.load(open(sys.argv[1]))\njsonschema.Draft202012Validator.check_schema(schema)\njsonschema.validate(tomllib.load(open(sys.argv[2], 'rb')), schema)",
            path_str(schema),
            path_str(toml),
        ])
        .output()
        .expect("run python");
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_template_starts_a_valid_stack_with_its_schema_beside_it() {
    let emulator = Emulator::start("{}");
    let list = emulator.pipectl(&["init", "--list"]);
    list.expect_code(0);
    for name in TEMPLATES {
        assert!(
            list.stdout.contains(name),
            "{name} not listed:\n{}",
            list.stdout
        );
        let dir = emulator.dir().join(name);
        emulator
            .pipectl(&["init", "--template", name, path_str(&dir)])
            .expect_code(0)
            .expect_stdout("Started from template");
        let mut tomls = vec![];
        for entry in walk(&dir) {
            if entry.extension().is_some_and(|e| e == "toml") {
                tomls.push(entry);
            } else if entry.extension().is_some_and(|e| e == "yml") {
                let parsed = Command::new(python())
                    .args([
                        "-c",
                        "import sys, yaml; yaml.safe_load(open(sys.argv[1]))",
                        path_str(&entry),
                    ])
                    .status()
                    .expect("python yaml");
                assert!(parsed.success(), "{} is not YAML", entry.display());
            }
        }
        for toml in &tomls {
            let text = std::fs::read_to_string(toml).expect("template file");
            assert!(
                text.starts_with("#:schema ./stack.schema.json\n"),
                "{}",
                toml.display()
            );
            emulator
                .pipectl(&["validate", path_str(toml)])
                .expect_code(0);
            if let Some(errors) = schema_errors(&dir.join("stack.schema.json"), toml) {
                panic!("{} does not match the schema: {errors}", toml.display());
            }
        }
        if name.starts_with("ci-") {
            assert!(tomls.is_empty());
            assert!(!dir.join("stack.schema.json").exists());
        }
    }
    let workflow = std::fs::read_to_string(
        emulator
            .dir()
            .join("ci-github/.github/workflows/pipectl.yml"),
    )
    .expect("workflow");
    for step in [
        "--out plan.json",
        "pipectl apply plan.json",
        "role-to-assume",
        "startswith",
        ".user.login == $bot",
        "PIPECTL_KAFKA_ADMIN_SECRET",
    ] {
        assert!(workflow.contains(step), "{step}");
    }
}

#[test]
fn init_never_overwrites_and_names_what_it_offers() {
    let emulator = Emulator::start("{}");
    let dir = emulator.dir().join("new");
    emulator.pipectl(&["init", path_str(&dir)]).expect_code(0);
    let before = std::fs::read_to_string(dir.join("kafka-logs.toml")).expect("written");
    std::fs::write(dir.join("kafka-logs.toml"), "mine").expect("edit");
    emulator
        .pipectl(&["init", path_str(&dir)])
        .expect_code(1)
        .expect_stderr("does not overwrite");
    assert_eq!(
        std::fs::read_to_string(dir.join("kafka-logs.toml")).expect("kept"),
        "mine"
    );
    assert!(before.contains("[kafka.brokers]"));
    emulator
        .pipectl(&["init", "--template", "kafka", path_str(&dir)])
        .expect_code(1)
        .expect_stderr("the templates are: seed-pipeline");
}

#[test]
fn the_stack_schema_is_strict_and_describes_the_example_stacks() {
    let emulator = Emulator::start("{}");
    let schema = emulator.dir().join("stack.schema.json");
    let printed = emulator.pipectl(&["schema"]);
    printed.expect_code(0);
    std::fs::write(&schema, &printed.stdout).expect("schema");
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/stack.schema.json"),
    )
    .expect("committed schema");
    assert_eq!(printed.stdout, committed);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
    for stack in walk(&examples) {
        if let Some(errors) = schema_errors(&schema, &stack) {
            panic!("{} does not match the schema: {errors}", stack.display());
        }
    }
    let typo = emulator.stack(
        "typo.toml",
        "[stack]\nname = \"s\"\nregoin = \"us-east-1\"\n",
    );
    let errors = schema_errors(&schema, &typo).expect("an unknown key fails the schema");
    assert!(errors.contains("regoin"), "{errors}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}
