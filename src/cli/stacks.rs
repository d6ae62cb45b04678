//! Which files are stacks, for the commands that take several files and directories
//! (`validate`, `drift`). A directory is walked with its subdirectories, hidden entries skipped
//! (`.git`, a `.taplo.toml`); a TOML file in it is a stack when it has a `[stack]` table and no
//! other file there `extends` it. A file named on the command line is a stack whatever it holds
//! (its errors are reported as any stack's).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::spec::LoadOptions;

/// The stacks found, and the TOML files passed over with why.
#[derive(Debug, Default)]
pub struct Found {
    pub stacks: Vec<PathBuf>,
    pub passed_over: Vec<(PathBuf, &'static str)>,
}

impl Found {
    /// What was passed over, for `-v`; and how many stacks were read, for every run.
    pub fn report(&self, verbose: bool) {
        if verbose {
            for (file, why) in &self.passed_over {
                eprintln!(
                    "skipped {}: {why}",
                    crate::escape::printable(&file.display().to_string())
                );
            }
        }
    }
}

/// The stacks named by `paths` (files and directories), in a stable order, each once.
pub fn find(paths: &[PathBuf], options: &LoadOptions) -> Result<Found> {
    let mut found = Found::default();
    for path in paths {
        if path.is_dir() {
            let mut walked = vec![];
            walk(path, &mut walked)?;
            walked.sort();
            let bases = bases_of(&walked, options);
            for file in walked {
                if bases.contains(&canonical(&file)) {
                    found.passed_over.push((file, "another stack extends it"));
                } else if holds_a_stack(&file, options) {
                    found.stacks.push(file);
                } else {
                    found.passed_over.push((file, "no [stack] table"));
                }
            }
        } else {
            found.stacks.push(path.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.stacks.retain(|file| seen.insert(canonical(file)));
    if found.stacks.is_empty() {
        bail!(
            "no stack found in {}: a stack is a .toml file with a [stack] table",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(found)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with('.'))
}

/// Every `.toml` under `dir`, hidden entries and symbolic links to directories skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the directory {}", dir.display()))?;
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn bases_of(files: &[PathBuf], options: &LoadOptions) -> Vec<PathBuf> {
    crate::spec::extends::extended_files(files, options)
        .iter()
        .map(|base| canonical(base))
        .collect()
}

/// Whether a file found in a directory is a stack: TOML with a `[stack]` table. A file that
/// cannot be read or parsed counts as one when it names `[stack]`, so a broken stack is
/// reported rather than passed over.
fn holds_a_stack(file: &Path, options: &LoadOptions) -> bool {
    let Ok(text) = crate::spec::source::read_confined_stack_file(file, options) else {
        return true;
    };
    match text.parse::<toml::Table>() {
        Ok(table) => table.get("stack").is_some_and(toml::Value::is_table),
        Err(_) => text.lines().any(|line| line.trim() == "[stack]"),
    }
}
