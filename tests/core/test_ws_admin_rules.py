"""Workspace role rules: values in, values out; and the README's table says what the rules do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coope.core.models import Invite, WorkspaceRole
from coope.core.rules import (
    WORKSPACE_PERMISSIONS,
    WorkspaceAction,
    member_list_refusal,
    owner_change_refusal,
    workspace_allows,
    workspace_refusal,
    workspace_roles_table,
)
from coope.core.workspace_schemas import InviteOut, invite_refusal, invite_status

README = Path(__file__).resolve().parents[2] / "README.md"
OWNER, ADMIN, EDITOR, VIEWER = (
    WorkspaceRole.OWNER,
    WorkspaceRole.ADMIN,
    WorkspaceRole.EDITOR,
    WorkspaceRole.VIEWER,
)


def test_each_role_has_what_the_one_below_has() -> None:
    order = [VIEWER, EDITOR, ADMIN, OWNER]
    for action in WorkspaceAction:
        allowed = [workspace_allows(role, action) for role in order]
        assert allowed == sorted(allowed), action  # once allowed, allowed for every role above
    assert workspace_allows(ADMIN, WorkspaceAction.MANAGE_MEMBERS)
    assert workspace_allows(ADMIN, WorkspaceAction.INVITE)
    assert not workspace_allows(ADMIN, WorkspaceAction.DELETE)
    assert not workspace_allows(ADMIN, WorkspaceAction.TRANSFER)
    assert not workspace_allows(EDITOR, WorkspaceAction.INVITE)


@pytest.mark.parametrize(
    ("current", "new", "refused"),
    [
        (None, ADMIN, False),
        (VIEWER, ADMIN, False),
        (ADMIN, VIEWER, False),
        (OWNER, OWNER, False),
        (OWNER, ADMIN, True),
        (OWNER, VIEWER, True),
        (EDITOR, OWNER, True),
        (None, OWNER, True),
    ],
)
def test_no_role_change_makes_or_unmakes_an_owner(
    current: WorkspaceRole | None, new: WorkspaceRole, refused: bool
) -> None:
    assert (owner_change_refusal(current, new) is not None) is refused


def test_refusals_name_who_may() -> None:
    assert workspace_refusal(WorkspaceAction.DELETE) == (
        "only the workspace's owner can delete the workspace"
    )
    assert workspace_refusal(WorkspaceAction.INVITE) == (
        "only the workspace's owner and admins can create, list and revoke invites"
    )
    assert workspace_refusal(WorkspaceAction.EDIT) == (
        "only the workspace's owner, admins and editors can change pages"
    )


def test_a_refused_list_names_every_entry() -> None:
    error = member_list_refusal([(i, f"u{i}", "no user") for i in range(12)])
    assert error.details["problems"][11] == {"index": 11, "username": "u11", "message": "no user"}
    assert "entry 1 (u0): no user" in error.message
    assert error.message.endswith("and 2 more")


def test_the_help_table_has_a_row_per_action() -> None:
    lines = workspace_roles_table()
    assert lines[0].split() == ["viewer", "editor", "admin", "owner"]
    assert [line.split("  ")[0] for line in lines[1:]] == [a.value for a in WorkspaceAction]


def test_the_readme_table_is_the_rules() -> None:
    rows = re.findall(r"^\| ([a-z][^|]*?)\s*\|(.*)\|$", README.read_text(), re.MULTILINE)
    table = {action: [c.strip() == "x" for c in cells.split("|")] for action, cells in rows}
    for action in WorkspaceAction:
        expected = [
            action_role in WORKSPACE_PERMISSIONS[action]
            for action_role in (VIEWER, EDITOR, ADMIN, OWNER)
        ] + [True]  # a service admin acts as owner
        assert table[action.value] == expected, action


def _invite(*, revoked: bool = False, expires_at: float | None = None, uses: int = 0) -> Invite:
    return Invite(
        code="c0de",
        workspace_id=1,
        role=EDITOR,
        created_by=1,
        created_at=0,
        expires_at=expires_at,
        max_uses=2,
        uses=uses,
        revoked=revoked,
    )


@pytest.mark.parametrize(
    ("invite", "status", "refusal"),
    [
        (_invite(expires_at=101, uses=1), "active", None),
        (_invite(expires_at=100), "expired", "this invite has expired"),
        (_invite(uses=2), "used_up", "this invite has been used up"),
        (_invite(revoked=True), "revoked", "this invite was revoked"),
        # Several at once: the one a person can do least about is told.
        (_invite(revoked=True, expires_at=1, uses=2), "revoked", "this invite was revoked"),
        (_invite(expires_at=1, uses=2), "expired", "this invite has expired"),
    ],
)
def test_an_invite_says_whether_it_works_and_why_not(
    invite: Invite, status: str, refusal: str | None
) -> None:
    """One answer for the invite list, `coope ws join` and the invite page."""
    assert invite_status(invite, now=100) == status
    assert invite_refusal(invite, now=100) == refusal
    assert InviteOut.of(invite, 100).status == status
