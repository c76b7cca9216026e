"""Argument and option types that more than one command group takes.

The names of rooms, friends, workspaces and pages complete in the shell (`coope completion`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from coope.cli import complete

RoomArg = Annotated[
    str,
    typer.Argument(
        metavar="ROOM", help="@user, #room or a room id.", autocompletion=complete.rooms
    ),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
WsArg = Annotated[
    str,
    typer.Argument(
        metavar="WS", help="A workspace id or name.", autocompletion=complete.workspaces
    ),
]
PageArg = Annotated[
    str,
    typer.Argument(
        metavar="PAGE",
        help="A page id, or a title path like WS/Parent/Child.",
        autocompletion=complete.pages,
    ),
]
UserArg = Annotated[
    str,
    typer.Argument(
        metavar="USER", help="A username (with or without @).", autocompletion=complete.friends
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ExistOkOpt = Annotated[
    bool,
    typer.Option(
        "--exist-ok",
        help="If the name is taken by one you can see, show that one as it is (nothing else"
        ' given is applied to it) and exit 0 (JSON: "created": false) instead of failing with'
        " exit 6.",
    ),
]
