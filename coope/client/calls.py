"""Calls from the participant's side: `CallSession` joins a room's call and carries its media.

    async with CallSession(client, room_id, audio=WavSource("hello.wav")) as call:
        async for user, frame in call.audio_frames():
            ...

Signalling rides on the client's live connection (`client.live`; the protocol is documented with
the daemon's SFU): `call.join` -> `call.joined`; every offer is ours (`call.offer` ->
`call.answer`, one at a time); `call.renegotiate` asks for more receive-only m-lines;
`call.tracks` says whose audio or video each of them carries; `call.kicked` ends the session
when the same account takes the call over elsewhere, or is removed from the room, and when the
daemon that ran the call went away ("moved") the session joins again by itself; `call.leave`
-> `call.left` on the way out. The daemon ends a connection's part in a call when that
connection closes, so a session ends when the live connection drops, even though the
connection itself comes back.

aiortc is imported when a session starts, not with this module, so `client.calls.list()` stays
cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from coope.client.transport import Transport
from coope.core.errors import (
    Conflict,
    CoopeError,
    DaemonUnreachable,
    InternalError,
    NotFound,
    Unavailable,
)
from coope.core.events import (
    CallAnswer,
    CallEnded,
    CallJoined,
    CallKicked,
    CallLeft,
    CallParticipantJoined,
    CallParticipantLeft,
    CallRecording,
    CallRenegotiate,
    CallTrack,
    CallTracks,
    Event,
)
from coope.core.social_schemas import KICKED_MOVED, KICKED_TAKEN_OVER, CallListOut, CallOut

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver
    from av import AudioFrame

    from coope.client.client import CoopeClient
    from coope.client.live import ConnectionState, Handle

log = logging.getLogger(__name__)

AudioCallback = Callable[[str, "AudioFrame"], None]
EventCallback = Callable[[Event], None]

E = TypeVar("E", bound=Event)

# The events that change who is in the call.
PeopleEvent = CallParticipantJoined | CallRecording | CallParticipantLeft | CallEnded

AUDIO_QUEUE = 250  # 5 s of 20 ms frames per `audio_frames()` reader before the oldest are dropped
LEAVE_TIMEOUT_S = 3.0
# Waits between attempts to join again after the call moved (its daemon went away).
REJOIN_PAUSES_S = (0.5, 1.0, 2.0, 4.0)


class CallsApi:
    """`client.calls`: the calls going on in your rooms, links to them, and joining one."""

    def __init__(self, client: CoopeClient, transport: Transport) -> None:
        self._client = client
        self._t = transport

    async def list(self) -> list[CallOut]:
        """The calls going on in your rooms, and who is in them."""
        found: CallListOut = await self._t.call("GET", "/api/v1/calls", CallListOut)
        return found.calls

    def link(self, room_id: int) -> str:
        """The address of the room's call page, for a browser."""
        return f"{self._t.server}/call/{room_id}"

    def join(self, room_id: int, **options: Any) -> CallSession:
        """A call in a room: `async with client.calls.join(room_id, audio=track) as call`.
        Options are those of `CallSession` (takeover, recording, audio, video, on_audio...)."""
        return CallSession(self._client, room_id, **options)


@dataclass(frozen=True)
class TrackInfo:
    """What one of our receive-only m-lines carries."""

    user: str
    kind: str  # "audio" | "video"
    source: str  # "microphone" | "camera" | "screen"


class CallSession:
    """One participant in a room's call: `async with CallSession(client, room_id) as call`.

    Entering joins the call, publishes `audio` (and `video`) and waits until media flows;
    leaving sends `call.leave` and closes everything it opened. `participants` and `tracks`
    follow the room's events, and `participants_changed()` waits for their next change.
    Received audio comes per person from `audio_frames()` or the `on_audio` callback.
    `wait()` returns or raises when the session ends on its own: taken over by another device
    (`Conflict`), removed from the room (`NotFound`), the live connection dropped
    (`DaemonUnreachable`) or refused (`Unauthenticated`), the media connection lost
    (`Unavailable`). `run_until()` keeps a front end's own work going beside the call until
    the session ends, a time is up or it is told to stop.

    Args:
        client: A logged-in client.
        room_id: The chat room whose call to join.
        takeover: Move the call here if this account is already in it elsewhere.
        recording: Join as a recording participant; everyone in the call is told.
        audio: A track to publish as the microphone, e.g. `coope.media.sources.WavSource`.
        video: A track to publish as the camera.
        receive_video: Take video slots when others publish video (frames are dropped for now);
            without it only audio is received, and the daemon is told so at joining.
        on_audio: Called with (username, frame) for every received audio frame; an exception
            it raises is logged (the first on each track), and the audio goes on.
        on_event: Called with every call event of this room (`call.*`), typed as in
            `coope.core.events`; an exception it raises is logged, and the call goes on.
        connect_timeout_s: How long joining may take until media flows.
        reply_timeout_s: How long to wait for each answer from the daemon.
    """

    def __init__(
        self,
        client: CoopeClient,
        room_id: int,
        *,
        takeover: bool = False,
        recording: bool = False,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        receive_video: bool = False,
        on_audio: AudioCallback | None = None,
        on_event: EventCallback | None = None,
        connect_timeout_s: float = 15.0,
        reply_timeout_s: float = 10.0,
    ) -> None:
        self.client = client
        self.room_id = room_id
        self.takeover = takeover
        self.recording = recording
        self.username = ""
        self.participants: set[str] = set()
        self.recorders: set[str] = set()  # participants who record the call
        self.tracks: dict[str, TrackInfo] = {}  # mid -> what it carries
        self.ice_servers: list[dict[str, Any]] = []
        self.pc: RTCPeerConnection | None = None
        self._audio = audio
        self._video = video
        self._receive_video = receive_video
        self._on_audio = on_audio
        self._on_event = on_event
        self._connect_timeout = connect_timeout_s
        self._reply_timeout = reply_timeout_s
        self._handles: list[Handle] = []
        self._sources: dict[RTCRtpTransceiver, str] = {}
        self._negotiating = asyncio.Lock()
        self._audio_queues: list[asyncio.Queue[tuple[str, AudioFrame] | None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._media_changed = asyncio.Event()
        self._people_changed = asyncio.Event()
        self._left = asyncio.Event()
        self._ended = asyncio.Event()
        self._error: CoopeError | None = None
        self._joined = False
        self._rejoining = False
        self._closing = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> CallSession:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Join the call and connect the media; on failure everything is closed again."""
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            raise

    async def _start(self) -> None:
        live = self.client.live
        await live.connect()
        self.username = live.user.username if live.user is not None else ""
        self._handles = [live.on("call.*", self._on_call_event), live.on_state(self._on_live_state)]
        await self._join()

    async def _join(self) -> None:
        """Join, make the peer connection and wait until media flows."""
        self._joined = True  # asked for, at least: leaving is said from here on
        joined = await self._request(
            {
                "type": "call.join",
                "room_id": self.room_id,
                "takeover": self.takeover,
                "recording": self.recording,
                # Without video slots the daemon neither sends video nor asks for slots.
                "receive_video": self._receive_video,
            },
            CallJoined,
        )
        self.participants = set(joined.data.participants)
        self.recorders = set(joined.data.recording)
        self._tell_people_changed()
        self.ice_servers = [s.model_dump(mode="json") for s in joined.data.ice_servers]
        self.pc = self._peer_connection()
        await self._negotiate()
        await self._until_connected()

    async def _until_connected(self) -> None:
        assert self.pc is not None
        try:
            async with asyncio.timeout(self._connect_timeout):
                while self.pc.connectionState != "connected":
                    self._raise_if_ended()
                    self._media_changed.clear()
                    await self._media_changed.wait()
        except TimeoutError:
            raise Unavailable(
                f"the call's media did not connect within {self._connect_timeout:g} s: the"
                " daemon's ICE addresses (`coope daemon --ice-host`, `--ice-server`) must be"
                " reachable from here"
            ) from None

    def _peer_connection(self) -> RTCPeerConnection:
        from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection

        # max-bundle: with aiortc's default (balanced) a second m-line of a kind keeps a
        # transport of its own that never connects. An empty server list, not None: None
        # would make aiortc ask Google's STUN server.
        pc = RTCPeerConnection(
            RTCConfiguration(
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                iceServers=[
                    RTCIceServer(
                        urls=s["urls"], username=s.get("username"), credential=s.get("credential")
                    )
                    for s in self.ice_servers
                ],
            )
        )
        pc.on("track", lambda track: self._spawn(self._consume(track)))
        pc.on("connectionstatechange", self._on_connection_state)
        if self._audio is not None:
            self._sources[pc.addTransceiver(self._audio, direction="sendonly")] = "microphone"
        if self._video is not None:
            self._sources[pc.addTransceiver(self._video, direction="sendonly")] = "camera"
        pc.addTransceiver("audio", direction="recvonly")
        if self._receive_video:
            pc.addTransceiver("video", direction="recvonly")
        return pc

    def _on_connection_state(self) -> None:
        self._media_changed.set()
        if self.pc is not None and self.pc.connectionState == "failed":
            self._end(Unavailable("the call's media connection failed"))

    async def aclose(self) -> None:
        """Leave the call (if still in it) and close the peer connection and every task; the
        client's live connection stays open for everything else. Safe to call more than once."""
        if self._closing:
            return
        self._closing = True
        if self._joined and not self._ended.is_set():
            with contextlib.suppress(Exception):
                await self.client.live.send({"type": "call.leave", "room_id": self.room_id})
                # wait_for, not asyncio.timeout: on Python 3.11 a timeout inside a task that is
                # already being cancelled (Ctrl-C) raises CancelledError and skips the cleanup.
                await asyncio.wait_for(self._left.wait(), LEAVE_TIMEOUT_S)
        if self.pc is not None:
            await self.pc.close()
        for handle in self._handles:
            handle.unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._end(None)

    async def wait(self) -> None:
        """Until the session ends by itself; raises why, unless we left."""
        await self._ended.wait()
        if self._error is not None:
            raise self._error

    async def participants_changed(self) -> None:
        """Until `participants` or `recorders` next change. Raises why the session ended once
        it has (nobody comes or goes any more), as `wait()` does, or `InternalError` if we
        left."""
        self._raise_if_ended()
        # Set and cleared at once on each change: every waiter at that moment wakes, and the
        # next one waits for the change after.
        await self._people_changed.wait()
        self._raise_if_ended()

    async def run_until(
        self,
        *workers: Coroutine[Any, Any, None],
        stop: asyncio.Event | None = None,
        duration_s: float | None = None,
    ) -> None:
        """Run `workers` beside the call until the session ends (raising why, as `wait()`),
        `duration_s` is up, `stop` is set, or a worker returns; a worker that raises raises
        here. Every worker is cancelled and awaited before this returns, so none outlives the
        caller's place in the call."""
        stopped = [asyncio.create_task(stop.wait())] if stop is not None else []
        raising: list[asyncio.Task[Any]] = [asyncio.create_task(self.wait())]
        raising += [asyncio.create_task(worker) for worker in workers]
        try:
            await asyncio.wait(
                [*stopped, *raising], timeout=duration_s, return_when=asyncio.FIRST_COMPLETED
            )
            for task in raising:
                if task.done():
                    task.result()
        finally:
            for task in (*stopped, *raising):
                task.cancel()
            await asyncio.gather(*stopped, *raising, return_exceptions=True)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def _raise_if_ended(self) -> None:
        if self._error is not None:
            raise self._error
        if self._ended.is_set():
            raise InternalError("the call session is closed")

    def _end(self, error: CoopeError | None) -> None:
        if self._ended.is_set():
            return
        self._error = error
        self._ended.set()
        self._media_changed.set()
        self._people_changed.set()
        for queue in self._audio_queues:
            _put_dropping_oldest(queue, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- signalling --------------------------------------------------------------------------

    def _on_live_state(self, state: ConnectionState) -> None:
        if state == "connected":
            return
        # The daemon took us out of the call with the connection; nothing is left to leave.
        self._left.set()
        if not self._closing:
            live_error = self.client.live.error
            self._end(
                live_error
                if live_error is not None and state == "closed"
                else DaemonUnreachable("the connection to the daemon dropped, and the call with it")
            )

    def _on_call_event(self, event: Event) -> None:
        if _room_of(event) != self.room_id:
            return
        try:
            self._dispatch(event)
        except Exception as exc:  # a bug of ours: the session ends and says so, never hangs
            log.exception("a call event could not be handled")
            self._end(InternalError(f"handling {event.type} failed: {exc!r}"))
            return
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("the on_event callback failed on %s", event.type)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, PeopleEvent):
            self._count_people(event)
            self._tell_people_changed()
        elif isinstance(event, CallAnswer | CallTracks):
            # An answer's map is taken here, in the order the daemon sent it, not once the
            # offering task resumes: a `call.tracks` read right behind the answer (a slot filled
            # just after it) would be undone by the answer's older map, its audio dropped.
            self.tracks = _tracks(event.data.tracks)
        elif isinstance(event, CallRenegotiate):
            # Asked before our first offer (someone published while we were joining): that
            # offer is still to come, and the daemon answers it with whatever is missing then.
            if self.pc is not None:
                self._spawn(self._renegotiate(event.data.audio, event.data.video))
        elif isinstance(event, CallLeft):
            self._left.set()
        elif isinstance(event, CallKicked):
            reason = event.data.reason or KICKED_TAKEN_OVER
            if reason == KICKED_MOVED:
                if not (self._closing or self._ended.is_set() or self._rejoining):
                    self._rejoining = True
                    self._spawn(self._join_again())
            elif reason == KICKED_TAKEN_OVER:
                self._end(
                    Conflict(
                        f"you left the call in room {self.room_id} ({reason}): this account"
                        " joined it from another device"
                    )
                )
            else:  # no longer a member of the room
                self._end(NotFound(f"you are out of the call in room {self.room_id}: {reason}"))

    async def _join_again(self) -> None:
        """The daemon that ran the call went away: join again with the same media (the call
        starts anew wherever the join lands), a few times if need be; the session goes on."""
        # What ran for the old peer connection (an offer, a renegotiation, its receivers)
        # stops first: none of it may touch the new one.
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        for attempt, pause in enumerate((0.0, *REJOIN_PAUSES_S)):
            await self._drop_peer()
            await asyncio.sleep(pause)
            try:
                await self._join()
                self._rejoining = False
                return
            except Unavailable as exc:  # Redis or the daemon briefly away: once more
                if attempt == len(REJOIN_PAUSES_S) or self._ended.is_set():
                    self._end(exc)
                    return
            except CoopeError as exc:
                self._end(exc)
                return
            except Exception as exc:  # aiortc's own: the session ends and says so
                log.exception("joining the call again failed")
                self._end(Unavailable(f"joining the call again failed: {exc!r}"))
                return

    async def _drop_peer(self) -> None:
        """Close the peer connection, keeping the tracks we publish (for the next one)."""
        old, self.pc = self.pc, None
        self.tracks = {}
        if old is not None:
            for transceiver in self._sources:
                # Detached first: closing a sender stops its track.
                transceiver.sender.replaceTrack(None)
            await old.close()
        self._sources = {}

    def _count_people(self, event: PeopleEvent) -> None:
        if isinstance(event, CallParticipantJoined):
            self.participants.add(event.data.user)
            if event.data.recording:
                self.recorders.add(event.data.user)
        elif isinstance(event, CallRecording):
            if event.data.active:
                self.recorders.add(event.data.user)
            else:
                self.recorders.discard(event.data.user)
        elif isinstance(event, CallParticipantLeft):
            self.participants.discard(event.data.user)
            self.recorders.discard(event.data.user)
        else:
            self.participants.clear()
            self.recorders.clear()

    def _tell_people_changed(self) -> None:
        self._people_changed.set()
        self._people_changed.clear()

    async def _request(self, message: dict[str, Any], reply: type[E]) -> E:
        """Send one join or offer and wait for its answer (or the error it caused), unless the
        session ends first (taken over, the connection dropped): then raise why."""
        self._raise_if_ended()
        answer = asyncio.ensure_future(
            self.client.live.request(
                message,
                lambda event: isinstance(event, reply) and _room_of(event) == self.room_id,
                timeout_s=self._reply_timeout,
            )
        )
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait((answer, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (answer, ended):
                waiting.cancel()
            await asyncio.gather(answer, ended, return_exceptions=True)
        if answer.done() and not answer.cancelled() and isinstance(event := answer.result(), reply):
            return event
        self._raise_if_ended()
        raise InternalError("the call session is closed")

    async def _negotiate(self, more_audio: int = 0, more_video: int = 0) -> None:
        from aiortc import RTCSessionDescription

        assert self.pc is not None
        async with self._negotiating:  # one offer at a time
            for _ in range(more_audio):
                self.pc.addTransceiver("audio", direction="recvonly")
            for _ in range(more_video):
                self.pc.addTransceiver("video", direction="recvonly")
            await self.pc.setLocalDescription(await self.pc.createOffer())
            sources = {t.mid: s for t, s in self._sources.items() if t.mid is not None}
            answer = await self._request(
                {
                    "type": "call.offer",
                    "room_id": self.room_id,
                    "sdp": self.pc.localDescription.sdp,
                    "sources": sources,
                },
                CallAnswer,
            )
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=answer.data.sdp, type="answer")
            )

    async def _renegotiate(self, audio: int, video: int) -> None:
        video = video if self._receive_video else 0
        if not (audio or video):
            return
        try:
            # Not before the first connect is through: aiortc's connect task walks the live
            # transceiver list while it waits for ICE and DTLS, and would look up a transceiver
            # added here in the old answer, which has no m-line for it yet (IndexError).
            await self._until_connected()
            await self._negotiate(audio, video)
        except CoopeError as exc:
            self._end(exc)
        except Exception as exc:  # aiortc refusing the answer: the media cannot go on
            self._end(InternalError(f"renegotiating the call failed: {exc!r}"))

    # --- media -------------------------------------------------------------------------------

    async def _consume(self, track: MediaStreamTrack) -> None:
        """Read every decoded frame of one receive slot (unread frames would pile up in
        aiortc); hand audio on, labelled with whoever the slot carries right now."""
        from aiortc.mediastreams import MediaStreamError
        from av import AudioFrame

        assert self.pc is not None
        mid = next((t.mid for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        callback_failed = False
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            info = self.tracks.get(mid or "")
            if not isinstance(frame, AudioFrame) or info is None:
                continue
            if self._on_audio is not None:
                try:
                    self._on_audio(info.user, frame)
                except Exception:
                    # Once per track: a callback that fails on every frame would log 50 a second.
                    if not callback_failed:
                        log.exception("the on_audio callback failed on %s's audio", info.user)
                    callback_failed = True
            for queue in self._audio_queues:
                _put_dropping_oldest(queue, (info.user, frame))

    def audio_frames(self) -> AsyncIterator[tuple[str, AudioFrame]]:
        """Every received audio frame as (username, frame) from now on, until the session
        ends; raises why it ended, unless we left. A slow reader loses the oldest frames."""
        queue: asyncio.Queue[tuple[str, AudioFrame] | None] = asyncio.Queue(AUDIO_QUEUE)
        if self._ended.is_set():
            queue.put_nowait(None)
        self._audio_queues.append(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[tuple[str, AudioFrame] | None]
    ) -> AsyncIterator[tuple[str, AudioFrame]]:
        try:
            while (item := await queue.get()) is not None:
                yield item
            if self._error is not None:
                raise self._error
        finally:
            self._audio_queues.remove(queue)


def _tracks(tracks: dict[str, CallTrack]) -> dict[str, TrackInfo]:
    return {mid: TrackInfo(t.user, t.kind, t.source) for mid, t in tracks.items()}


def _room_of(event: Event) -> object:
    """The room a call event is about (an event of a newer daemon keeps its data raw)."""
    data = event.data
    return data.get("room_id") if isinstance(data, dict) else getattr(data, "room_id", None)


def _put_dropping_oldest(queue: asyncio.Queue[Any], item: Any) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
