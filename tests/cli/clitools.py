"""`coope` as a person at a terminal: an isolated config dir, output checks, exit-code checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import typer
from typer.main import get_command
from typer.testing import CliRunner, Result

from coope.cli.main import app
from coope.cli.runtime import plain_help
from tests.helpers import PASSWORD, PATIENCE_S
from tests.helpers import eventually as eventually  # kept importable from here for CLI tests

runner = CliRunner()


def every_command() -> Any:
    """`coope`'s root command with every command under it loaded (the root loads each when it
    is first asked for) and its help made plain, as `coope --help` has it."""
    root: Any = get_command(app)
    ctx = typer.Context(root)
    for name in root.list_commands(ctx):
        root.get_command(ctx, name)
    plain_help(root, ctx)
    return root


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
    command prefix (such as `AS_BACKGROUND_JOB`); `json=False` leaves out `--json`, for what a
    person reads (`text()`)."""

    def __init__(
        self,
        cli: Cli,
        workdir: Path,
        name: str,
        *args: str,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
        json: bool = True,
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
                [
                    *launcher,
                    *(sys.executable, "-m", "coope", *args, "--server", cli.server),
                    *(["--json"] if json else []),
                ],
                stdout=out,
                stderr=err,
                env=full_env,
            )

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON lines so far."""
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def text(self) -> str:
        """Its output so far, as written."""
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class Terminal:
    """`python -m coope ARGS` on a pseudo-terminal, as a person at a keyboard runs it. A context
    manager: on leaving, the process is killed if it still runs and waited for, whatever
    happened (a failed `wait_for` leaves no process behind)."""

    def __init__(self, cli: Cli, *args: str) -> None:
        import pty

        self.fd, child = pty.openpty()
        env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
        for name in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE"):
            env.pop(name, None)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coope", *args],
                stdin=child,
                stdout=child,
                stderr=child,
                env=env,
                preexec_fn=_own_terminal,  # the prompt reads /dev/tty: it must be this one
            )
        except BaseException:
            os.close(self.fd)
            raise
        finally:
            os.close(child)
        self.seen = b""

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.fd)

    def wait_for(self, text: str) -> None:
        """Read what the terminal shows until `text` appears."""
        import select
        import time

        deadline = time.monotonic() + PATIENCE_S
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, self.seen
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                self.seen += os.read(self.fd, 1024)
            except OSError:  # the other side closed: everything shown has been read
                break
        assert text.encode() in self.seen, self.seen

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self) -> int:
        """Its exit code, once it has ended by itself."""
        return self.proc.wait(PATIENCE_S)


def _own_terminal() -> None:
    """In the child: a session of its own, with the pseudo-terminal as its controlling one."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
