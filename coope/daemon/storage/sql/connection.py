"""What the query layer (`storage/sql/`) needs of a database, whichever engine is behind it.

Transactions are plain functions `fn(conn, *args)`: a database runs each as one transaction on a
connection of its own and answers once it is committed (`write`) or read (`read`). The
connection is SQLite's own, or a thin PostgreSQL one that speaks the same `?` placeholders and
gives rows read by position or by column name, so every query is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# A result row: `row[0]` or `row["column"]`.
Row = Any


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class Database(Protocol):
    async def start(self) -> None: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a transaction; return once it is durable."""
        ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a read-only transaction (one consistent snapshot)."""
        ...

    async def check(self) -> None:
        """Return once the database answers, whatever else waits on it; raise `Unavailable` if
        it cannot be reached."""
        ...

    async def aclose(self) -> None: ...
