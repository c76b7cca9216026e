"""How the TUI is started: `coope tui` hands over to `python -m coope.tui`, and the CLI never
loads Textual for anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COOPE = Path(sys.executable).parent / "coope"


def run(args: list[str], config_home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "XDG_CONFIG_HOME": str(config_home), **env}
    for name in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(args, capture_output=True, text=True, env=environment, timeout=30)


def test_the_cli_lists_tui_without_loading_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from coope.cli.main import app\n"
        "import typer\n"
        "from typer.main import get_command\n"
        "root = get_command(app)\n"
        "assert root.get_command(typer.Context(root), 'tui') is not None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'coope')))\n"
    )
    proc = run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "textual" not in proc.stdout and "coope.tui" not in proc.stdout
    assert "tui" in run([str(COOPE), "--help"], tmp_path).stdout


def test_coope_tui_passes_its_options_to_the_tui(tmp_path: Path) -> None:
    # A broken credentials file is reported by the TUI's own start (the process `coope tui`
    # became), before any screen is drawn: the options and the environment reached it.
    config = tmp_path / "config"
    (config / "coope").mkdir(parents=True)
    (config / "coope" / "credentials.json").write_text("{not json")
    proc = run([str(COOPE), "tui", "--server", "http://127.0.0.1:9"], config)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr

    proc = run([str(COOPE), "tui"], config, COOPE_PROFILE="work")
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
