"""`coope` as a person at a terminal: an isolated config dir, output checks, exit-code checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from coope.cli.main import app
from tests.helpers import PASSWORD
from tests.helpers import eventually as eventually  # kept importable from here for CLI tests

runner = CliRunner()


@dataclass
class Cli:
    """`coope` as one person: their own config dir (saved logins), talking to the test daemon."""

    server: str
    config_home: Path

    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        full_env: dict[str, str | None] = {
            "XDG_CONFIG_HOME": str(self.config_home),
            "COOPE_SERVER": None,
            "COOPE_TOKEN": None,
            "COOPE_PROFILE": None,
            "NO_COLOR": "1",
            **env,
        }
        return runner.invoke(app, list(args), input=input, env=full_env)

    @property
    def credentials_path(self) -> Path:
        return self.config_home / "coope" / "credentials.json"

    def credentials(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.credentials_path.read_text())
        return data

    def json(self, *args: str, input: str | None = None, **env: str | None) -> Any:
        """Run a command with `--json`; it must succeed with nothing on stderr."""
        result = self(*args, "--json", input=input, **env)
        assert_ok(result)
        return json.loads(result.stdout)

    def signup(self, username: str) -> dict[str, Any]:
        out: dict[str, Any] = self.json(
            "signup", username, "--password-stdin", "--server", self.server, input=PASSWORD + "\n"
        )
        return out


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stderr == ""


def assert_fails(result: Result, code: int, message: str) -> str:
    """The command failed the documented way: exit `code`, one `error:` line on stderr only."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    # A deliberate exit, not an exception that escaped the error handler.
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    return lines[0]


class CoopeProcess:
    """One `python -m coope ... --server URL --json` process as `cli`'s person. Its output goes
    to files (`out`, `err` in `workdir`), so a pipe nobody reads cannot stall it; `env` is
    applied after coope's own server, token and OpenAI variables are cleared; `launcher` is a
    command prefix (such as `AS_BACKGROUND_JOB`)."""

    def __init__(
        self,
        cli: Cli,
        workdir: Path,
        name: str,
        *args: str,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
    ) -> None:
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        full_env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
        for key in (
            "COOPE_SERVER",
            "COOPE_TOKEN",
            "COOPE_PROFILE",
            "COOPE_OPENAI_API_KEY",
            "COOPE_OPENAI_BASE_URL",
        ):
            full_env.pop(key, None)
        full_env.update(env or {})
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [*launcher, sys.executable, "-m", "coope", *args, "--server", cli.server, "--json"],
                stdout=out,
                stderr=err,
                env=full_env,
            )

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON lines so far."""
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def stderr(self) -> str:
        return self.err.read_text()

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
