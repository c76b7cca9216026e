"""`coope` as a person at a terminal: an isolated config dir, output checks, exit-code checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from coope.cli.main import app
from tests.helpers import PASSWORD

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
