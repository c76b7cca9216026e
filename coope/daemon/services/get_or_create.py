"""Create a named thing, or with `exist_ok` answer the one that has the name (scripts that may
run twice): one way for workspaces, group rooms and pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from coope.core.errors import Conflict, NotFound

T = TypeVar("T")
H = TypeVar("H")


async def create_or_existing(
    create: Callable[[], Awaitable[T]],
    holder: Callable[[], Awaitable[H | None]],
    seen_as: Callable[[H], Awaitable[T]],
    *,
    exist_ok: bool,
    named: str,
) -> tuple[T, bool]:
    """`(create(), True)`. When the name is taken (`create` raises `Conflict`) and `exist_ok`:
    `(seen_as(holder()), False)`, the holder as the caller may see it; `seen_as` raising
    `NotFound` (the caller may not see it) is a `Conflict` that says so. `named` is what the
    messages call the thing ("a workspace called 'Team'").
    """
    for _ in range(2):  # the holder of the name may be deleted or renamed between the steps
        try:
            return await create(), True
        except Conflict:
            if not exist_ok:
                raise
            found = await holder()
            if found is None:
                continue
            try:
                return await seen_as(found), False
            except NotFound:
                raise Conflict(
                    f"there is already {named}, and you are not in it (the name is unique on"
                    " the daemon)",
                    details={"field": "name"},
                ) from None
    raise Conflict(f"the name of {named} is changing hands: try again")
