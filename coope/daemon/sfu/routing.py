"""Calls of daemons serving as one: each room's call lives on one daemon, joined from any.

The first join of a room claims its lease (`leases`) for the least loaded daemon (fewest
participants; the daemon the join arrives at when equal), whose SFU then carries the call: every
daemon reports its load with each renewal, so one just added takes new calls at once, and one
that drains (`drain`) takes none and stops once its last call ends.

A participant whose event socket is on another daemon is that daemon's to relay: its
signalling (join, offer, leave, its socket closing, its removal from the room) goes over the
bus to the call's daemon as a request, answered with a reply; the call's daemon signals the
participant on the socket's own topic, which the bus delivers to wherever the socket is. The
media goes straight to the call's daemon: its answer carries its own ICE addresses.

A daemon keeps the leases of its calls every third of `ttl_s`. One that can no longer keep a
lease (taken by another after a lapse, or Redis out of reach for a lapse time) ends that call
for its participants (`call.kicked`, "moved": join again), so that a room never has two calls.
A daemon relaying participants watches the leases too: when the call's daemon dies, its lease
lapses and the participants relayed are told the same, so they join again, through any daemon,
and the call starts anew wherever they land.

One daemon alone holds every lease (`MemoryCallLeases`): then every call is local and nothing
is relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from coope.core.errors import (
    BadRequest,
    CoopeError,
    InternalError,
    Unauthenticated,
    Unavailable,
    error_from_body,
)
from coope.core.events import CallJoined, CallKicked, CallKickedData, Event, GenericEvent
from coope.core.models import AuthKind, Principal
from coope.core.social_schemas import KICKED_MOVED
from coope.daemon.bus import EventBus, Subscription, connection_topic
from coope.daemon.services.chat import ChatService
from coope.daemon.sfu.calls import CallManager
from coope.daemon.sfu.leases import CallLeases, NodeLoad
from coope.daemon.storage import Storage

log = logging.getLogger(__name__)

REQUEST = "internal.call_request"
REPLY = "internal.call_reply"
# How long a relayed request may wait for the call's daemon (a join makes a peer there).
ANSWER_WITHIN_S = 10.0
LIST_WITHIN_S = 2.0  # for listing its calls: a daemon that died is not waited for long

Signal = Callable[[Event], Awaitable[None]]


def node_topic(node: str) -> str:
    return f"calls-node:{node}"


@dataclass
class _Relayed:
    """A participant of this daemon's socket in a call that lives on another daemon."""

    holder: str
    signal: Signal


class CallRouter:
    def __init__(
        self,
        manager: CallManager,
        leases: CallLeases,
        bus: EventBus,
        chat: ChatService,
        storage: Storage,
    ) -> None:
        self.manager = manager
        self._leases = leases
        self._bus = bus
        self._chat = chat
        self._storage = storage
        self._node = leases.node
        self._relayed: dict[tuple[str, int], _Relayed] = {}  # (connection, room) -> where
        self._relayed_in: dict[str, str] = {}  # a socket of another daemon in a call here -> it
        self._asked: dict[str, asyncio.Future[Any]] = {}  # request id -> its reply
        self._joining: dict[int, int] = {}  # room -> joins under way here (their lease kept)
        self._held: set[int] = set()  # rooms whose lease this daemon claimed
        self._draining = False
        self._drained = asyncio.Event()
        self._cpu_at = (0.0, 0.0)  # (wall, process) time of the last report
        self._kept_at = 0.0  # when this daemon last kept its leases
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="calls-relay")
        self._keeper = asyncio.create_task(self._keep_leases(), name="calls-leases")
        self._kept_at = asyncio.get_running_loop().time()
        # Requests and replies for this daemon are heard before it takes its first socket
        # (unless the bus is away: then once it is back).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await self._listening.wait()

    # --- what sockets ask --------------------------------------------------------------------

    async def join(
        self,
        principal: Principal,
        room_id: int,
        connection_id: str,
        signal: Signal,
        *,
        takeover: bool = False,
        recording: bool = False,
        receive_video: bool = True,
    ) -> None:
        """Join the room's call wherever it lives; `call.joined` comes through `signal`."""
        await self._chat.member_ids(principal, room_id)  # no lease for a room one is not in
        # Whatever this socket was in before (taken out there without a word to us) is past.
        self._relayed.pop((connection_id, room_id), None)
        options = {"takeover": takeover, "recording": recording, "receive_video": receive_video}
        with self._joining_room(room_id):
            holder = await self._place(room_id)
            if holder == self._node:
                await self._join_here(principal, room_id, connection_id, signal, options)
                return
        try:
            await self._ask(holder, "join", principal, connection_id, room_id, options)
        except BaseException:
            # Refused, or no answer (lost, or too late): if it did join there after all, it
            # is taken out again, or it would stay in the call unseen.
            self._spawn(self._tell(holder, "disconnected", principal, connection_id, room_id, {}))
            raise
        self._relayed[(connection_id, room_id)] = _Relayed(holder, signal)

    @contextlib.contextmanager
    def _joining_room(self, room_id: int) -> Iterator[None]:
        """A join under way here: the room's lease is kept, and not given up, meanwhile."""
        self._joining[room_id] = self._joining.get(room_id, 0) + 1
        try:
            yield
        finally:
            self._joining[room_id] -= 1
            if not self._joining[room_id]:
                del self._joining[room_id]

    async def _claim(self, room_id: int, holder: str | None = None) -> str:
        holder = await self._leases.claim(room_id, holder)
        if holder == self._node:
            self._held.add(room_id)
        return holder

    async def _place(self, room_id: int) -> str:
        """The daemon the room's call lives on: where it is, or else the least loaded one."""
        holder = (await self._leases.holders([room_id])).get(room_id)
        if holder is not None:
            return await self._claim(room_id) if holder == self._node else holder
        loads = [load for load in await self._leases.loads() if not load.draining]
        if not self._draining and all(load.node != self._node for load in loads):
            loads.append(self._load())  # not reported yet: it takes calls all the same
        if not loads:
            raise Unavailable("no daemon takes new calls now (they are draining); try again")
        best = min(loads, key=lambda load: (load.participants, load.node != self._node, load.cpu))
        return await self._claim(room_id, best.node)

    async def drain(self) -> None:
        """Take no new call (another daemon does), and return once the last one here ended."""
        self._draining = True
        log.info("draining: no new calls here; stopping when the last one ends")
        with contextlib.suppress(Unavailable):  # said again with the next renewal
            await self._leases.report(self._load())
        await self._drained.wait()

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def node(self) -> str:
        return self._node

    @property
    def shared(self) -> bool:
        """Whether other daemons serve with this one (calls may live elsewhere)."""
        return self._leases.shared

    def _load(self) -> NodeLoad:
        loop_time, process_time = time.monotonic(), time.process_time()
        then, used = self._cpu_at
        cpu = (process_time - used) / (loop_time - then) if then and loop_time > then else 0.0
        self._cpu_at = (loop_time, process_time)
        return NodeLoad(
            self._node,
            calls=len(self.manager.rooms()),
            participants=self.manager.participant_count(),
            cpu=round(cpu, 3),
            draining=self._draining,
        )

    async def offer(
        self,
        principal: Principal,
        connection_id: str,
        room_id: int,
        sdp: str,
        sources: dict[str, str],
    ) -> None:
        relayed = self._relayed.get((connection_id, room_id))
        if relayed is None:
            await self.manager.offer(principal, connection_id, room_id, sdp, sources)
        else:
            args = {"sdp": sdp, "sources": sources}
            await self._ask(relayed.holder, "offer", principal, connection_id, room_id, args)

    async def leave(self, principal: Principal, connection_id: str, room_id: int) -> None:
        relayed = self._relayed.pop((connection_id, room_id), None)
        if relayed is None:
            await self.manager.leave(principal.user.id, connection_id, room_id)
        else:
            await self._ask(relayed.holder, "leave", principal, connection_id, room_id, {})

    async def member_removed(self, principal: Principal, connection_id: str, room_id: int) -> None:
        """The socket's user is no longer a member of the room: out of its call everywhere."""
        await self.manager.member_removed(room_id, principal.user.id)
        relayed = self._relayed.pop((connection_id, room_id), None)
        if relayed is not None:
            await self._tell(relayed.holder, "removed", principal, connection_id, room_id, {})

    async def disconnected(self, principal: Principal, connection_id: str) -> None:
        await self.manager.disconnected(connection_id)
        for connection, room_id in [key for key in self._relayed if key[0] == connection_id]:
            relayed = self._relayed.pop((connection, room_id))
            await self._tell(relayed.holder, "disconnected", principal, connection_id, room_id, {})

    def kicked(self, connection_id: str, room_id: int) -> None:
        """The socket was put out of the room's call (`call.kicked`, by whichever daemon runs
        it): nothing more of it to relay, nor to tell it."""
        self._relayed.pop((connection_id, room_id), None)

    async def live_calls(self, room_ids: set[int]) -> list[dict[str, Any]]:
        """The calls going on in these rooms, on every daemon."""
        calls = self.manager.live_calls(room_ids)
        elsewhere: dict[str, list[int]] = {}
        for room_id, holder in (await self._leases.holders(room_ids)).items():
            if holder != self._node:
                elsewhere.setdefault(holder, []).append(room_id)

        async def ask(holder: str, rooms: list[int]) -> list[dict[str, Any]]:
            try:
                found = await self._ask(
                    holder, "calls", None, "", 0, {"rooms": rooms}, within_s=LIST_WITHIN_S
                )
            except Unavailable:
                return []  # its calls are gone with it, or it is too busy to say: not listed
            return found if isinstance(found, list) else []

        for found in await asyncio.gather(*(ask(h, r) for h, r in elsewhere.items())):
            calls += found
        return sorted(calls, key=lambda call: int(call["room_id"]))

    async def aclose(self) -> None:
        await _cancelled(self._keeper)
        # Everyone here (relayed ones too) is told to join again, and the leases go: the calls
        # start anew on the other daemons at once, not a lapse time later.
        for room_id in self.manager.rooms():
            await self.manager.end(room_id, KICKED_MOVED)
        for room_id in self._held:
            await self._leases.release(room_id)
        for task in (self._listener, *self._tasks):
            await _cancelled(task)
        await self.manager.aclose()

    # --- the call's daemon -------------------------------------------------------------------

    async def _join_here(
        self,
        principal: Principal,
        room_id: int,
        connection_id: str,
        signal: Signal,
        options: dict[str, Any],
    ) -> None:
        joined = await self.manager.join(
            principal,
            room_id,
            connection_id,
            signal,
            takeover=bool(options.get("takeover")),
            recording=bool(options.get("recording")),
            receive_video=bool(options.get("receive_video", True)),
        )
        await signal(CallJoined(data=joined))

    async def _serve(self, request: dict[str, Any]) -> Any:
        """Do what another daemon asked for one of its sockets; what to answer."""
        op, room_id, connection_id = request["op"], request["room"], request["connection"]
        args: dict[str, Any] = request.get("args") or {}
        if op == "calls":
            return self.manager.live_calls({int(room) for room in args.get("rooms", [])})
        # Leaving needs no say-so: done even for an account disabled meanwhile.
        if op == "disconnected":
            await self.manager.disconnected(connection_id)
        elif op == "leave":
            await self.manager.leave(int(request["user"]), connection_id, room_id)
        elif op == "removed":
            await self.manager.member_removed(room_id, int(request["user"]))
        else:
            await self._act(op, request, args)
        return None

    async def _act(self, op: str, request: dict[str, Any], args: dict[str, Any]) -> None:
        """Join or offer, as the user the other daemon authenticated, if still allowed."""
        room_id, connection_id = request["room"], request["connection"]
        principal = await self._principal(request)
        if op == "join":
            with self._joining_room(room_id):
                if self._draining and room_id not in self.manager.rooms():
                    await self._leases.release(room_id)  # placed here before it said so
                    raise Unavailable("that daemon takes no new calls (draining): join again")
                # Only the lease's holder starts a call: a request that arrives after this
                # daemon lost it is sent back, to be tried again.
                if await self._claim(room_id) != self._node:
                    raise Unavailable("the call moved to another daemon: join again")
                signal = self._signal_for(connection_id)
                await self._join_here(principal, room_id, connection_id, signal, args)
                self._relayed_in[connection_id] = str(request["from"])
        elif op == "offer":
            await self.manager.offer(
                principal, connection_id, room_id, str(args["sdp"]), dict(args["sources"])
            )
        else:
            raise BadRequest(f"no such call request: {op[:32]!r}")  # a newer daemon's

    def _signal_for(self, connection_id: str) -> Signal:
        """Events for a socket of another daemon: on its own topic, which reaches it there."""

        async def signal(event: Event) -> None:
            await self._bus.publish([connection_topic(connection_id)], event)

        return signal

    async def _principal(self, request: dict[str, Any]) -> Principal:
        """Who asked, as the daemon of their socket authenticated them (it closes the socket,
        and tells this one, when that no longer holds)."""
        user = await self._storage.get_user(int(request["user"]))
        if user is None or user.disabled:
            raise Unauthenticated("this account no longer exists or is disabled")
        return Principal(user, AuthKind(request["kind"]), str(request["credential"]), None)

    # --- requests and replies over the bus -----------------------------------------------------

    async def _ask(
        self,
        holder: str,
        op: str,
        principal: Principal | None,
        connection_id: str,
        room_id: int,
        args: dict[str, Any],
        *,
        within_s: float = ANSWER_WITHIN_S,
    ) -> Any:
        """Have the call's daemon do `op`; its answer, or the error it raised."""
        request_id = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self._asked[request_id] = answer
        try:
            await self._send(holder, request_id, op, principal, connection_id, room_id, args)
            async with asyncio.timeout(within_s):
                return await answer
        except TimeoutError:
            raise Unavailable("the daemon that runs this call does not answer; try again") from None
        finally:
            self._asked.pop(request_id, None)

    async def _tell(
        self,
        holder: str,
        op: str,
        principal: Principal,
        connection_id: str,
        room_id: int,
        args: dict[str, Any],
    ) -> None:
        """Tell the call's daemon, without waiting for its answer (if it never hears it, the
        participant's media times out there)."""
        with contextlib.suppress(Unavailable):
            await self._send(holder, None, op, principal, connection_id, room_id, args)

    async def _send(
        self,
        holder: str,
        request_id: str | None,
        op: str,
        principal: Principal | None,
        connection_id: str,
        room_id: int,
        args: dict[str, Any],
    ) -> None:
        data: dict[str, Any] = {
            "id": request_id,
            "from": self._node,
            "op": op,
            "room": room_id,
            "connection": connection_id,
            "args": args,
        }
        if principal is not None:
            data |= {
                "user": principal.user.id,
                "kind": principal.kind.value,
                "credential": principal.credential_id,
            }
        await self._bus.publish([node_topic(holder)], GenericEvent(type=REQUEST, data=data))

    async def _listen(self) -> None:
        attempt = 0
        while True:
            try:
                requests = await self._bus.subscribe([node_topic(self._node)])
            except Unavailable:
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)))
                attempt += 1
                continue
            attempt = 0
            self._listening.set()
            try:
                await self._read(requests)
            except Exception:  # a bug of ours: listening starts again, and says so
                log.exception("calls relay: listening failed")
            finally:
                await requests.aclose()

    async def _read(self, requests: Subscription) -> None:
        async for event in requests:
            data = event.data
            if not isinstance(data, dict):
                continue
            if event.type == REPLY:
                answer = self._asked.get(str(data.get("id")))
                if answer is not None and not answer.done():
                    error = data.get("error")
                    if isinstance(error, dict):
                        answer.set_exception(error_from_body({"error": error}, 500))
                    else:
                        answer.set_result(data.get("result"))
            elif event.type == REQUEST:
                self._spawn(self._answer(data))

    async def _answer(self, request: dict[str, Any]) -> None:
        result: Any = None
        error: dict[str, str] | None = None
        try:
            result = await self._serve(request)
        except CoopeError as exc:
            error = {"code": exc.code, "message": exc.message}
        except Exception:
            log.exception("calls relay: a request failed", extra={"op": request.get("op")})
            error = {
                "code": InternalError.code,
                "message": "the call's daemon failed; it is logged",
            }
        if request.get("id") is None:
            return
        reply = {"id": request["id"], "error": error, "result": result}
        with contextlib.suppress(Unavailable):  # the asker gives up after a while
            await self._bus.publish(
                [node_topic(str(request["from"]))], GenericEvent(type=REPLY, data=reply)
            )

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- leases ------------------------------------------------------------------------------

    async def _keep_leases(self) -> None:
        loop = asyncio.get_running_loop()
        while True:  # at once first: a daemon just started takes calls from its first second
            try:
                await self._keep_once()
                self._kept_at = loop.time()
            except Unavailable as exc:
                log.warning("calls: leases not kept: %s", exc)
                if loop.time() - self._kept_at >= self._leases.ttl_s:
                    # Lapsed by now, and perhaps taken: no room may have two calls.
                    for room_id in self.manager.rooms():
                        await self.manager.end(room_id, KICKED_MOVED)
            except Exception:
                log.exception("calls: keeping leases failed")
            await asyncio.sleep(self._leases.ttl_s / 3)

    async def _keep_once(self) -> None:
        await self._leases.report(self._load())
        if self._draining and not self.manager.rooms() and not self._joining:
            self._drained.set()
        # A call here keeps its lease whatever happened meanwhile, and one whose lease is lost
        # (another daemon may run the room's call now) ends here.
        self._held |= set(self.manager.rooms())
        lost = await self._leases.keep(self._held)
        self._held -= lost
        for room_id in lost & set(self.manager.rooms()):
            log.warning("calls: the lease of room %s was lost; its call ends here", room_id)
            await self.manager.end(room_id, KICKED_MOVED)
        for room_id in list(self._held):  # their calls ended: asked again just before each
            if room_id not in self.manager.rooms() and room_id not in self._joining:
                self._held.discard(room_id)
                await self._leases.release(room_id)
        await self._forget_the_dead()
        await self._tell_the_moved()

    async def _forget_the_dead(self) -> None:
        """Participants relayed by a daemon that stopped reporting (it died) are out: nobody is
        left to say their socket closed."""
        present = self.manager.connections()
        for connection_id in [c for c in self._relayed_in if c not in present]:
            del self._relayed_in[connection_id]
        if not self._relayed_in:
            return
        alive = {load.node for load in await self._leases.loads()}
        for connection_id, node in list(self._relayed_in.items()):
            if node not in alive:
                del self._relayed_in[connection_id]
                log.info("calls: the daemon relaying a participant is gone; they are out")
                await self.manager.disconnected(connection_id)

    async def _tell_the_moved(self) -> None:
        """Participants relayed to a daemon that no longer holds the call's lease (it died):
        told to join again."""
        relayed = {room for _, room in self._relayed}
        holders = await self._leases.holders(relayed)
        for (connection_id, room_id), where in list(self._relayed.items()):
            if holders.get(room_id) != where.holder:
                del self._relayed[(connection_id, room_id)]
                kicked = CallKickedData(room_id=room_id, reason=KICKED_MOVED)
                with contextlib.suppress(CoopeError):
                    await where.signal(CallKicked(data=kicked))


async def _cancelled(task: asyncio.Task[Any] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
