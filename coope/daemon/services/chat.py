"""Chat: direct rooms between friends, group rooms, and their messages.

Only members read or write a room, and to anyone else a room they are not in does not exist
(`NotFound`). Nobody is put into a room by a stranger: only friends are added directly, and
anyone else is invited; until they accept, they get none of the room's messages or unread counts
(they only learn the room's name and who invited them). A direct room needs friends to begin with:
its first message is refused to a non-friend, as are later ones once the friendship ends.

Membership is cached per room in memory and changed only through this service, so checking it
costs nothing on the hot path and a removed member stops receiving at once: events fan out to the
members the cache holds at the moment of publishing.
"""

from __future__ import annotations

import uuid

from coope.core import rules
from coope.core.emoji import is_emoji, normalised
from coope.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from coope.core.events import (
    Event,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    RoomIdData,
    RoomInvited,
    RoomJoined,
    RoomLeft,
    RoomRead,
    RoomUninvited,
    RoomUpdated,
    TypingData,
    TypingEvent,
)
from coope.core.models import Message, Principal, Room, RoomKind, RoomRole, RoomSummary, User
from coope.core.names import refuse_id_like
from coope.core.social_schemas import (
    EMOJI_MAX,
    MESSAGE_MAX,
    MessageOut,
    ReadOut,
    RoomInviteOut,
    RoomOut,
)
from coope.daemon.bus import EventBus, user_topics
from coope.daemon.clock import Clock
from coope.daemon.services.get_or_create import create_or_existing
from coope.daemon.services.room_members import RoomMembers, RoomState
from coope.daemon.services.users import find_other_user, find_user
from coope.daemon.storage import Storage
from coope.daemon.storage.interface import RoomInvite

MessageEventKind = MessageCreated | MessageUpdated | MessageDeleted

# Typing notices are ephemeral; one per person per room every few seconds is plenty.
_TYPING_EVERY_S = 2.0


class ChatService:
    def __init__(self, storage: Storage, bus: EventBus, clock: Clock) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._members = RoomMembers(storage, bus, clock)
        self._typing: dict[tuple[int, int], float] = {}

    def start(self) -> None:
        self._members.start()

    async def aclose(self) -> None:
        await self._members.aclose()

    # --- membership ------------------------------------------------------------------------

    async def _state(self, room_id: int) -> RoomState | None:
        return await self._members.get(room_id)

    async def _member_state(self, principal: Principal, room_id: int) -> RoomState:
        state = await self._state(room_id)
        if state is None or principal.user.id not in state.members:
            raise NotFound(f"no room {room_id}")
        return state

    async def _admin_state(self, principal: Principal, room_id: int) -> RoomState:
        state = await self._member_state(principal, room_id)
        if state.kind is RoomKind.DM:
            raise InvalidInput("direct rooms have no members to manage and no name")
        if state.members[principal.user.id] is not RoomRole.ADMIN:
            raise Forbidden("only the room's admin can do that")
        return state

    async def _publish(self, user_ids: list[int] | set[int], event: Event) -> None:
        await self._bus.publish(user_topics(user_ids), event)

    async def _forget(self, room_id: int) -> None:
        """Drop the cached membership, here and on every other daemon of the service."""
        await self._members.changed(room_id)

    async def member_ids(self, principal: Principal, room_id: int) -> list[int]:
        """The members of a room the principal is in (`NotFound` otherwise)."""
        return list((await self._member_state(principal, room_id)).members)

    # --- rooms -----------------------------------------------------------------------------

    async def rooms(self, principal: Principal) -> list[RoomSummary]:
        return await self._storage.rooms_of(principal.user.id)

    async def room(self, principal: Principal, room_id: int) -> RoomSummary:
        await self._member_state(principal, room_id)
        for summary in await self._storage.rooms_of(principal.user.id):
            if summary.room.id == room_id:
                return summary
        raise NotFound(f"no room {room_id}")

    async def direct_room(self, principal: Principal, username: str) -> RoomSummary:
        other = await find_other_user(self._storage, principal, username)
        room = await self._storage.find_dm(principal.user.id, other.id)
        if room is None:
            raise NotFound(f"you have no direct room with {other.username} yet")
        return await self.room(principal, room.id)

    async def create_group(
        self, principal: Principal, name: str, usernames: list[str], *, exist_ok: bool = False
    ) -> tuple[RoomSummary, bool]:
        """Create a group room: the creator's friends among `usernames` join at once, everyone
        else is invited; (the room, True).

        Group room names are unique on the daemon (`coope.core.names`): a taken name is a
        `Conflict`, unless `exist_ok` and the principal is in the room that has it: then (that
        room as it is, False), its members unchanged.
        """
        name = _room_name(name)

        async def seen_as(holder: Room) -> RoomSummary:
            return await self.room(principal, holder.id)

        return await create_or_existing(
            lambda: self._create_group(principal, name, usernames),
            lambda: self._storage.find_group_room(name),
            seen_as,
            exist_ok=exist_ok,
            named=f"a room called #{name}",
        )

    async def _create_group(
        self, principal: Principal, name: str, usernames: list[str]
    ) -> RoomSummary:
        members: dict[int, User] = {}
        invited: dict[int, User] = {}
        for username in usernames:
            user = await find_user(self._storage, username)
            if user.id == principal.user.id:
                continue
            if await self._may_add_directly(principal, user):
                members[user.id] = user
            else:
                invited[user.id] = user
        room = await self._storage.create_group(
            principal.user.id, name, list(members), self._clock.now(), list(invited)
        )
        summary = await self.room(principal, room.id)
        await self._announce_room(room.id, RoomJoined, set(members) | {principal.user.id})
        for user in invited.values():
            await self._tell_invited(room.id, user.id)
        return summary

    async def _may_add_directly(self, principal: Principal, user: User) -> bool:
        """True for a friend, False for someone who must be invited; refuses a blocked pair."""
        if await self._storage.is_blocked_between(principal.user.id, user.id):
            raise Forbidden(f"you cannot add {user.username}")
        return await self._storage.are_friends(principal.user.id, user.id)

    async def add_member(self, principal: Principal, room_id: int, username: str) -> RoomSummary:
        """Add a friend to the room, or invite anyone else (the room's admin only)."""
        await self._admin_state(principal, room_id)
        user = await find_user(self._storage, username)
        now = self._clock.now()
        if await self._may_add_directly(principal, user):
            if await self._storage.add_member(room_id, user.id, now):
                await self._forget(room_id)
                await self._announce_room(room_id, RoomJoined, {user.id})
                await self._announce_room(room_id, RoomUpdated)
        elif await self._storage.invite_member(room_id, user.id, principal.user.id, now):
            await self._tell_invited(room_id, user.id)
            await self._announce_room(room_id, RoomUpdated)
        return await self.room(principal, room_id)

    # --- invitations -----------------------------------------------------------------------

    async def invitees(self, rooms: list[RoomSummary]) -> dict[int, list[str]]:
        """Who is invited into each of these rooms (ones the caller is a member of)."""
        found = await self._storage.room_invites([r.room.id for r in rooms])
        return {room_id: [i.user.username for i in invites] for room_id, invites in found.items()}

    async def invites(
        self, principal: Principal
    ) -> tuple[list[RoomInviteOut], list[RoomInviteOut]]:
        """(invitations to the principal, invitations they made) still waiting for an answer."""
        incoming, outgoing = await self._storage.invites_of(principal.user.id)
        return [_invite_out(i) for i in incoming], [_invite_out(i) for i in outgoing]

    async def accept_invite(self, principal: Principal, room_id: int) -> RoomSummary:
        incoming, _ = await self._storage.invites_of(principal.user.id)
        # Only a listed invitation counts: one between people who blocked each other is dead.
        if not any(i.room.id == room_id for i in incoming) or not (
            await self._storage.accept_invite(room_id, principal.user.id, self._clock.now())
        ):
            raise NotFound(f"no invitation to room {room_id}")
        await self._forget(room_id)
        await self._announce_room(room_id, RoomJoined, {principal.user.id})
        await self._announce_room(room_id, RoomUpdated)
        return await self.room(principal, room_id)

    async def decline_invite(self, principal: Principal, room_id: int) -> None:
        if await self._storage.delete_invite(room_id, principal.user.id) is None:
            raise NotFound(f"no invitation to room {room_id}")
        await self._invite_ended(room_id, principal.user.id)

    async def _invite_ended(self, room_id: int, user_id: int) -> None:
        # The invited person's other devices drop it; the members see the invited list shrink.
        await self._publish([user_id], RoomUninvited(data=RoomIdData(room_id=room_id)))
        await self._announce_room(room_id, RoomUpdated)

    async def _tell_invited(self, room_id: int, user_id: int) -> None:
        for invite in (await self._storage.room_invites([room_id])).get(room_id, []):
            if invite.user.id == user_id:
                await self._publish([user_id], RoomInvited(data=_invite_out(invite)))

    async def remove_member(
        self, principal: Principal, room_id: int, username: str
    ) -> RoomSummary | None:
        user = await find_user(self._storage, username)
        if user.id == principal.user.id:
            await self.leave(principal, room_id)
            return None
        state = await self._admin_state(principal, room_id)
        if user.id in state.members:
            await self._drop_member(room_id, user.id)
        elif await self._storage.delete_invite(room_id, user.id) is not None:
            await self._invite_ended(room_id, user.id)  # the invitation is withdrawn
        else:
            raise NotFound(f"{user.username} is not in this room")
        return await self.room(principal, room_id)

    async def leave(self, principal: Principal, room_id: int) -> None:
        state = await self._member_state(principal, room_id)
        if state.kind is RoomKind.DM:
            raise InvalidInput("a direct room cannot be left; remove or block the friend instead")
        await self._drop_member(room_id, principal.user.id)

    async def _drop_member(self, room_id: int, user_id: int) -> None:
        await self._storage.remove_member(room_id, user_id)
        await self._forget(room_id)
        await self._publish([user_id], RoomLeft(data=RoomIdData(room_id=room_id)))
        # An invitation is its inviter's: it ends when they are no longer in the room (nobody
        # joins a room on the word of someone who left it, or into a room nobody is in).
        for invite in (await self._storage.room_invites([room_id])).get(room_id, []):
            if invite.invited_by.id == user_id:
                if await self._storage.delete_invite(room_id, invite.user.id) is not None:
                    uninvited = RoomUninvited(data=RoomIdData(room_id=room_id))
                    await self._publish([invite.user.id], uninvited)
        await self._announce_room(room_id, RoomUpdated)

    async def rename(self, principal: Principal, room_id: int, name: str) -> RoomSummary:
        await self._admin_state(principal, room_id)
        await self._storage.rename_room(room_id, _room_name(name))
        await self._announce_room(room_id, RoomUpdated)
        return await self.room(principal, room_id)

    async def _announce_room(
        self, room_id: int, kind: type[RoomJoined | RoomUpdated], to: set[int] | None = None
    ) -> None:
        """Send each recipient the room as they see it (a direct room is named by the other)."""
        state = await self._state(room_id)
        if state is None:
            return
        members = await self._storage.room_members(room_id)
        room = await self._storage.get_room(room_id)
        assert room is not None
        invites = (await self._storage.room_invites([room_id])).get(room_id, [])
        invited = [i.user.username for i in invites]
        for member in members:
            if to is not None and member.user_id not in to:
                continue
            summary = RoomSummary(room, members, 0, member.last_read_seq)
            out = RoomOut.of(summary, member.username, invited)
            await self._publish([member.user_id], kind(data=out))

    # --- messages --------------------------------------------------------------------------

    async def send(
        self,
        principal: Principal,
        room_id: int,
        body: str,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> Message:
        state = await self._member_state(principal, room_id)
        await self._check_reachable(principal, state)
        return await self._post(principal, room_id, body, client_id, reply_to)

    async def send_direct(
        self,
        principal: Principal,
        username: str,
        body: str,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> Message:
        """Message a friend; their direct room is created with the first message."""
        other = await find_other_user(self._storage, principal, username)
        await self._check_friends(principal, other)
        _check_body(body)
        room, created, message, stored = await self._storage.post_direct(
            principal.user.id,
            other.id,
            client_id or uuid.uuid4().hex,
            body,
            reply_to,
            self._clock.now(),
        )
        if created:  # the room first, so clients know where the message belongs
            await self._announce_room(room.id, RoomJoined)
        if stored:
            await self._publish_message(MessageCreated, message)
        return message

    async def _check_friends(self, principal: Principal, other: User) -> None:
        if await self._storage.is_blocked_between(principal.user.id, other.id) or not (
            await self._storage.are_friends(principal.user.id, other.id)
        ):
            raise Forbidden(f"you can only message friends directly; {other.username} is not one")

    async def _check_reachable(self, principal: Principal, state: RoomState) -> None:
        """In a direct room, only friends reach each other (no one after a block)."""
        if state.kind is not RoomKind.DM:
            return
        other_ids = [uid for uid in state.members if uid != principal.user.id]
        other = await self._storage.get_user(other_ids[0]) if other_ids else None
        if other is None:
            raise Forbidden("this direct room has no one else in it")
        await self._check_friends(principal, other)

    async def _post(
        self,
        principal: Principal,
        room_id: int,
        body: str,
        client_id: str | None,
        reply_to: int | None,
    ) -> Message:
        _check_body(body)
        message, stored = await self._storage.post_message(
            room_id,
            principal.user.id,
            client_id or uuid.uuid4().hex,
            body,
            reply_to,
            self._clock.now(),
        )
        if stored:
            self._typing.pop((room_id, principal.user.id), None)
            await self._publish_message(MessageCreated, message)
        return message

    async def _publish_message(self, kind: type[MessageEventKind], message: Message) -> None:
        # Membership as it is now, after the write: someone removed meanwhile gets nothing.
        state = await self._state(message.room_id)
        if state is None:
            return
        event = kind(seq=message.rev, data=MessageOut.of(message))
        await self._publish(list(state.members), event)

    async def _own_message(
        self, principal: Principal, message_id: int
    ) -> tuple[Message, RoomState]:
        message, state = await self._visible_message(principal, message_id)
        if message.author_id != principal.user.id:
            raise Forbidden("you can only change your own messages")
        return message, state

    async def _visible_message(
        self, principal: Principal, message_id: int
    ) -> tuple[Message, RoomState]:
        message = await self._storage.get_message(message_id)
        state = await self._state(message.room_id) if message else None
        if message is None or state is None or principal.user.id not in state.members:
            raise NotFound(f"no message {message_id}")
        return message, state

    async def edit(self, principal: Principal, message_id: int, body: str) -> Message:
        _check_body(body)
        _, state = await self._own_message(principal, message_id)
        await self._check_reachable(principal, state)
        message = await self._storage.edit_message(message_id, body, self._clock.now())
        await self._publish_message(MessageUpdated, message)
        return message

    async def delete(self, principal: Principal, message_id: int) -> Message:
        # Deleting stays allowed after a block: taking one's words back reaches no one new.
        before, _ = await self._own_message(principal, message_id)
        message = await self._storage.delete_message(message_id, self._clock.now())
        if not before.deleted:
            await self._publish_message(MessageDeleted, message)
        return message

    async def react(self, principal: Principal, message_id: int, emoji: str, on: bool) -> Message:
        """Add (`on`) or take back the person's reaction `emoji` to a message.

        A reaction added is one emoji (`coope.core.emoji`; clients turn short codes such as
        `:thumbsup:` into emoji); adding it twice changes nothing. Taking one back needs it to
        be there (`NotFound` otherwise) and accepts any reaction stored before that rule. An
        emoji with two spellings is stored in one (`normalised`: ❤ as ❤️).
        """
        emoji = normalised(emoji)
        before, state = await self._visible_message(principal, message_id)
        await self._check_reachable(principal, state)
        if before.deleted:
            raise Conflict("this message was deleted")
        if on and not is_emoji(emoji):
            raise InvalidInput(
                "a reaction is one emoji, such as 👍 or 👩‍💻 (coope chat react also takes short"
                " codes such as :thumbsup:)",
                details={"field": "emoji"},
            )
        if not on and principal.user.username not in before.reactions.get(emoji, []):
            raise NotFound(
                f"you have not reacted with {emoji[:EMOJI_MAX]} to message {before.seq}:"
                " nothing to take back"
            )
        message = await self._storage.set_reaction(
            message_id, principal.user.id, emoji, on, self._clock.now()
        )
        if message.rev != before.rev:
            await self._publish_message(MessageUpdated, message)
        return message

    async def history(
        self, principal: Principal, room_id: int, before: int | None, after: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        await self._member_state(principal, room_id)
        page = await self._storage.messages(room_id, before=before, after=after, limit=limit + 1)
        has_more = len(page) > limit
        if has_more:
            page = page[:limit] if after is not None else page[1:]
        return page, has_more

    async def changes(
        self, principal: Principal, room_id: int, after: int, limit: int
    ) -> tuple[list[Message], bool]:
        await self._member_state(principal, room_id)
        page = await self._storage.changes(room_id, after, limit + 1)
        return page[:limit], len(page) > limit

    async def mark_read(self, principal: Principal, room_id: int, seq: int) -> RoomSummary:
        await self._member_state(principal, room_id)
        await self._storage.mark_read(room_id, principal.user.id, seq)
        summary = await self.room(principal, room_id)
        # The user's other devices update their unread counts too.
        read = ReadOut(room_id=room_id, last_read_seq=summary.last_read_seq, unread=summary.unread)
        event = RoomRead(data=read)
        await self._publish([principal.user.id], event)
        return summary

    async def search(
        self, principal: Principal, query: str, room_id: int | None, limit: int
    ) -> list[Message]:
        if room_id is not None:
            await self._member_state(principal, room_id)
        terms = query.split()
        if not terms:
            raise InvalidInput("search for at least one word")
        return await self._storage.search_messages(principal.user.id, terms, room_id, limit)

    async def typing(self, principal: Principal, room_id: int) -> None:
        state = await self._member_state(principal, room_id)
        await self._check_reachable(principal, state)
        key, now = (room_id, principal.user.id), self._clock.now()
        if now - self._typing.get(key, 0.0) < _TYPING_EVERY_S:
            return
        self._typing[key] = now
        event = TypingEvent(data=TypingData(room_id=room_id, user=principal.user.username))
        await self._publish([uid for uid in state.members if uid != principal.user.id], event)


def _invite_out(invite: RoomInvite) -> RoomInviteOut:
    return RoomInviteOut.of(invite.room, invite.user, invite.invited_by, invite.created_at)


def _check_body(body: str) -> None:
    if not body.strip():
        raise InvalidInput("a message cannot be empty", details={"field": "body"})
    if len(body) > MESSAGE_MAX:
        raise InvalidInput(
            f"a message can be at most {MESSAGE_MAX} characters", details={"field": "body"}
        )
    # Checked here, not only at the REST edge: messages also come over the events socket.
    if (bad := rules.control_character(body)) is not None:
        raise InvalidInput(
            f"a message cannot hold control characters (found {bad})", details={"field": "body"}
        )


def _room_name(name: str) -> str:
    name = " ".join(name.split()).removeprefix("#").lstrip()
    if not name:
        raise InvalidInput("a room needs a name", details={"field": "name"})
    # `#12` is room 12, and so is `##12`: a room called "12" or "#12" could never be named.
    refuse_id_like(name, "room", f"#{name}")
    if (bad := rules.control_character(name, single_line=True)) is not None:
        raise InvalidInput(
            f"a room name cannot hold control characters (found {bad})", details={"field": "name"}
        )
    return name
