"""`coope tui`: the terminal home for a person (Textual). It stands on `coope.client` like every
other front end: never the daemon, never the CLI (import-linter holds both lines)."""
