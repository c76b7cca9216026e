"""`python -m coope.tui [--server URL] [--token T] [--profile NAME] [--input WAV] [--output WAV]
[--device D]`: start the TUI.

The options (else COOPE_SERVER, COOPE_TOKEN, COOPE_PROFILE) pick the login as the CLI's do: a
profile named on the command line beats a server or token left in the environment. With no
saved login for them, the TUI starts at its sign-in screen (and saves the login it makes under
the profile named, if one was). The audio options are those of `coope call join`: calls
joined from the TUI send the --input file and write what is heard into the --output file
instead of using the microphone and speaker, or use the --device named.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coope.client.profiles import PROFILE_ENV, Profiles
from coope.core.errors import CoopeError, NotFound
from coope.media.choice import AudioChoice, parse_device


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coope tui", description="The coope terminal UI.")
    parser.add_argument("--server", help="Daemon URL [env: COOPE_SERVER]")
    parser.add_argument("--token", help="Session or API token [env: COOPE_TOKEN]")
    parser.add_argument("--profile", help=f"Use this saved login [env: {PROFILE_ENV}]")
    calls = parser.add_argument_group("calls (audio)")
    calls.add_argument("--input", type=Path, help="Send this WAV file instead of the microphone")
    calls.add_argument(
        "--output", type=Path, help="Write what is heard into this WAV file instead of playing it"
    )
    calls.add_argument(
        "--device", help="The sound device (number or part of its name) for the side not a file"
    )
    args = parser.parse_args(argv)
    if args.profile is None:
        args.profile = os.environ.get(PROFILE_ENV) or None
        args.server = args.server or os.environ.get("COOPE_SERVER") or None
        args.token = args.token or os.environ.get("COOPE_TOKEN") or None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    profiles = Profiles()
    try:
        try:
            target = profiles.target(args.server, args.token, args.profile, need_login=False)
        except NotFound:
            # A profile not saved yet: sign in, and the login is saved under its name.
            target = profiles.target(args.server, None, need_login=False)
    except CoopeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if args.input is not None and not args.input.is_file():
        print(f"error: no WAV file at {args.input}", file=sys.stderr)
        return 2
    from coope.tui.app import CoopeApp  # Textual is loaded once the options are good

    audio = AudioChoice(args.input, args.output, parse_device(args.device))
    app = CoopeApp(target.server, target.token, args.profile, profiles=profiles, call_audio=audio)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
