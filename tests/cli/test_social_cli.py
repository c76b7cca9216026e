"""`coope friend`, `coope status` and `coope chat` against a real daemon subprocess."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.cli.clitools import Cli, assert_fails

People = tuple[Cli, Cli, Cli]


_trio = itertools.count()


@pytest.fixture
def people(make_cli: Callable[[], Cli]) -> People:
    """Three people with fresh accounts (the module shares one daemon); the first two are
    friends."""
    n = next(_trio)
    clis = tuple(make_cli() for _ in range(3))
    for cli, name in zip(clis, ("ann", "ben", "cat"), strict=True):
        cli.signup(f"{name}{n}")
    ann, ben, _ = clis
    ann.json("friend", "add", _name(ben))
    assert ben.json("friend", "add", _name(ann))["outcome"] == "friends"
    return clis  # type: ignore[return-value]


def _name(cli: Cli) -> str:
    return str(cli.credentials()["servers"][cli.server]["username"])


def test_friend_flow_and_presence_listing(people: People) -> None:
    ann, ben, cat = people
    friends = ann.json("friend", "list")
    assert [(f["user"]["username"], f["presence"]["state"]) for f in friends] == [
        (_name(ben), "offline")
    ]
    assert cat.json("friend", "add", _name(ann))["outcome"] == "requested"
    pending = ann.json("friend", "requests")
    assert [r["user"]["username"] for r in pending["incoming"]] == [_name(cat)]
    ann.json("friend", "decline", _name(cat))
    assert ann.json("friend", "requests") == {"incoming": [], "outgoing": []}
    ann.json("friend", "block", _name(cat))
    assert_fails(cat("friend", "add", _name(ann)), 4, "cannot send")
    assert [u["username"] for u in ann.json("friend", "blocked")] == [_name(cat)]
    human = ann("friend", "list")
    assert human.exit_code == 0 and _name(ben) in human.stdout and "offline" in human.stdout


def test_status_sets_away_and_text(people: People) -> None:
    ann, _, _ = people
    shown = ann.json("status", "away", "--text", "at lunch")
    assert (shown["state"], shown["text"]) == ("offline", "at lunch")  # no live connection
    assert ann.json("status")["text"] == "at lunch"
    assert ann("status", "sleeping").exit_code == 2


def test_direct_chat_send_tail_edit_react_search(people: People) -> None:
    ann, ben, cat = people
    sent = ann.json("chat", "send", f"@{_name(ben)}", "hello [ben] :wave:")
    assert sent["body"] == "hello [ben] :wave:"
    reply = ben.json(
        "chat", "send", f"@{_name(ann)}", "-", "--reply", str(sent["seq"]), input="from stdin\n"
    )
    assert (reply["body"], reply["reply_to"], reply["reply_to_seq"]) == (
        "from stdin",
        sent["id"],
        sent["seq"],
    )

    rooms = ann.json("chat", "rooms")
    assert [(r["kind"], r["name"], r["unread"]) for r in rooms] == [("dm", _name(ben), 1)]
    page = ann.json("chat", "tail", f"@{_name(ben)}")
    assert [m["body"] for m in page["messages"]] == ["hello [ben] :wave:", "from stdin"]
    assert ann.json("chat", "rooms")[0]["unread"] == 0  # tail marked it read

    human = ann("chat", "tail", f"@{_name(ben)}")
    assert "hello [ben] :wave:" in human.stdout  # markup and emoji codes shown as typed
    # Each message shows its number in the room (what edit, react and --after take), and a reply
    # the number of the message it answers.
    lines = human.stdout.splitlines()
    assert re.search(rf"\d\d:\d\d +{sent['seq']} {_name(ann)}: hello", lines[0]), lines
    assert re.search(rf" +{reply['seq']} {_name(ben)}: ↪ {sent['seq']} from stdin", lines[1])
    assert "#" not in human.stdout

    to_ben, to_ann = f"@{_name(ben)}", f"@{_name(ann)}"
    ann.json("chat", "edit", to_ben, str(sent["seq"]), "hello again")
    ben.json("chat", "react", to_ann, str(sent["seq"]), "👍")
    assert_fails(ben("chat", "edit", to_ann, str(sent["seq"]), "mine now"), 4, "your own messages")
    assert_fails(ben("chat", "react", to_ann, "999", "👍"), 5, f"{to_ann} has no message 999")
    found = ben.json("chat", "search", "again")
    assert [(m["id"], m["reactions"]) for m in found] == [(sent["id"], {"👍": [_name(ben)]})]
    assert cat.json("chat", "search", "again") == []
    ann.json("chat", "delete", to_ben, str(sent["seq"]))
    assert ben.json("chat", "search", "again") == []
    assert_fails(cat("chat", "send", f"@{_name(ann)}", "hi"), 4, "friends")
    assert_fails(
        ann("chat", "send", to_ben, "x", "--reply", "999"), 5, f"{to_ben} has no message 999"
    )
    assert_fails(ann("chat", "tail", f"@{_name(cat)}"), 5, "no direct room")


def test_group_rooms_by_name(people: People) -> None:
    ann, ben, cat = people
    room = ann.json("chat", "room", "create", "crew", "-m", _name(ben))
    assert sorted(m["username"] for m in room["members"]) == sorted([_name(ann), _name(ben)])
    ben.json("chat", "send", "#crew", "in the crew")
    assert_fails(cat("chat", "send", "#crew", "let me in"), 5, "no room called #crew")
    assert_fails(ben("chat", "room", "add", "#crew", _name(cat)), 4, "admin")
    # cat is not ann's friend: she is invited, and sees nothing of the room until she accepts.
    invited = ann.json("chat", "room", "add", "#crew", _name(cat))
    assert invited["invited"] == [_name(cat)] and len(invited["members"]) == 2
    assert_fails(cat("chat", "history", "#crew"), 5, "no room called #crew")
    assert [r["name"] for r in cat.json("chat", "rooms")] == []
    cat.json("chat", "accept", "#crew")
    assert [m["body"] for m in cat.json("chat", "history", "#crew")["messages"]] == ["in the crew"]
    ann.json("chat", "room", "rename", str(room["id"]), "team")
    assert_fails(ann("chat", "send", "#crew", "old name"), 5, "#crew")
    ann.json("chat", "room", "remove", "#team", _name(cat))
    assert_fails(cat("chat", "history", str(room["id"])), 5, "no room")
    ben.json("chat", "room", "leave", "#team")
    assert [r["name"] for r in ben.json("chat", "rooms") if r["kind"] == "group"] == []
    assert_fails(ann("chat", "send", "team", "no prefix"), 7, "@user, #room")


def test_room_invitations_listed_accepted_and_declined(people: People) -> None:
    ann, ben, cat = people
    human = ann("chat", "room", "create", "plans", "-m", _name(ben), "-m", _name(cat))
    assert human.exit_code == 0, human.stderr
    assert "invited, joining once they accept" in human.stderr and _name(cat) in human.stderr
    ann.json("chat", "room", "create", "later", "-m", _name(cat))

    mine = cat.json("chat", "invites")
    assert [(i["room_name"], i["invited_by"]["username"]) for i in mine["incoming"]] == [
        ("plans", _name(ann)),
        ("later", _name(ann)),
    ]
    outgoing = ann.json("chat", "invites")["outgoing"]
    assert [(i["room_name"], i["user"]["username"]) for i in outgoing] == [
        ("plans", _name(cat)),
        ("later", _name(cat)),
    ]
    listed = cat("chat", "invites")
    assert listed.exit_code == 0 and "plans" in listed.stdout
    assert "coope chat accept" in listed.stderr, "the hint is beside the list, not in it"

    joined = cat.json("chat", "accept", "#plans")
    assert sorted(m["username"] for m in joined["members"]) == sorted(map(_name, people))
    declined = cat("chat", "decline", "later")
    assert declined.exit_code == 0 and "declined #later" in declined.stderr
    assert cat.json("chat", "invites") == {"incoming": [], "outgoing": []}
    assert_fails(cat("chat", "accept", "#later"), 5, "no invitation")
    assert [r["name"] for r in cat.json("chat", "rooms")] == ["plans"]


def test_tail_follow_prints_live_messages(people: People) -> None:
    ann, ben, _ = people
    ann.json("chat", "send", f"@{_name(ben)}", "before")
    env = {**os.environ, "XDG_CONFIG_HOME": str(ben.config_home)}
    env.pop("COOPE_TOKEN", None)
    env.pop("COOPE_SERVER", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coope",
            "chat",
            "tail",
            f"@{_name(ann)}",
            "--follow",
            "--json",
            "--limit",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert (first["change"], first["message"]["body"]) == ("created", "before")
        sent = ann.json("chat", "send", f"@{_name(ben)}", "live one")
        live = json.loads(proc.stdout.readline())
        assert (live["change"], live["message"]["id"]) == ("created", sent["id"])
        ann.json("chat", "edit", f"@{_name(ben)}", str(sent["seq"]), "live one, edited")
        edited = json.loads(proc.stdout.readline())
        assert (edited["change"], edited["message"]["body"]) == ("updated", "live one, edited")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_old_message_id_forms_fail_loudly(people: People) -> None:
    """Scripts written when messages were named by id must stop, not touch another message."""
    ann, ben, _ = people
    sent = ann.json("chat", "send", f"@{_name(ben)}", "first")
    to_ben = f"@{_name(ben)}"
    gone = ann("chat", "send", to_ben, "answer", "--reply-to", str(sent["id"]))
    assert gone.exit_code == 2, gone.stderr
    assert "--reply N" in gone.stderr and "number in the room" in gone.stderr
    # `chat edit ID TEXT` was "message ID now says TEXT": `edit 12 7` must not edit message 7.
    old_edit = ann("chat", "edit", to_ben, str(sent["seq"]), input="would be read\n")
    assert old_edit.exit_code == 2, old_edit.stderr
    assert "give the new text" in old_edit.stderr
    assert ann.json("chat", "history", to_ben)["messages"][0]["body"] == "first"
    ann.json("chat", "edit", to_ben, str(sent["seq"]), "-", input="from stdin\n")
    assert ann.json("chat", "history", to_ben)["messages"][0]["body"] == "from stdin"
