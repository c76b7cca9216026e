"""Argument and option types that more than one command group takes."""

from __future__ import annotations

from typing import Annotated

import typer

RoomArg = Annotated[str, typer.Argument(metavar="ROOM", help="@user, #room or a room id.")]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
WsArg = Annotated[str, typer.Argument(metavar="WS", help="A workspace id or name.")]
PageArg = Annotated[
    str, typer.Argument(metavar="PAGE", help="A page id, or a title path like WS/Parent/Child.")
]
UserArg = Annotated[str, typer.Argument(metavar="USER", help="A username (with or without @).")]
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
