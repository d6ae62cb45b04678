//! Issue 20: plan and drift tell the whole truth, and no command loses a file. Each test runs
//! the binary against the doubles as a user would.

mod common;

use common::{path_str, Emulator};

fn function_stack(timeout: i64) -> String {
    format!(
        "[stack]\nname = \"app\"\n\n[[lambda.functions]]\nname = \"app-fn\"\ntimeout_seconds = {timeout}\nmemory_mib = 256\n"
    )
}

/// `plan --out stack.toml` (the hint that used to be printed) refuses to replace the stack
/// file; an earlier plan is written over; `apply STACK.toml` plans the stack as `-f` does.
#[test]
fn no_command_loses_the_stack_file() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let text = function_stack(30);
    let stack = emulator.stack("stack.toml", &text);
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file, "--out", file])
        .expect_code(1)
        .expect_stderr("exists and is not a pipectl plan");
    assert_eq!(std::fs::read_to_string(&stack).expect("stack"), text);
    // Nothing was read: the refusal comes before the plan.
    let plan = emulator.dir().join("plan.json");
    let plan_path = path_str(&plan);
    emulator
        .pipectl(&["plan", "-f", file, "--out", plan_path])
        .expect_code(0);
    emulator
        .pipectl(&["plan", "-f", file, "--out", plan_path])
        .expect_code(0)
        .expect_stderr("Saved the plan to");
    // A stack file where a saved plan goes is the stack file.
    let applied = emulator.pipectl(&["apply", file, "--auto-approve"]);
    applied.expect_code(0).expect_stdout("Apply complete");
    assert!(
        !applied.stderr.contains("--out stack.toml"),
        "{}",
        applied.stderr
    );
    // A file that is no plan gets a hint that names no command writing over it.
    let notes = emulator.stack("notes.json", "not json");
    let refused = emulator.pipectl(&["apply", path_str(&notes)]);
    refused
        .expect_code(1)
        .expect_stderr("is not JSON, so not a saved plan");
    assert!(
        !refused.stderr.contains("--out notes.json"),
        "{}",
        refused.stderr
    );
}

/// An `[[ignore]]` rule with a typo protects nothing: it is a plan error with a "did you mean",
/// and nothing is applied. A `--target` typo gets one too.
#[test]
fn rules_and_targets_that_match_nothing_are_errors_with_a_suggestion() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack(
        "typo.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.app-fm\"\nfields = [\"timeout_seconds\"]\n",
            function_stack(30)
        ),
    );
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file])
        .expect_code(1)
        .expect_stderr("ignore[0].resource: [[ignore]] resource \"lambda.function.app-fm\" matches no resource of stack app")
        .expect_stderr("did you mean \"lambda.function.app-fn\"?")
        .expect_stderr("nothing was changed");
    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve"])
        .expect_code(1);
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    // A rule that matches (a prefix) is fine.
    let good = emulator.stack(
        "good.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.*\"\nfields = [\"timeout_seconds\"]\n",
            function_stack(30)
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&good)])
        .expect_code(0);
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&good),
            "--target",
            "lambda.function.app-fm",
        ])
        .expect_code(1)
        .expect_stderr("did you mean \"lambda.function.app-fn\"?");
}
