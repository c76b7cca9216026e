"""Name keys (what uniqueness compares) and the names that read as ids."""

from __future__ import annotations

import pytest

from coope.core.errors import InvalidInput
from coope.core.names import first_free, name_key, reads_as_id, refuse_id_like


@pytest.mark.parametrize(
    "look_alike",
    [
        "team",
        "TEAM",
        "Team\u200b",  # zero-width space
        "\u200dTe\u200cam",  # zero-width joiner and non-joiner
        "Te\u00adam",  # soft hyphen
        "\u202eTeam",  # right-to-left override
        "\u2066Team\u2069",  # an isolate around it
        "Team\ufe0f",  # a variation selector
        "\ufeffTeam",  # a byte order mark
        "\uff34\uff45\uff41\uff4d",  # full-width letters
        " Team ",
    ],
)
def test_look_alikes_have_one_key(look_alike: str) -> None:
    assert name_key(look_alike) == name_key("Team") == "team"


def test_keys_fold_case_compose_and_collapse_white_space() -> None:
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Caf\u00e9") == name_key("Cafe\u0301") == "caf\u00e9"
    assert name_key("Caf\u200be\u0301") == "caf\u00e9", "an ignorable between letter and accent"
    assert name_key("Team \u200b plans") == name_key("team\u3000plans") == "team plans"
    assert name_key("\u01f0") == name_key("J\u030c"), "folding undoes a composition"
    assert name_key("Team 2") != name_key("Team 3")


def test_first_free_numbers_by_key() -> None:
    taken = {name_key("Team"), name_key("TEAM (2)")}
    assert first_free("team\u200b", taken.__contains__) == "team\u200b (3)"
    assert first_free("Other", taken.__contains__) == "Other"


@pytest.mark.parametrize("name", ["3", "#3", "##12", " 12 ", "#0"])
def test_names_that_read_as_ids(name: str) -> None:
    assert reads_as_id(name)
    with pytest.raises(InvalidInput, match="cannot read as an id"):
        refuse_id_like(name, "workspace")


@pytest.mark.parametrize("name", ["3a", "# 3", "2024 plans", "\u00b2", "\u0661\u0662", "#"])
def test_names_that_do_not(name: str) -> None:
    assert not reads_as_id(name)
    refuse_id_like(name, "workspace")
