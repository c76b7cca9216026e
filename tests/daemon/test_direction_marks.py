"""Names people give are refused with a direction override or isolate in them: shown in a
terminal, one would reorder what follows (a name passing for another)."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput


@pytest.mark.parametrize("name", ["\u202eTeam", "Te\u2066am\u2069", "Team\u202a"])
async def test_workspace_and_room_names_hold_no_direction_mark(
    alice: CoopeClient, name: str
) -> None:
    with pytest.raises(InvalidInput, match="control characters"):
        await alice.workspaces.create(name)
    with pytest.raises(InvalidInput, match="control characters"):
        await alice.chat.create_room(name)
    assert await alice.workspaces.list() == []
