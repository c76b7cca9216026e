"""Calls: one per chat room, joined by its members, media forwarded by the SFU.

Signalling travels over the member's event websocket (see `coope.daemon.ws.events`):

    client -> daemon                          daemon -> client
    call.join {room_id, takeover, recording,  call.joined {room_id, participants, recording,
               receive_video}                              ice_servers}
    call.offer {room_id, sdp, sources}        call.answer {room_id, sdp, tracks}
    call.leave {room_id}                      call.tracks {room_id, tracks}   (who is in which slot)
                                              call.renegotiate {room_id, audio, video}
                                              call.kicked {room_id, reason}  (taken over elsewhere,
                                                           or removed from the room)

An m-line once published and offered again as inactive stops that publication (a screen share
ended); offered as send-only again, it resumes. `sources` labels the participant's send-only
m-lines (mid -> microphone/camera/screen);
`tracks` labels their receive-only m-lines (mid -> {user, kind, source}). When someone starts
publishing and a participant has no free slot of that kind, they get `call.renegotiate` asking for
more receive-only m-lines in a new offer, once: until their next offer they are asked only for
what is missing beyond that. A participant that joined with `receive_video: false` (an audio-only
client) is never given video and never asked for video slots. The room's members get
`call.started`,
`call.participant_joined` (with `recording`), `call.participant_left` and `call.ended` events.

A participant that records (a meeting-notes bot) says so when it joins, and everyone sees it:
`recording` lists them in `call.joined` and `GET /api/v1/calls`, and the members get
`call.recording {room_id, user, active}` when one joins or leaves.

Only the room's members are in its call, and membership can change during the call: every
action (join, offer) checks it again, the member's event sockets report their removal
(`member_removed`), and every announcement goes to the members as they are at that moment. A
participant removed from the room is out of the call at once: `call.kicked` with the reason,
their media closed, `call.participant_left` to the others.

Leaving is safe in any order and all at once: a participant is taken out of the call in one step
(no await in between), and the rest of the leaving (closing the peer, telling the others) runs in
a task of the manager's own, so a caller cancelled halfway (a socket torn down) cannot leave a
participant half-removed; the last leaving to finish ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from coope.core.errors import Conflict, NotFound
from coope.core.events import (
    CallAnswer,
    CallAnswerData,
    CallEnded,
    CallJoinedData,
    CallKicked,
    CallKickedData,
    CallParticipantJoined,
    CallParticipantJoinedData,
    CallParticipantLeft,
    CallParticipantLeftData,
    CallRecording,
    CallRecordingData,
    CallRenegotiate,
    CallRenegotiateData,
    CallStarted,
    CallTrack,
    CallTracks,
    CallTracksData,
    Event,
    IceServer,
    RoomIdData,
)
from coope.core.models import Principal
from coope.core.social_schemas import KICKED_REMOVED, KICKED_TAKEN_OVER
from coope.daemon.bus import EventBus, user_topics
from coope.daemon.services.chat import ChatService
from coope.daemon.sfu import internals
from coope.daemon.sfu.fanout import Fanout
from coope.daemon.sfu.peer import CallPeer

log = logging.getLogger(__name__)

Signal = Callable[[Event], Awaitable[None]]


@dataclass
class _Participant:
    peer: CallPeer
    signal: Signal
    principal: Principal
    recording: bool = False
    receive_video: bool = True
    # Receive slots asked for with call.renegotiate since their last offer: not asked again.
    asked: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})


@dataclass
class CallRoom:
    room_id: int
    members: list[int]
    participants: dict[int, _Participant] = field(default_factory=dict)
    leaving: int = 0  # removals under way: the call ends when the last of them is done


@dataclass(frozen=True)
class IceSettings:
    """ICE servers handed to the daemon's peers and to every client."""

    servers: tuple[IceServer, ...] = ()

    def configuration(self) -> RTCConfiguration:
        # max-bundle: with aiortc's default (balanced), a second m-line of a kind in one offer
        # keeps a transport of its own that is never connected, and its media never flows.
        return RTCConfiguration(
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            iceServers=[
                RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                for s in self.servers
            ],
        )


class CallManager:
    def __init__(self, chat: ChatService, bus: EventBus, ice: IceSettings) -> None:
        internals.check()
        self._chat = chat
        self._bus = bus
        self._ice = ice
        self._rooms: dict[int, CallRoom] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._removals: set[asyncio.Task[None]] = set()  # awaited, never cancelled, on close

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, room: CallRoom, event: Event) -> None:
        await self._bus.publish(user_topics(await self._members_now(room)), event)

    async def _members_now(self, room: CallRoom) -> list[int]:
        """The room's members at this moment, asked of the chat as any participant still in the
        room (a cached lookup); a participant who is no longer a member is taken out of the
        call. With nobody left to ask, the last list known (which `member_removed` keeps up
        to date) stands."""
        for user_id, participant in list(room.participants.items()):
            try:
                room.members = await self._chat.member_ids(participant.principal, room.room_id)
                break
            except NotFound:
                self._spawn(self._remove_member(room.room_id, user_id))
        return room.members

    def live_calls(self, room_ids: set[int]) -> list[dict[str, Any]]:
        return [
            {
                "room_id": r.room_id,
                "participants": [p.peer.username for p in r.participants.values()],
                "recording": _recording(r),
            }
            for r in self._rooms.values()
            if r.room_id in room_ids and r.participants
        ]

    def rooms(self) -> list[int]:
        """The rooms with a call here (or one ending)."""
        return list(self._rooms)

    def participant_count(self) -> int:
        return sum(len(room.participants) for room in self._rooms.values())

    def connections(self) -> set[str]:
        """The event sockets whose participants are in a call here."""
        return {p.peer.connection_id for r in self._rooms.values() for p in r.participants.values()}

    async def end(self, room_id: int, reason: str) -> None:
        """End the room's call here: every participant out, told why (`call.kicked`)."""
        room = self._rooms.get(room_id)
        if room is None:
            return
        for user_id in list(room.participants):
            await self._remove(room, user_id, reason, kick=True)

    # --- joining and leaving ---------------------------------------------------------------

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
    ) -> CallJoinedData:
        members = await self._chat.member_ids(principal, room_id)
        user = principal.user
        room = self._rooms.setdefault(room_id, CallRoom(room_id, members))
        room.members = members
        existing = room.participants.get(user.id)
        if existing is not None and existing.peer.connection_id != connection_id:
            if not takeover:
                raise Conflict(
                    "you are already in this call on another device; join with takeover to"
                    " move the call here"
                )
            await self._remove(room, user.id, KICKED_TAKEN_OVER, kick=True)
            # If that emptied the room it was closed: this join opens it again.
            room = self._rooms.setdefault(room_id, CallRoom(room_id, members))
        elif existing is not None:
            return self._joined(room)
        peer = CallPeer(
            user.id,
            user.username,
            connection_id,
            self._ice.configuration(),
            on_published=lambda p, f: self._spawn(self._published(room_id, p, f)),
            on_failed=lambda p: self._spawn(self.leave(p.user_id, p.connection_id, room_id)),
        )
        first = not room.participants
        room.participants[user.id] = _Participant(peer, signal, principal, recording, receive_video)
        if first:
            await self._announce(room, CallStarted(data=RoomIdData(room_id=room_id)))
        joined = CallParticipantJoinedData(room_id=room_id, user=user.username, recording=recording)
        await self._announce(room, CallParticipantJoined(data=joined))
        if recording:
            await self._announce_recording(room, user.username, active=True)
        log.info("joined call", extra={"room": room_id, "user": user.username})
        return self._joined(room)

    def _joined(self, room: CallRoom) -> CallJoinedData:
        return CallJoinedData(
            room_id=room.room_id,
            participants=[p.peer.username for p in room.participants.values()],
            recording=_recording(room),
            ice_servers=list(self._ice.servers),
        )

    async def _announce_recording(self, room: CallRoom, user: str, *, active: bool) -> None:
        data = CallRecordingData(room_id=room.room_id, user=user, active=active)
        await self._announce(room, CallRecording(data=data))

    async def offer(
        self,
        principal: Principal,
        connection_id: str,
        room_id: int,
        sdp: str,
        sources: dict[str, str],
    ) -> None:
        """Answer a participant's offer (`call.answer`, then `call.renegotiate` if more receive
        slots are needed for what others publish)."""
        self._participant(principal.user.id, connection_id, room_id)
        await self._check_member(principal, room_id)
        # Looked up again: the participant may have left (or been removed) during that await.
        room, participant = self._participant(principal.user.id, connection_id, room_id)
        answer = await participant.peer.answer(sdp, sources)
        missing = await self._assign(room, offering=participant.peer)
        tracks = participant.peer.track_map()
        await participant.signal(
            CallAnswer(data=CallAnswerData(room_id=room_id, sdp=answer, tracks=tracks))
        )
        # This offer carried every slot asked for before it: what still lacks is asked anew,
        # and only after the answer, as the participant offers again once this one is done.
        participant.asked = missing
        if any(missing.values()):
            await participant.signal(_renegotiate(room_id, missing))

    async def _check_member(self, principal: Principal, room_id: int) -> None:
        """Still a member of the room? If not, out of its call, and `NotFound`."""
        try:
            await self._chat.member_ids(principal, room_id)
        except NotFound:
            await self._remove_member(room_id, principal.user.id)
            raise

    def _participant(
        self, user_id: int, connection_id: str, room_id: int
    ) -> tuple[CallRoom, _Participant]:
        room = self._rooms.get(room_id)
        participant = room.participants.get(user_id) if room else None
        if room is None or participant is None or participant.peer.connection_id != connection_id:
            raise NotFound("you are not in this call: join it first")
        return room, participant

    async def leave(self, user_id: int, connection_id: str, room_id: int) -> None:
        room = self._rooms.get(room_id)
        participant = room.participants.get(user_id) if room else None
        if room is None or participant is None or participant.peer.connection_id != connection_id:
            return
        await self._remove(room, user_id, "left")

    async def member_removed(self, room_id: int, user_id: int) -> None:
        """The user is no longer a member of the room (removed, or left it): out of its call
        on every device, and no more of its call events."""
        await self._remove_member(room_id, user_id)

    async def _remove_member(self, room_id: int, user_id: int) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        room.members = [m for m in room.members if m != user_id]
        await self._remove(room, user_id, KICKED_REMOVED, kick=True)

    async def disconnected(self, connection_id: str) -> None:
        """The participant's event socket closed: they leave every call they were in."""
        for room in list(self._rooms.values()):
            for user_id, participant in list(room.participants.items()):
                if participant.peer.connection_id == connection_id:
                    await self._remove(room, user_id, "disconnected")

    async def _remove(
        self, room: CallRoom, user_id: int, reason: str, *, kick: bool = False
    ) -> None:
        """Take the participant out of the call; with `kick`, they are told why first
        (`call.kicked`): they did not ask to leave."""
        participant = room.participants.pop(user_id, None)
        if participant is None:
            return  # already on the way out (several leavings of one participant can race)
        room.leaving += 1
        # What the others receive now: closing the peer detaches their slots, and the change
        # must still be told to them.
        previous = {p.peer: p.peer.track_map() for p in room.participants.values()}
        task = asyncio.ensure_future(self._removed(room, participant, reason, previous, kick))
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)
        # Shielded: the caller may be cancelled (its socket torn down); the leaving goes on.
        await asyncio.shield(task)

    async def _removed(
        self,
        room: CallRoom,
        participant: _Participant,
        reason: str,
        previous: dict[CallPeer, dict[str, CallTrack]],
        kick: bool,
    ) -> None:
        try:
            await self._tell_of_leaving(room, participant, reason, kick)
        except Exception:  # the call must still be put right, and end when it empties
            log.exception("telling of a leaving failed", extra={"room": room.room_id})
        finally:
            room.leaving -= 1
        log.info("left call", extra={"room": room.room_id, "user": participant.peer.username})
        if room.participants:
            await self._assign(room, previous=previous)
        elif room.leaving == 0 and self._rooms.get(room.room_id) is room:
            # Only the last of several leavings running at once ends the call, after everyone
            # heard of each leaving, and only if nobody opened the call again meanwhile.
            del self._rooms[room.room_id]
            await self._announce(room, CallEnded(data=RoomIdData(room_id=room.room_id)))

    async def _tell_of_leaving(
        self, room: CallRoom, participant: _Participant, reason: str, kick: bool
    ) -> None:
        if kick:
            kicked = CallKickedData(room_id=room.room_id, reason=reason)
            await participant.signal(CallKicked(data=kicked))
        try:
            await participant.peer.aclose()
        except Exception:  # the others must still hear of it
            log.exception("closing a call peer failed", extra={"room": room.room_id})
        if participant.recording:
            await self._announce_recording(room, participant.peer.username, active=False)
        left = CallParticipantLeftData(
            room_id=room.room_id, user=participant.peer.username, reason=reason
        )
        await self._announce(room, CallParticipantLeft(data=left))

    # --- who receives what -----------------------------------------------------------------

    async def _published(self, room_id: int, peer: CallPeer, fanout: Fanout) -> None:
        room = self._rooms.get(room_id)
        if room is not None and peer.user_id in room.participants:
            await self._assign(room)

    async def _assign(
        self,
        room: CallRoom,
        offering: CallPeer | None = None,
        previous: dict[CallPeer, dict[str, CallTrack]] | None = None,
    ) -> dict[str, int]:
        """Attach every published track to a free slot of every other participant; tell each
        participant what changed, and ask for more slots where there are too few. The
        participant whose offer is being answered is told by the caller, after the answer;
        what it lacks is returned."""
        offering_missing = {"audio": 0, "video": 0}
        for participant in list(room.participants.values()):
            peer = participant.peer
            wanted = [
                fanout
                for other in room.participants.values()
                if other.peer is not peer
                for fanout in other.peer.published.values()
                if fanout.active and (fanout.kind == "audio" or participant.receive_video)
            ]
            before = (previous or {}).get(peer) or peer.track_map()
            for slot in peer.slots.values():
                if slot.source is not None and slot.source not in wanted:
                    slot.attach(None)
            attached = {slot.source for slot in peer.slots.values()}
            missing = {"audio": 0, "video": 0}
            for fanout in wanted:
                if fanout in attached:
                    continue
                free = peer.free_slots(fanout.kind)
                if free:
                    free[0].attach(fanout)
                else:
                    missing[fanout.kind] += 1
            if peer is offering:
                offering_missing = missing
                continue
            after = peer.track_map()
            if after != before:
                tracks = CallTracksData(room_id=room.room_id, tracks=after)
                await participant.signal(CallTracks(data=tracks))
            # Asked once: a participant that does not add the slots (or is adding them now)
            # is not asked again for the same ones.
            more = {kind: max(0, n - participant.asked[kind]) for kind, n in missing.items()}
            if any(more.values()):
                participant.asked = {k: participant.asked[k] + more[k] for k in more}
                await participant.signal(_renegotiate(room.room_id, more))
        return offering_missing

    async def aclose(self) -> None:
        for room in list(self._rooms.values()):
            for user_id in list(room.participants):
                await self._remove(room, user_id, "daemon shutting down")
        await asyncio.gather(*self._removals, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _recording(room: CallRoom) -> list[str]:
    return [p.peer.username for p in room.participants.values() if p.recording]


def _renegotiate(room_id: int, missing: dict[str, int]) -> CallRenegotiate:
    data = CallRenegotiateData(room_id=room_id, audio=missing["audio"], video=missing["video"])
    return CallRenegotiate(data=data)
