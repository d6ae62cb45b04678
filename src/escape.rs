//! Values from stack files and live objects are data, wherever they are printed. A value must
//! never add a line, move the cursor, run a GitHub Actions workflow command (`::add-mask::`,
//! `::stop-commands::`, `##[warning]`), or close a Markdown fence or an HTML tag in a pull-request
//! comment. Every renderer passes values through one of these functions.

use std::borrow::Cow;

/// A value on one line with nothing a terminal or a CI log would act on: line breaks, tabs and
/// other control characters (ANSI escapes start with one), and the bidirectional-text controls
/// that reorder what is shown, become visible escapes (`\n`, `\u{1b}`); the starts of GitHub's
/// workflow commands are broken up (`::` opening a value, `##[` anywhere).
pub fn printable(value: &str) -> Cow<'_, str> {
    let needs = value.chars().any(needs_escape)
        || value.trim_start().starts_with("::")
        || value.contains("##[");
    if !needs {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    let out = out.replace("##[", "#\\x23[");
    Cow::Owned(match out.trim_start().strip_prefix("::") {
        Some(rest) => format!("\\x3a:{rest}"),
        None => out,
    })
}

/// Text of several lines that pipectl composed around values (an error and its causes): each
/// line made printable, so no line a value brought runs a workflow command or moves the cursor.
pub fn log_text(text: &str) -> String {
    text.split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A value as Markdown text: printable, with Markdown's punctuation backslash-escaped and HTML's
/// `<`, `>` and `&` as entities, so it can open no emphasis, link, tag or comment.
pub fn markdown_text(value: &str) -> String {
    let mut out = String::new();
    for c in printable(value).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // What can open emphasis, code, a link, strikethrough or a table cell mid-line (a
            // value never starts a line: `#`, `-`, `1.` need no escape).
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A value as a Markdown code span: printable, delimited by more backticks than any run inside
/// it, so the value cannot close it. Table cells also need `|` escaped, which a code span keeps.
pub fn markdown_code(value: &str) -> String {
    let value = printable(value).replace('|', "\\|");
    let ticks = "`".repeat(longest_backtick_run(&value) + 1);
    // CommonMark strips one space at both ends when both are there: pad when a backtick or a
    // space would touch the delimiters.
    let padded = value.starts_with(['`', ' ']) || value.ends_with(['`', ' ']);
    if padded {
        format!("{ticks} {value} {ticks}")
    } else {
        format!("{ticks}{value}{ticks}")
    }
}

/// A value inside HTML (`<summary>`, `<code>`): printable, with `&`, `<`, `>` and quotes as
/// entities.
pub fn html(value: &str) -> String {
    let mut out = String::new();
    for c in printable(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block around `lines` (each made printable, so none adds a line), with a fence
/// longer than any run of backticks in them (at least three).
pub fn fenced(info: &str, lines: &[String]) -> String {
    let lines: Vec<String> = lines.iter().map(|l| printable(l).into_owned()).collect();
    let longest = lines
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("{fence}{info}\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_adds_no_line_and_runs_no_workflow_command() {
        assert_eq!(printable("plain value 1.5"), "plain value 1.5");
        let shown = printable("a\n::add-mask::x\r\u{1b}[2J\u{202e}");
        assert!(!shown.contains('\n') && !shown.contains('\r') && !shown.contains('\u{1b}'));
        assert!(!shown.contains('\u{202e}'));
        assert_eq!(printable("::stop-commands::t"), "\\x3a:stop-commands::t");
        assert!(!printable("x ##[warning]y").contains("##["));
    }

    #[test]
    fn markdown_values_cannot_close_a_fence_or_open_a_comment() {
        let hostile = "x\n```\n**No changes.**\n<!--";
        let block = fenced("diff", &[format!("+ expr: {hostile}")]);
        assert_eq!(block.lines().count(), 3, "{block}");
        assert!(block.starts_with("````diff\n"), "{block}");
        assert!(block.ends_with("\n````\n"), "{block}");
        assert!(!markdown_text(hostile).contains("<!--"));
        assert!(!markdown_text(hostile).contains("**"));
        assert!(!html(hostile).contains('<'));
        let code = markdown_code("a`b``c");
        assert_eq!(code, "```a`b``c```");
        assert_eq!(markdown_code("|x|"), "`\\|x\\|`");
    }
}
