"""Live documents: each open page is one pycrdt `Doc` in memory, shared by its sync peers.

An update from a peer (or a server-side edit) is
1. checked on a shadow copy of the document (a block of an unknown type, or a block that is not
   a map with a text, is refused before it can reach the real document),
2. applied to the document,
3. appended to the page's update log in SQLite, durably,
4. and only then forwarded to the other peers.
Yjs updates commute and are idempotent, so updates from different peers need no lock: their log
order may differ from the order they were applied in, and replaying the log gives the same
document. The log is compacted into a snapshot (the document's `get_update()`, never
`merge_updates`, which slows super-linearly) every `compact_every` updates and when the document
is unloaded after `idle_unload_s` without peers.

One rule keeps the check honest: an update must build only on changes the page already has.
One that depends on a change the daemon has not seen (Yjs would keep it "pending" and integrate
it later, inside whichever update brings the missing change) is refused whole (`Conflict`): the
check would see it only half, and it could later land unchecked, or get an honest editor's
update refused for what it carries. Clients send in causal order after the sync handshake, and
a sync handshake sends the missing changes first, so a client refused for this (two browser tabs
sharing edits between themselves, one tab's socket slower than the other's) heals by
reconnecting. Hence the document, the shadow and the log hold the same integrated content.

Compaction never drops an accepted byte: every accepted update is integrated, so `get_update()`
holds it. Content loaded from an older log that still waits on a dependency is kept aside and
written into every snapshot with it (`LiveDoc.waiting`).

Several daemons may have one page open (`doc_relay`): each applies what the others accepted,
announced over the bus, and reads from the log what the bus lost. A daemon knows which log
numbers its document holds (`LiveDoc.persisted_seq`, and `ahead` beyond a gap); a number missing
for `GAP_WAIT_S` (an announcement lost or still on its way), one announced without its update,
or a subscription that ended and was made again send it to the log for what it lacks.

The sync protocol is y-protocols' (what y-websocket speaks): message type 0 = sync (step 1: a
state vector; step 2 and update: an update), 1 = awareness (cursors, forwarded, never stored),
3 = query awareness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pycrdt import (
    Awareness,
    Decoder,
    Doc,
    Map,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    merge_updates,
    write_message,
)

from coope.core.blocks import BLOCK_TYPES, blocks_of, plain_text
from coope.core.errors import BadRequest, Conflict, InvalidInput, NotFound, Unavailable
from coope.daemon.bus import EventBus, Subscription
from coope.daemon.clock import Clock
from coope.daemon.services.doc_relay import DocRelay, Heard, Said
from coope.daemon.services.yupdates import unintegrated, waiting_key
from coope.daemon.storage import Storage

log = logging.getLogger(__name__)

QUERY_AWARENESS = 3
# "Try again later" (RFC 6455): standard clients reconnect, and their sync handshake then sends
# what the refused update was missing.
CLOSE_RESYNC = 1013
# After this many refusals of updates waiting on the same missing changes, the client is told to
# stop (y-websocket gives up on 4400-4499) rather than to reconnect once more.
RESYNC_TRIES = 3
CLOSE_CANNOT_COMPLETE = 4409
EMPTY_UPDATE = b"\x00\x00"
# How long a log number may be missing before the log is read for it: the bus usually brings
# it within milliseconds; past this it was lost.
GAP_WAIT_S = 1.0


class Peer(Protocol):
    """One sync connection, as the transport presents it to the hub."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class SyncRefused(Exception):
    """A peer broke the rules: the transport closes it with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(eq=False)
class LiveDoc:
    page_id: int
    doc: Doc[Any]
    shadow: Doc[Any]
    awareness: Awareness
    peers: dict[Peer, set[int]] = field(default_factory=dict)  # peer -> its awareness client ids
    since_snapshot: int = 0
    # Every logged update up to this number is in `doc` (loaded, or appended from here), so a
    # compaction may replace the log up to it. Another daemon's update numbers leave a gap that
    # this daemon's later ones wait behind (`ahead`): its log rows are never compacted away
    # by a document that does not hold them.
    persisted_seq: int = 0
    ahead: set[int] = field(default_factory=set)
    wanted: int = 0  # the highest number another daemon announced without its update
    gap_since: float | None = None  # since when a number below those held has been missing
    unannounced: int = 0  # the highest own number the bus could not take: said again later
    listener: asyncio.Task[None] | None = None  # hears the other daemons (doc_relay)
    subscription: Subscription | None = None  # what it hears them through, while it does
    text_dirty_at: float | None = None
    idle_since: float | None = None
    # Parts of the loaded content that still wait on changes the daemon never got (written by
    # versions that accepted such updates): carried into every snapshot, never dropped.
    waiting: list[bytes] = field(default_factory=list)
    # How often updates waiting on the same missing changes were refused (see _resync_or_give_up).
    refused_waiting: dict[object, int] = field(default_factory=dict)


def _load_doc(snapshot: bytes | None, updates: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if snapshot:
        doc.apply_update(snapshot)
    for update in updates:
        doc.apply_update(update)
    return doc


def _touched_blocks(events: list[Any], into: set[str]) -> None:
    for event in events:
        if event.path:
            into.add(str(event.path[0]))
        else:
            into.update(str(k) for k in getattr(event, "keys", {}) or {})


def check_blocks(blocks: Map[Any], ids: set[str]) -> None:
    """Raise `InvalidInput` if any of these blocks is malformed (deleted ones are fine)."""
    for block_id in ids:
        block = blocks.get(block_id)
        if block is None:
            continue
        if not isinstance(block, Map):
            raise InvalidInput(f"block {block_id!r} must be a map")
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            shown = str(kind)[:32]  # client text: kept short, it ends up in a close reason
            raise InvalidInput(f"unknown type {shown!r}; known: {', '.join(BLOCK_TYPES)}")
        if not isinstance(block.get("text"), Text):
            raise InvalidInput(f"block {block_id!r} must have a text")
        if not isinstance(block.get("pos", ""), str):
            raise InvalidInput(f"block {block_id!r} has a position that is not a string")


class DocumentHub:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        bus: EventBus,
        *,
        compact_every: int = 500,
        idle_unload_s: float = 60.0,
        reindex_after_s: float = 1.0,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._compact_every = compact_every
        self._idle_unload_s = idle_unload_s
        self._reindex_after_s = reindex_after_s
        self._relay = DocRelay(bus)
        self._live: dict[int, LiveDoc] = {}
        self._loading: dict[int, asyncio.Future[LiveDoc]] = {}
        self._housekeeping: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._housekeeping = asyncio.create_task(self._housekeep(), name="docs-housekeeping")

    async def aclose(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        for live in list(self._live.values()):
            await self._unload(live)
        for live in list(self._live.values()):  # peers still connected: no longer heard
            await self._drop(live)

    def loaded_pages(self) -> list[int]:
        return list(self._live)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self._reindex_after_s))
            now = self._clock.now()
            for live in list(self._live.values()):
                # Each step on its own: one that keeps failing holds up none of the others.
                for step in (self._reindex_due, self._catch_up_due, self._announce_due):
                    if not await self._try(live, step(live, now)):
                        break
                else:
                    if live.idle_since is not None and now - live.idle_since >= self._idle_unload_s:
                        await self._try(live, self._unload(live))

    async def _try(self, live: LiveDoc, step: Awaitable[None]) -> bool:
        """Run a step of housekeeping; False if the page turned out to be gone."""
        try:
            await step
        except NotFound:  # deleted, and the word of it lost: nothing of it is kept here
            await self._forget_here(live.page_id)
            return False
        except Exception:
            log.exception("document housekeeping failed", extra={"page": live.page_id})
        return True

    async def _reindex_due(self, live: LiveDoc, now: float) -> None:
        if live.text_dirty_at is not None and now - live.text_dirty_at >= self._reindex_after_s:
            await self._reindex(live)

    async def _catch_up_due(self, live: LiveDoc, now: float) -> None:
        if live.gap_since is not None and now - live.gap_since >= GAP_WAIT_S:
            await self._catch_up(live)

    async def _announce_due(self, live: LiveDoc, now: float) -> None:
        """Say again, by number, what the bus could not take when it was stored."""
        if live.unannounced and await self._relay.updated(live.page_id, live.unannounced, None):
            live.unannounced = 0

    async def _reindex(self, live: LiveDoc) -> None:
        live.text_dirty_at = None
        await self._storage.set_body_text(live.page_id, plain_text(live.doc))

    async def _unload(self, live: LiveDoc) -> None:
        if live.text_dirty_at is not None:
            await self._reindex(live)
        if live.since_snapshot:
            await self._compact(live)
        # Kept while an update of its own is still to be announced: the other daemons would
        # not know to read it.
        if not live.peers and not live.unannounced:
            await self._drop(live)

    async def _drop(self, live: LiveDoc) -> None:
        """Keep `live` no longer: it stops hearing the other daemons."""
        if self._live.get(live.page_id) is live:
            del self._live[live.page_id]
        listener = live.listener
        if listener is not None and listener is not asyncio.current_task():
            listener.cancel()  # its own task stops by itself once the page is no longer live
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if live.subscription is not None:  # a listener cancelled before it began holds it
            await live.subscription.aclose()

    async def _compact(self, live: LiveDoc) -> None:
        # Another daemon may compact the same page at the same time, each for its own updates:
        # either snapshot holds the log up to its number, and the storage never puts an older
        # one over a newer one, so whichever lands last changes nothing that matters.
        upto, snapshot = live.persisted_seq, live.doc.get_update()
        live.waiting = [rest for part in live.waiting if (rest := unintegrated(part, live.doc))]
        if live.waiting:
            snapshot = merge_updates(snapshot, *live.waiting)
        live.since_snapshot = 0
        await self._storage.compact(live.page_id, snapshot, upto)
        log.debug("compacted", extra={"page": live.page_id, "upto": upto})

    async def open(self, page_id: int) -> LiveDoc:
        live = self._live.get(page_id)
        if live is not None:
            return live
        pending = self._loading.get(page_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[LiveDoc] = asyncio.get_running_loop().create_future()
        self._loading[page_id] = future
        subscription: Subscription | None = None
        try:
            # Listening first: what another daemon accepts from now on is heard, and what it
            # accepted before is in the log read next.
            with contextlib.suppress(Unavailable):
                subscription = await self._relay.listen(page_id)
            snapshot, updates, last_seq = await self._storage.load_content(page_id)
            doc = _load_doc(snapshot, updates)
            parts = [snapshot, *updates] if snapshot else updates
            waiting = [rest for part in parts if (rest := unintegrated(part, doc))]
            if waiting:
                log.warning("page content waits on changes never received", extra={"page": page_id})
            live = LiveDoc(
                page_id,
                doc,
                _load_doc(snapshot, updates),
                awareness=None,  # type: ignore[arg-type]
                since_snapshot=len(updates),
                persisted_seq=last_seq,
                idle_since=self._clock.now(),
                waiting=waiting,
            )
            live.awareness = Awareness(live.doc)
            live.subscription = subscription
            self._live[page_id] = live
            live.listener = asyncio.create_task(self._listen(live), name=f"page-{page_id}-relay")
            future.set_result(live)
            return live
        except BaseException as exc:
            if subscription is not None:
                await subscription.aclose()
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it through shield
            raise
        finally:
            del self._loading[page_id]

    async def forget(self, page_id: int) -> None:
        """Drop a page (deleted for good): close its peers, keep nothing in memory, here and
        on the other daemons."""
        await self._forget_here(page_id)
        await self._relay.forgotten(page_id)

    async def _forget_here(self, page_id: int) -> None:
        live = self._live.get(page_id)
        if live is not None:
            await self._drop(live)
            for peer in list(live.peers):
                await peer.close(4404, "this page was deleted")

    # --- content ---------------------------------------------------------------------------

    async def state(self, page_id: int) -> bytes:
        """The whole content as one Yjs update (what a replica starts from)."""
        return (await self.open(page_id)).doc.get_update()

    async def read(self, page_id: int, reader: Callable[[Doc[Any]], Any]) -> Any:
        return reader((await self.open(page_id)).doc)

    async def edit(self, page_id: int, change: Callable[[Doc[Any]], None]) -> int:
        """Make a server-side change (append a block, import Markdown...) like any peer's."""
        live = await self.open(page_id)
        before = live.doc.get_state()
        with live.doc.transaction():
            change(live.doc)
        update = live.doc.get_update(before)
        live.shadow.apply_update(update)
        return await self._commit(live, update, None)

    async def apply_update(self, page_id: int, update: bytes) -> int:
        """Merge an update made elsewhere (a client's replica). Returns its log sequence."""
        live = await self.open(page_id)
        self._check_and_apply(live, update)
        return await self._commit(live, update, None)

    def _check_and_apply(self, live: LiveDoc, update: bytes) -> None:
        touched: set[str] = set()
        blocks = blocks_of(live.shadow)
        subscription = blocks.observe_deep(lambda events: _touched_blocks(events, touched))
        try:
            try:
                live.shadow.apply_update(update)
            except BaseException as exc:  # noqa: B036 - see _is_crdt_error
                if not _is_crdt_error(exc):
                    raise
                raise BadRequest(f"not a valid Yjs update: {exc}") from exc
            if (rest := unintegrated(update, live.shadow)) is not None:
                raise _WaitsOnOthers(rest)
            check_blocks(blocks, touched)
        except (BadRequest, InvalidInput, Conflict):
            # The shadow may now hold the refused change: rebuild it from the real document.
            live.shadow = _load_doc(live.doc.get_update(), live.waiting)
            raise
        finally:
            with contextlib.suppress(Exception):
                blocks.unobserve(subscription)
        live.doc.apply_update(update)

    async def _commit(self, live: LiveDoc, update: bytes, origin: Peer | None) -> int:
        """Persist, then forward. Returns the update's log sequence number."""
        try:
            seq = await self._storage.append_update(live.page_id, update, self._clock.now())
        except Exception:
            # Memory must never be ahead of disk: drop the document and let it reload.
            await self._drop(live)
            for peer in list(live.peers):
                await peer.close(1011, "the update could not be stored")
            raise
        self._holds(live, seq)
        # Only this daemon's own updates count towards its compactions: the others compact
        # for theirs (see `_compact`).
        live.since_snapshot += 1
        live.text_dirty_at = live.text_dirty_at or self._clock.now()
        await self._forward(live, create_update_message(update), origin)
        if not await self._relay.updated(live.page_id, seq, update):
            live.unannounced = max(live.unannounced, seq)
        if live.since_snapshot >= self._compact_every:
            await self._compact(live)
        return seq

    def _holds(self, live: LiveDoc, seq: int) -> None:
        """The document holds log update `seq`."""
        live.ahead.add(seq)
        self._advance(live)

    def _advance(self, live: LiveDoc) -> None:
        """Count the numbers held without a gap; note since when one is missing, if one is."""
        while live.persisted_seq + 1 in live.ahead:
            live.persisted_seq += 1
            live.ahead.discard(live.persisted_seq)
        if not live.ahead and live.wanted <= live.persisted_seq:
            live.gap_since = None
        elif live.gap_since is None:
            live.gap_since = self._clock.now()

    async def _forward(self, live: LiveDoc, message: bytes, origin: Peer | None) -> None:
        for peer in list(live.peers):
            if peer is not origin:
                await _send_quietly(peer, message)

    # --- the other daemons -----------------------------------------------------------------

    async def _listen(self, live: LiveDoc) -> None:
        """Hear what the other daemons say about the page, while it is live here."""
        attempt = 0
        while self._live.get(live.page_id) is live:
            try:
                if live.subscription is None:
                    live.subscription = await self._relay.listen(live.page_id)
                    await self._catch_up(live)  # what was said while nobody listened
                attempt = 0
                async for event in live.subscription:
                    if (heard := self._relay.heard(event)) is not None:
                        await self._on_heard(live, heard)
                    if self._live.get(live.page_id) is not live:
                        return  # forgotten (what it heard may have said so)
            except NotFound:  # deleted meanwhile, and the word of it lost
                await self._forget_here(live.page_id)
                return
            except Exception as exc:  # the bus or the database away: listened to again
                log.warning("page %s: not hearing the other daemons: %s", live.page_id, exc)
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)))
                attempt += 1
            finally:
                if live.subscription is not None:
                    await live.subscription.aclose()
                live.subscription = None  # ended (an overflow, a lost Redis): made again

    async def _on_heard(self, live: LiveDoc, heard: Heard) -> None:
        if heard.said is Said.UPDATE:
            await self._apply_theirs(live, heard.seq, heard.payload)
        elif heard.said is Said.AWARENESS and heard.payload is not None:
            await self._forward(live, create_awareness_message(heard.payload), None)
        elif heard.said is Said.ASK_AWARENESS:
            ids = [cid for ids in live.peers.values() for cid in ids]
            if ids:
                await self._relay.awareness(
                    live.page_id, live.awareness.encode_awareness_update(ids)
                )
        elif heard.said is Said.FORGOTTEN:
            await self._forget_here(live.page_id)

    async def _apply_theirs(self, live: LiveDoc, seq: int, update: bytes | None) -> None:
        """Another daemon stored update `seq` (and checked it, as this one checks its own)."""
        if seq <= live.persisted_seq or seq in live.ahead:
            return
        if update is None:
            live.wanted = max(live.wanted, seq)
            await self._catch_up(live)
            return
        if not self._apply_stored(live, seq, update):
            live.wanted = max(live.wanted, seq)
            await self._catch_up(live)
            return
        if unintegrated(update, live.doc) is None:
            self._holds(live, seq)
        else:
            # It waits on an update still on its way (stored before it, announced after):
            # not held until it is integrated, so that no compaction here drops it.
            live.wanted = max(live.wanted, seq)
            self._advance(live)
        await self._forward(live, create_update_message(update), None)

    def _apply_stored(self, live: LiveDoc, seq: int, update: bytes) -> bool:
        """Apply an update that another daemon stored; False if it cannot be read."""
        try:
            live.doc.apply_update(update)
            live.shadow.apply_update(update)
        except BaseException as exc:  # noqa: B036 - see _is_crdt_error
            if not _is_crdt_error(exc):
                raise
            log.warning("page %s: stored update %s is unreadable", live.page_id, seq)
            return False
        return True

    async def _catch_up(self, live: LiveDoc) -> None:
        """Read from the log what the document lacks, apply it and pass it on to the peers."""
        snapshot, covers, updates = await self._storage.content_after(
            live.page_id, live.persisted_seq
        )
        before = live.doc.get_state()
        if snapshot is not None and covers > live.persisted_seq:
            # What of it waits on changes never received was so for every daemon: it is
            # carried into every snapshot (`waiting`), and held.
            self._apply_stored(live, covers, snapshot)
            live.persisted_seq = covers
            live.ahead = {seq for seq in live.ahead if seq > covers}
        applied = [
            (seq, update)
            for seq, update in updates
            if seq > live.persisted_seq
            and seq not in live.ahead
            and self._apply_stored(live, seq, update)
        ]
        # Held once integrated (after all of them: one may complete an earlier one); an
        # update left waiting is read again at the next catch-up.
        live.ahead.update(seq for seq, update in applied if unintegrated(update, live.doc) is None)
        live.gap_since = None
        self._advance(live)
        missed = live.doc.get_update(before)
        if missed != EMPTY_UPDATE:
            await self._forward(live, create_update_message(missed), None)

    # --- sync peers ------------------------------------------------------------------------

    async def join(self, page_id: int, peer: Peer) -> LiveDoc:
        live = await self.open(page_id)
        live.peers[peer] = set()
        live.idle_since = None
        try:
            await peer.send(create_sync_message(live.doc))  # step 1: what do you have that I lack?
            others = [cid for p, ids in live.peers.items() if p is not peer for cid in ids]
            if others:
                await peer.send(
                    create_awareness_message(live.awareness.encode_awareness_update(others))
                )
            await self._relay.ask_awareness(page_id)  # and those of the other daemons' peers
        except BaseException:
            # Gone while joining: no peer of the page is left behind (it would keep the page
            # loaded for ever).
            await self.leave(live, peer)
            raise
        return live

    async def leave(self, live: LiveDoc, peer: Peer) -> None:
        client_ids = live.peers.pop(peer, set())
        if client_ids:
            live.awareness.remove_awareness_states(list(client_ids), "leave")
            gone = live.awareness.encode_awareness_update(list(client_ids))
            await self._forward(live, create_awareness_message(gone), None)
            await self._relay.awareness(live.page_id, gone)
        if not live.peers:
            live.idle_since = self._clock.now()

    async def receive(self, live: LiveDoc, peer: Peer, message: bytes, can_edit: bool) -> None:
        """Handle one message from a peer; raises `SyncRefused` to have it closed."""
        try:
            kind, body = message[0], message[1:]
        except IndexError as exc:
            raise SyncRefused(4400, "empty message") from exc
        if kind == YMessageType.SYNC:
            await self._on_sync(live, peer, body, can_edit)
        elif kind == YMessageType.AWARENESS:
            await self._on_awareness(live, peer, body)
        elif kind == QUERY_AWARENESS:
            ids = [cid for ids in live.peers.values() for cid in ids]
            await peer.send(create_awareness_message(live.awareness.encode_awareness_update(ids)))
        else:
            raise SyncRefused(4400, f"unknown message type {kind}")

    async def _on_sync(self, live: LiveDoc, peer: Peer, body: bytes, can_edit: bool) -> None:
        if not body:
            raise SyncRefused(4400, "sync message without a type")
        payload = _read_payload(body[1:])
        if body[0] == YSyncMessageType.SYNC_STEP1:
            try:
                diff = live.doc.get_update(payload)
            except BaseException as exc:  # noqa: B036 - see _is_crdt_error
                if not _is_crdt_error(exc):
                    raise
                raise SyncRefused(4400, "malformed state vector") from exc
            await peer.send(_sync_step2(diff))
        elif body[0] in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            if payload == EMPTY_UPDATE:
                return
            if not can_edit:
                raise SyncRefused(
                    4403, "this page is read-only for you (a viewer, or the page is in the trash)"
                )
            try:
                self._check_and_apply(live, payload)
            except _WaitsOnOthers as exc:
                raise self._resync_or_give_up(live, exc) from exc
            except (BadRequest, InvalidInput) as exc:
                raise SyncRefused(4422, exc.message) from exc
            await self._commit(live, payload, peer)
        else:
            raise SyncRefused(4400, f"unknown sync message type {body[0]}")

    def _resync_or_give_up(self, live: LiveDoc, refused: _WaitsOnOthers) -> SyncRefused:
        """Reconnect (a new sync handshake sends the missing changes first), unless the same
        missing changes were asked for in vain several times: then the client holds changes
        nobody can complete (built on a change this page refused), and retrying would loop."""
        key = waiting_key(refused.rest)
        if len(live.refused_waiting) >= 64 and key not in live.refused_waiting:
            live.refused_waiting.clear()  # bounded; a client that loops comes back to it soon
        tries = live.refused_waiting[key] = live.refused_waiting.get(key, 0) + 1
        if tries >= RESYNC_TRIES:
            return SyncRefused(
                CLOSE_CANNOT_COMPLETE,
                "this client holds changes built on changes the page never received: reload it",
            )
        return SyncRefused(CLOSE_RESYNC, refused.message)

    async def _on_awareness(self, live: LiveDoc, peer: Peer, body: bytes) -> None:
        payload = _read_payload(body)
        before = set(live.awareness.states)
        try:
            live.awareness.apply_awareness_update(payload, peer)
        except Exception as exc:  # pycrdt raises various errors on garbage
            raise SyncRefused(4400, "malformed awareness update") from exc
        live.peers[peer].update(set(live.awareness.states) - before - {live.doc.client_id})
        await self._forward(live, create_awareness_message(payload), peer)
        await self._relay.awareness(live.page_id, payload)


class _WaitsOnOthers(Conflict):
    def __init__(self, rest: bytes) -> None:
        super().__init__("this update builds on changes the page has not received: sync them first")
        self.rest = rest


def _is_crdt_error(exc: BaseException) -> bool:
    """pycrdt reports bad input as ValueError, and sometimes as a Rust panic, which Python sees
    as `pyo3_runtime.PanicException`, a BaseException: both mean "refuse this input"."""
    return isinstance(exc, ValueError) or type(exc).__name__ == "PanicException"


def _sync_step2(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


def _read_payload(data: bytes) -> bytes:
    try:
        payload = Decoder(data).read_message()
    except Exception as exc:  # the decoder raises on truncated input
        raise SyncRefused(4400, "malformed message") from exc
    if payload is None:
        raise SyncRefused(4400, "malformed message")
    return payload


async def _send_quietly(peer: Peer, message: bytes) -> None:
    """Forward to a peer; one that went away meanwhile is simply skipped (it is leaving)."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        await peer.send(message)
