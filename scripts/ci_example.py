"""Runs the manual's GitHub Actions step (docs/ci.md) as a runner would and checks that the gate works.

The step is read from the ```yaml block of docs/ci.md and parsed as YAML; `${{ vars.* }}` and
`${{ secrets.* }}` are filled in for the local server that scripts/local-server.sh started
(PGTLS_PORT, reached through PGPORT as a job-level variable would); `run` goes to
`bash --noprofile --norc -eo pipefail`, as GitHub runs it, in a workspace whose `tools/pgtls` is
this checkout, with `cargo install` writing to a temporary root.

The local server's CA is not one of Azure's, so the gate must close: the step fails with pgtls's
exit code 6, and pgtls.xml is a JUnit report with one failed test case naming the reason. The
password must appear nowhere.
"""

import os
import pathlib
import re
import secrets
import subprocess
import sys
import tempfile

import junitparser
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def step_from_manual():
    page = (ROOT / "docs" / "ci.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block, "docs/ci.md has no yaml block"
    steps = yaml.safe_load(block.group(1))
    assert isinstance(steps, list) and len(steps) == 1, steps
    step = steps[0]
    assert set(step) == {"name", "run", "env"}, sorted(step)
    return step


def fill(text, values):
    def value(match):
        key = match.group(1)
        assert key in values, f"no value for ${{{{ {key} }}}}"
        return values[key]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, text)


def main():
    step = step_from_manual()
    password = "pw-" + secrets.token_hex(8)
    values = {
        "vars.PGHOST": "localhost",
        "vars.PGUSER": "postgres",
        "vars.PGDATABASE": "postgres",
        "secrets.PGPASSWORD": password,
    }
    with tempfile.TemporaryDirectory(prefix="pgtls-workspace-") as workspace:
        workspace = pathlib.Path(workspace)
        (workspace / "tools").mkdir()
        (workspace / "tools" / "pgtls").symlink_to(ROOT)
        install_root = workspace / ".cargo-install"
        env = dict(os.environ)
        env.update({key: fill(str(value), values) for key, value in step["env"].items()})
        env.update(
            {
                "PGPORT": os.environ["PGTLS_PORT"],
                "CARGO_INSTALL_ROOT": str(install_root),
                "CARGO_TARGET_DIR": str(ROOT / "target"),
                "PATH": f"{install_root / 'bin'}:{os.environ['PATH']}",
                "HOME": str(workspace),
                "CARGO_HOME": os.environ.get("CARGO_HOME", str(pathlib.Path.home() / ".cargo")),
                "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(pathlib.Path.home() / ".rustup")),
            }
        )
        script = workspace / "step.sh"
        script.write_text(fill(step["run"], values))
        print(f"running the step {step['name']!r}", flush=True)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 6, f"exit code {done.returncode}, not 6:\n{output}"
        report = (workspace / "pgtls.xml").read_text()
        assert password not in output and password not in report, "the password leaked"
        assert (workspace / "root.crt").read_text().count("BEGIN CERTIFICATE") == 4
        cases = [case for suite in junitparser.JUnitXml.fromstring(report) for case in suite]
        assert len(cases) == 1, report
        results = cases[0].result
        assert len(results) == 1 and isinstance(results[0], junitparser.Failure), report
        assert "unable to get local issuer certificate" in results[0].message, report
    print("the step closes the gate: exit code 6, one failed JUnit test case, no password shown")


if __name__ == "__main__":
    sys.exit(main())
