"""Runs one job of a CI template the way its CI service would, for tests/whole_truth.rs: the
template's own `run:`/`script:` text in bash, in order, with the service's files and variables.
What this runner cannot do for real it refuses, so a template step it does not understand fails
the test instead of being skipped.

GitHub Actions (a workflow file): `run:` steps in `bash --noprofile --norc -eo pipefail`, `env:`
of the workflow, job and step, `${{ }}` expressions of the forms the templates use, `if:` as
`A == 'x'` / `A != 'x'` joined by `&&`, `GITHUB_OUTPUT`/`GITHUB_PATH`/`GITHUB_STEP_SUMMARY`, job
`outputs:` (written for the jobs that `needs:` it), and these actions: checkout (the work
directory is the checkout), configure-aws-credentials (the test's environment carries the
credentials), upload-artifact/download-artifact (a directory shared between jobs).

GitLab CI (a .gitlab-ci.yml): `extends`, `variables`, `before_script` + `script` as one
`bash -eo pipefail` script, `rules` with `if:` as `$A == "x"` / `$A != "x"` / `$A == $B` joined by
`&&`, `artifacts: paths` and `reports: dotenv` (its variables reach the later jobs).

Usage: workflow_runner.py github|gitlab FILE JOB WORKDIR STATE_DIR CONTEXT_JSON
CONTEXT_JSON: {"event": ..., "ref": ..., "vars": {...}, "env": {...}} (GitHub) or
{"variables": {...}, "env": {...}} (GitLab). Prints "skipped" when the job's condition is
false; exits with the first failing step's code.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Unsupported(Exception):
    pass


def github_value(expr: str, ctx: dict, steps: dict, needs: dict) -> str:
    expr = expr.strip()
    if expr.startswith("'") and expr.endswith("'"):
        return expr[1:-1]
    parts = expr.split(".")
    if parts[0] == "vars":
        return ctx.get("vars", {}).get(parts[1], "")
    if parts[0] == "secrets":
        return ctx.get("secrets", {}).get(parts[1], "")
    if expr == "github.token":
        return "test-token"
    if expr == "github.event_name":
        return ctx["event"]
    if expr == "github.ref":
        return ctx["ref"]
    if expr == "github.event.number":
        return str(ctx.get("number", 1))
    if parts[0] == "steps" and parts[2] == "outputs":
        return steps.get(parts[1], {}).get(parts[3], "")
    if parts[0] == "needs" and parts[2] == "outputs":
        return needs.get(parts[1], {}).get(parts[3], "")
    raise Unsupported(f"expression {expr!r}")


def github_condition(text: str, ctx: dict, steps: dict, needs: dict) -> bool:
    text = EXPRESSION.sub(lambda m: m.group(1), str(text))
    for clause in text.split("&&"):
        match = re.fullmatch(r"\s*(.+?)\s*(==|!=)\s*(.+?)\s*", clause)
        if not match:
            raise Unsupported(f"condition {clause!r}")
        left = github_value(match.group(1), ctx, steps, needs)
        right = github_value(match.group(3), ctx, steps, needs)
        if (left == right) != (match.group(2) == "=="):
            return False
    return True


def substitute(text: str, ctx: dict, steps: dict, needs: dict) -> str:
    return EXPRESSION.sub(lambda m: github_value(m.group(1), ctx, steps, needs), str(text))


def read_pairs(path: str) -> dict:
    pairs = {}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                pairs[key] = value
    return pairs


def run_github(file, job_name, workdir, state, ctx):
    workflow = yaml.safe_load(open(file, encoding="utf-8"))
    job = workflow["jobs"][job_name]
    needs_names = job.get("needs", [])
    needs_names = [needs_names] if isinstance(needs_names, str) else needs_names
    needs = {}
    for name in needs_names:
        with open(os.path.join(state, f"{name}.outputs.json"), encoding="utf-8") as f:
            needs[name] = json.load(f)
    if "if" in job and not github_condition(job["if"], ctx, {}, needs):
        print("skipped")
        return 0
    temp = os.path.join(state, "runner-temp")
    os.makedirs(temp, exist_ok=True)
    artifacts = os.path.join(state, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    files = {name: os.path.join(state, f"{job_name}.{name}") for name in ("output", "path", "summary", "env")}
    for path in files.values():
        open(path, "w").close()
    steps = {}
    extra_path = []
    base_env = dict(os.environ)
    base_env.update(ctx.get("env", {}))
    for key, value in {**workflow.get("env", {}), **job.get("env", {})}.items():
        base_env[key] = substitute(value, ctx, steps, needs)
    base_env.update({
        "GITHUB_OUTPUT": files["output"], "GITHUB_PATH": files["path"],
        "GITHUB_STEP_SUMMARY": files["summary"], "GITHUB_ENV": files["env"],
        "RUNNER_TEMP": temp, "GITHUB_REPOSITORY": "owner/repo", "GITHUB_EVENT_NAME": ctx["event"],
        "GITHUB_REF": ctx["ref"], "GITHUB_REF_NAME": ctx["ref"].rsplit("/", 1)[-1], "CI": "true",
    })
    for index, step in enumerate(job["steps"]):
        if "if" in step and not github_condition(step["if"], ctx, steps, needs):
            continue
        uses = step.get("uses", "")
        with_ = step.get("with", {})
        if uses.startswith(("actions/checkout@", "aws-actions/configure-aws-credentials@")):
            continue
        if uses.startswith("actions/upload-artifact@"):
            target = os.path.join(artifacts, with_["name"])
            os.makedirs(target, exist_ok=True)
            for path in str(with_["path"]).split():
                shutil.copy(os.path.join(workdir, path), target)
            continue
        if uses.startswith("actions/download-artifact@"):
            source = os.path.join(artifacts, with_["name"])
            for name in os.listdir(source):
                shutil.copy(os.path.join(source, name), workdir)
            continue
        if uses or "run" not in step:
            raise Unsupported(f"step {index} of {job_name}: {step}")
        env = dict(base_env)
        env.update(read_pairs(files["env"]))
        for key, value in step.get("env", {}).items():
            env[key] = substitute(value, ctx, steps, needs)
        env["PATH"] = os.pathsep.join(extra_path + [env["PATH"]])
        script = substitute(step["run"], ctx, steps, needs)
        print(f"::step {step.get('name', script.splitlines()[0])}", flush=True)
        open(files["output"], "w").close()
        code = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                               cwd=workdir, env=env)
        if code != 0:
            return code
        if "id" in step:
            steps[step["id"]] = read_pairs(files["output"])
        extra_path = [line.strip() for line in open(files["path"], encoding="utf-8") if line.strip()][::-1] + extra_path
    outputs = {key: substitute(value, ctx, steps, needs) for key, value in job.get("outputs", {}).items()}
    with open(os.path.join(state, f"{job_name}.outputs.json"), "w", encoding="utf-8") as f:
        json.dump(outputs, f)
    return 0


def gitlab_condition(text: str, variables: dict) -> bool:
    def value(token: str) -> str:
        token = token.strip()
        if token.startswith("$"):
            return variables.get(token[1:], "")
        if token.startswith('"') and token.endswith('"'):
            return token[1:-1]
        raise Unsupported(f"rule operand {token!r}")
    for clause in text.split("&&"):
        match = re.fullmatch(r"\s*(.+?)\s*(==|!=)\s*(.+?)\s*", clause)
        if not match:
            raise Unsupported(f"rule {clause!r}")
        if (value(match.group(1)) == value(match.group(3))) != (match.group(2) == "=="):
            return False
    return True


def run_gitlab(file, job_name, workdir, state, ctx):
    pipeline = yaml.safe_load(open(file, encoding="utf-8"))
    job = dict(pipeline[job_name])
    parent = job.get("extends")
    if parent:
        job = {**pipeline[parent], **job}
    variables = {**pipeline.get("variables", {}), **job.get("variables", {}), **ctx.get("variables", {})}
    variables = {key: str(value) for key, value in variables.items()}
    rules = job.get("rules")
    if rules is not None and not any(gitlab_condition(rule["if"], variables) for rule in rules):
        print("skipped")
        return 0
    artifacts = os.path.join(state, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    for name in os.listdir(artifacts):
        shutil.copy(os.path.join(artifacts, name), workdir)
    env = dict(os.environ)
    env.update(ctx.get("env", {}))
    # Variables of an earlier job's dotenv report reach the jobs after it.
    env.update(read_pairs(os.path.join(state, "dotenv")))
    env.update(variables)
    env.update({"CI": "true", "CI_PROJECT_DIR": workdir})
    # GitLab runs before_script and script as one shell script, stopping at the first failure.
    lines = [str(line) for line in list(job.get("before_script", [])) + list(job["script"])]
    script = "\n".join(lines)
    print(f"::job {job_name}: {len(lines)} lines", flush=True)
    code = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=workdir, env=env)
    if code != 0:
        return code
    job_artifacts = job.get("artifacts", {})
    for path in job_artifacts.get("paths", []):
        shutil.copy(os.path.join(workdir, path), artifacts)
    dotenv = job_artifacts.get("reports", {}).get("dotenv")
    if dotenv:
        shutil.copy(os.path.join(workdir, dotenv), os.path.join(state, "dotenv"))
    return 0


def main():
    service, file, job, workdir, state, context = sys.argv[1:7]
    ctx = json.loads(context)
    try:
        runner = run_github if service == "github" else run_gitlab
        sys.exit(runner(file, job, workdir, state, ctx))
    except Unsupported as error:
        print(f"workflow_runner: unsupported: {error}", file=sys.stderr)
        sys.exit(99)


if __name__ == "__main__":
    main()
