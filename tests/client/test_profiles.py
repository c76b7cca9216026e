"""`Profiles`: which server and token a front end uses, from what a person named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coope.client import DEFAULT_SERVER
from coope.client.profiles import Login, Profiles
from coope.core.errors import InvalidInput, NotFound, Unauthenticated

HERE, THERE = "http://127.0.0.1:1111", "http://127.0.0.1:2222"


@pytest.fixture
def profiles(tmp_path: Path) -> Profiles:
    return Profiles(tmp_path / "coope" / "credentials.json")


def test_nothing_saved_means_the_embedded_daemon_and_no_token(profiles: Profiles) -> None:
    target = profiles.target(need_login=False)
    assert (target.server, target.token, target.login) == (DEFAULT_SERVER, None, None)
    with pytest.raises(Unauthenticated, match=f"not logged in to {DEFAULT_SERVER}"):
        profiles.target()
    assert not profiles.path.exists()


def test_precedence_explicit_then_profile_then_server_then_default(profiles: Profiles) -> None:
    profiles.save(Login(HERE, "ada", "t-ada"))
    profiles.save(Login(THERE, "bot", "t-bot", profile="bot"))
    assert profiles.target().token == "t-bot"  # the last login made
    assert profiles.target(server=HERE + "/").token == "t-ada"  # a server's own login
    assert profiles.target(profile="bot").server == THERE
    assert profiles.target(server=HERE, token="x").token == "x"
    chosen = profiles.target(profile="bot", token="x")
    assert (chosen.server, chosen.token, chosen.login) == (THERE, "x", None)
    # A profile's token goes to its own server only.
    assert profiles.target(profile="bot", server=HERE, need_login=False).token is None
    profiles.use("bot")
    profiles.save(Login(HERE, "ada", "t-ada2"))
    assert profiles.target().token == "t-ada2"  # a server login made later is the default


def test_a_server_named_without_a_login_of_its_own_takes_a_profile_there(
    profiles: Profiles,
) -> None:
    """`COOPE_SERVER=URL` after `coope signup ada --profile ada`: ada's profile, not
    "not logged in"."""
    profiles.save(Login(HERE, "bob", "t-bob", profile="bob"))
    profiles.save(Login(HERE, "ada", "t-ada", profile="ada"))
    assert profiles.target(server=HERE).token == "t-ada"  # the default profile
    profiles.save(Login(THERE, "cy", "t-cy", profile="cy"))
    assert profiles.target(server=THERE).token == "t-cy"  # the only one there
    with pytest.raises(Unauthenticated):  # two there and neither the default: say which
        profiles.target(server=HERE)


def test_forget_and_holding(profiles: Profiles) -> None:
    profiles.save(Login(HERE, "ada", "t-ada"))
    profiles.save(Login(HERE, "bot", "t-bot", profile="bot"))
    assert profiles.holding(HERE, "t-bot") == Login(HERE, "bot", "t-bot", "bot")
    assert profiles.holding(THERE, "t-bot") is None
    assert profiles.forget(profile="bot") is True
    assert profiles.forget(profile="bot") is False
    assert profiles.default() == Login(HERE, "ada", "t-ada")
    assert profiles.forget(server=HERE) is True
    assert profiles.logins() == []
    with pytest.raises(NotFound):
        profiles.use("bot")


def test_broken_files_are_explained_not_crashed_on(profiles: Profiles) -> None:
    profiles.path.parent.mkdir(parents=True)
    for text, message in [
        ("{not json", "is not valid JSON"),
        ("[]", "is not a coope credentials file"),
        ('{"servers": {}, "profiles": 3}', "broken 'profiles'"),
    ]:
        profiles.path.write_text(text)
        with pytest.raises(InvalidInput, match=message):
            profiles.target()
    # Entries of the wrong shape are passed over, not trusted.
    profiles.path.write_text(
        json.dumps(
            {
                "servers": {HERE: {"username": 1, "token": "t"}, THERE: "x"},
                "profiles": {"p": {"server": 5}, "q": []},
                "default_profile": "p",
            }
        )
    )
    assert profiles.logins() == []
    # A default profile that is not there: the last server login stands (none here).
    assert profiles.default() is None
    assert profiles.target(need_login=False).server == DEFAULT_SERVER
