"""What of a Yjs update a document could not integrate yet.

A Yjs update may build on changes the receiver has not seen: an item placed after an item it
lacks, a deletion of an item it lacks. The receiver keeps such parts aside ("pending") and
integrates them the moment the missing changes arrive, in whatever transaction that is. The
document's own encoding (`get_update()`) leaves them out. Checking a page therefore needs to know
whether an update left anything pending: `unintegrated` says so, from the document's state vector
and the v1 update encoding (structs per client, then the delete set).
"""

from __future__ import annotations

from typing import Any

from pycrdt import Decoder, Doc, get_update


def unintegrated(update: bytes, doc: Doc[Any]) -> bytes | None:
    """The part of `update` that `doc` holds only as pending, as an update; None if it has all.

    `update` must have been applied to `doc` (so it is well formed). What is left of it beyond
    the document's state vector is structs the document could not place, and deletions of items
    the document does not have.
    """
    state = doc.get_state()
    rest = get_update(update, state)
    if _has_structs_or_deletes_beyond(Decoder(rest), _state_vector(state)):
        return rest
    return None


def waiting_key(rest: bytes) -> tuple[tuple[int, int], ...] | bytes:
    """What identifies a waiting part across retries: where each client's waiting structs begin
    (a client that goes on typing adds structs after them, the beginning stays), or the part
    itself when it holds only deletions."""
    decoder = Decoder(rest)
    starts = []
    for _ in range(decoder.read_var_uint()):
        if decoder.read_var_uint():
            starts.append((decoder.read_var_uint(), decoder.read_var_uint()))
            break  # the struct encodings that follow are not walked: the first client will do
        decoder.read_var_uint()
        decoder.read_var_uint()
    return tuple(starts) or rest


def _state_vector(data: bytes) -> dict[int, int]:
    decoder = Decoder(data)
    return {
        decoder.read_var_uint(): decoder.read_var_uint() for _ in range(decoder.read_var_uint())
    }


def _has_structs_or_deletes_beyond(decoder: Decoder, state: dict[int, int]) -> bool:
    for _ in range(decoder.read_var_uint()):  # clients with structs
        if decoder.read_var_uint():  # this client's number of structs
            return True
        decoder.read_var_uint()  # client
        decoder.read_var_uint()  # first clock
    for _ in range(decoder.read_var_uint()):  # the delete set: clients...
        client = decoder.read_var_uint()
        for _ in range(decoder.read_var_uint()):  # ...and their deleted ranges
            clock, length = decoder.read_var_uint(), decoder.read_var_uint()
            if clock + length > state.get(client, 0):
                return True
    return False
