"""The `coope` command line: Typer + Rich, `--json` everywhere, one error handler."""
