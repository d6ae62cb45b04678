//! Reading files that come from other people: stack files (and their `extends` bases) and saved
//! plans arrive in pull requests, so pipectl reads them the way it would read any untrusted
//! input. Only regular files are opened (a FIFO would hang, `/dev/zero` would never end), at
//! most `MAX_INPUT_BYTES` of them, and a stack file must end in `.toml`; an `extends` base must
//! lie inside the directory tree of the file that names it, or in a directory the user allowed,
//! after symlinks are resolved. Errors name the file and say why, and never quote its content:
//! a file that is not a stack file (a credentials file, `/proc/self/environ`) must not end up
//! in a CI log.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Far above any real stack file or plan document (the seed stack is 3 KiB, a 335-resource
/// plan about 1 MiB).
pub const MAX_INPUT_BYTES: u64 = 10 * 1024 * 1024;

/// Where stack files may be read from besides the working tree, and `extends` may reach beyond
/// the extending file's own directory tree.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directories (and their subdirectories) stack files and `extends` bases may be in.
    pub allowed_dirs: Vec<PathBuf>,
    /// What the kinds allow in `[[ignore]]` rules and check in their sections (given by the
    /// engine's registry: the file format knows no kind).
    pub rules: super::validate::KindRules,
}

/// Why a file was not read; the message names the file and never its content.
#[derive(Debug, Clone)]
pub struct RefusedFile {
    pub message: String,
    pub help: String,
}

/// Reads a file of at most `MAX_INPUT_BYTES` that must be a regular file (after symlinks) and
/// UTF-8 text. `what` names it in messages ("stack file", "plan file").
pub fn read_bounded(path: &Path, what: &str) -> Result<String, RefusedFile> {
    let refuse = |message: String, help: &str| RefusedFile {
        message,
        help: help.to_string(),
    };
    let metadata = std::fs::metadata(path).map_err(|err| {
        refuse(
            format!("cannot read the {what} {}: {err}", path.display()),
            "check the path",
        )
    })?;
    if !metadata.is_file() {
        return Err(refuse(
            format!(
                "{} is not a regular file (a directory, device, FIFO or socket); pipectl reads {what}s only from regular files",
                path.display()
            ),
            "give the path of the file itself",
        ));
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large(path, what));
    }
    let file = std::fs::File::open(path).map_err(|err| {
        refuse(
            format!("cannot read the {what} {}: {err}", path.display()),
            "check the file's permissions",
        )
    })?;
    // The size may change between the check and the read: never read more than the cap.
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| {
            refuse(
                format!("cannot read the {what} {}: {err}", path.display()),
                "check the file",
            )
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(path, what));
    }
    String::from_utf8(bytes).map_err(|_| {
        refuse(
            format!(
                "{} is not UTF-8 text, so it is not a {what}",
                path.display()
            ),
            "give the path of a file pipectl wrote or a TOML stack file",
        )
    })
}

fn too_large(path: &Path, what: &str) -> RefusedFile {
    RefusedFile {
        message: format!(
            "{} is larger than {} MiB, far more than any {what}",
            path.display(),
            MAX_INPUT_BYTES / (1024 * 1024)
        ),
        help: "give the path of the right file".to_string(),
    }
}

/// How a stack read from standard input (`-f -`) is named in messages and saved plans.
pub const STDIN_NAME: &str = "<stdin>";

/// Whether a stack-file argument means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a stack-file argument is named in messages.
pub fn display_name(path: &Path) -> String {
    if is_stdin(path) {
        STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

/// The stack file given as `-`: standard input, bounded like a file.
pub fn read_stdin() -> Result<String, RefusedFile> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| RefusedFile {
            message: format!("cannot read the stack from standard input: {err}"),
            help: "pipe the stack file in, or give its path".to_string(),
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(Path::new(STDIN_NAME), "stack file"));
    }
    String::from_utf8(bytes).map_err(|_| RefusedFile {
        message: "standard input is not UTF-8 text, so it is not a stack file".to_string(),
        help: "pipe the stack file in, or give its path".to_string(),
    })
}

/// A stack file: a regular `.toml` file, bounded.
pub fn read_stack_file(path: &Path) -> Result<String, RefusedFile> {
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        return Err(RefusedFile {
            message: format!(
                "{} does not end in .toml; pipectl reads only .toml files as stack files",
                path.display()
            ),
            help: "name the stack file STACK.toml".to_string(),
        });
    }
    read_bounded(path, "stack file")
}

/// The working tree: the git work tree around the current directory (the CI job's checkout), or
/// the current directory outside one.
fn working_tree() -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?.canonicalize().ok()?;
    let tree = here.ancestors().find(|dir| dir.join(".git").exists());
    Some(tree.unwrap_or(&here).to_path_buf())
}

/// A stack file named on the command line or found in a directory: like `extends`, it must
/// resolve (symlinks followed) inside the working tree or an allowed directory, and the resolved
/// name must end in `.toml`. A symlink `stack.toml -> /etc/passwd` in a pull request is refused
/// before anything is read, so nothing of the runner's files reaches a CI log.
pub fn read_confined_stack_file(path: &Path, options: &LoadOptions) -> Result<String, RefusedFile> {
    let resolved = path.canonicalize().map_err(|err| RefusedFile {
        message: format!("cannot read the stack file {}: {err}", path.display()),
        help: "check the path".to_string(),
    })?;
    let roots: Vec<PathBuf> = working_tree()
        .into_iter()
        .chain(
            options
                .allowed_dirs
                .iter()
                .filter_map(|d| d.canonicalize().ok()),
        )
        .collect();
    if !roots.iter().any(|root| resolved.starts_with(root)) {
        return Err(RefusedFile {
            message: format!(
                "the stack file {} resolves to {}, outside the working tree ({})",
                path.display(),
                resolved.display(),
                roots
                    .first()
                    .map(|r| r.display().to_string())
                    .unwrap_or_else(|| "unknown".into())
            ),
            help: "run pipectl from the checkout that holds the stack files, or allow their directory with --allow-files-from DIR".to_string(),
        });
    }
    read_stack_file(&resolved).map_err(|refused| RefusedFile {
        message: refused
            .message
            .replace(&resolved.display().to_string(), &path.display().to_string()),
        ..refused
    })
}

/// Checks that `base`, named by `extends` in `file`, stays inside `file`'s directory tree or
/// an allowed directory, with symlinks resolved. Returns the resolved path.
pub fn check_extends_target(
    file: &Path,
    base: &Path,
    options: &LoadOptions,
) -> Result<PathBuf, RefusedFile> {
    let resolved = base.canonicalize().map_err(|err| RefusedFile {
        message: format!("cannot read the base stack {}: {err}", base.display()),
        help: "extends takes a path relative to this file".to_string(),
    })?;
    let home = file
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .canonicalize()
        .map_err(|err| RefusedFile {
            message: format!("cannot resolve the directory of {}: {err}", file.display()),
            help: "check the path".to_string(),
        })?;
    let allowed = std::iter::once(home.clone()).chain(
        options
            .allowed_dirs
            .iter()
            .filter_map(|d| d.canonicalize().ok()),
    );
    for dir in allowed {
        if resolved.starts_with(&dir) {
            return Ok(resolved);
        }
    }
    Err(RefusedFile {
        message: format!(
            "extends names {}, which resolves to {}, outside {} (the directory of the file that names it)",
            base.display(),
            resolved.display(),
            home.display()
        ),
        help: "keep base stacks beside or below the files that extend them, or allow their directory with --allow-extends-from DIR".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_toml_files_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stack = dir.path().join("a.toml");
        std::fs::write(&stack, "[stack]\nname = \"a\"\n").expect("write");
        assert!(read_stack_file(&stack).is_ok());
        let not_toml = dir.path().join("credentials");
        std::fs::write(&not_toml, "aws_secret_access_key = SECRET").expect("write");
        let refused = read_stack_file(&not_toml).expect_err("not .toml");
        assert!(!refused.message.contains("SECRET"));
        assert!(read_stack_file(dir.path()).is_err(), "a directory");
        assert!(read_bounded(Path::new("/dev/zero"), "plan file").is_err());
        let big = dir.path().join("big.toml");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_INPUT_BYTES + 1).expect("grow");
        assert!(read_stack_file(&big)
            .expect_err("too large")
            .message
            .contains("larger than 10 MiB"));
    }

    #[test]
    fn a_stack_file_outside_the_working_tree_is_refused_unless_allowed() {
        // The test runs in the repository: its work tree is the working tree.
        let dir = tempfile::tempdir().expect("temp dir");
        let outside = dir.path().join("secret.toml");
        std::fs::write(&outside, "password = \"SECRET\"").expect("write");
        let refused = read_confined_stack_file(&outside, &LoadOptions::default())
            .expect_err("outside the working tree");
        assert!(
            refused.message.contains("outside the working tree"),
            "{}",
            refused.message
        );
        assert!(!refused.message.contains("SECRET"));
        let allowed = LoadOptions {
            allowed_dirs: vec![dir.path().to_path_buf()],
            ..LoadOptions::default()
        };
        assert!(read_confined_stack_file(&outside, &allowed).is_ok());
        // A .toml symlink to a file without .toml is judged by its target's name.
        #[cfg(unix)]
        {
            let target = dir.path().join("passwd");
            std::fs::write(&target, "root:x:0:0:root:/root:/bin/bash").expect("write");
            let link = dir.path().join("stack.toml");
            std::os::unix::fs::symlink(&target, &link).expect("symlink");
            let refused = read_confined_stack_file(&link, &allowed).expect_err("not .toml");
            assert!(
                refused.message.contains("does not end in .toml"),
                "{}",
                refused.message
            );
            assert!(!refused.message.contains("root:x"));
        }
    }

    #[test]
    fn extends_stays_in_the_tree_unless_allowed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let envs = dir.path().join("envs");
        std::fs::create_dir(&envs).expect("mkdir");
        std::fs::write(dir.path().join("shared.toml"), "").expect("write");
        std::fs::write(envs.join("base.toml"), "").expect("write");
        let file = envs.join("dev.toml");
        assert!(
            check_extends_target(&file, &envs.join("base.toml"), &LoadOptions::default()).is_ok()
        );
        let outside = envs.join("../shared.toml");
        assert!(check_extends_target(&file, &outside, &LoadOptions::default()).is_err());
        let allowed = LoadOptions {
            allowed_dirs: vec![dir.path().to_path_buf()],
            ..LoadOptions::default()
        };
        assert!(check_extends_target(&file, &outside, &allowed).is_ok());
        // A symlink inside the tree that points outside it is judged by where it points.
        #[cfg(unix)]
        {
            let link = envs.join("link.toml");
            std::os::unix::fs::symlink(dir.path().join("shared.toml"), &link).expect("symlink");
            assert!(check_extends_target(&file, &link, &LoadOptions::default()).is_err());
        }
    }
}
