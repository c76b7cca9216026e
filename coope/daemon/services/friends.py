"""Friends: requests by username, crossing requests, removal and blocking.

Blocking is symmetric in effect and silent: neither side can request the other, a direct room
between them refuses messages, and presence stops flowing. The blocked user is never told.
"""

from __future__ import annotations

from coope.core.errors import NotFound
from coope.core.events import (
    FriendAccepted,
    FriendCancelled,
    FriendData,
    FriendDeclined,
    FriendRemoved,
    FriendRequest,
    PresenceEvent,
)
from coope.core.models import Principal, User
from coope.core.social_schemas import FriendOut, UserRef
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.services.presence import PresenceService
from coope.daemon.services.users import find_other_user, find_user
from coope.daemon.storage import Storage
from coope.daemon.storage.interface import FriendRequestOutcome

FriendEventKind = FriendRequest | FriendAccepted | FriendDeclined | FriendCancelled | FriendRemoved


class FriendService:
    def __init__(
        self, storage: Storage, bus: EventBus, clock: Clock, presence: PresenceService
    ) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._presence = presence

    async def request(
        self, principal: Principal, username: str
    ) -> tuple[FriendRequestOutcome, User]:
        other = await find_other_user(self._storage, principal, username)
        outcome = await self._storage.request_friend(principal.user.id, other.id, self._clock.now())
        if outcome is FriendRequestOutcome.REQUESTED:
            await self._tell(other.id, FriendRequest, principal.user)
        elif outcome is FriendRequestOutcome.FRIENDS:
            await self._befriended(principal.user, other)
        return outcome, other

    async def requests(
        self, principal: Principal
    ) -> tuple[list[tuple[User, float]], list[tuple[User, float]]]:
        return await self._storage.friend_requests(principal.user.id)

    async def accept(self, principal: Principal, username: str) -> User:
        other = await find_user(self._storage, username)
        if not await self._storage.accept_friend(principal.user.id, other.id, self._clock.now()):
            raise NotFound(f"no friend request from {other.username}")
        await self._befriended(principal.user, other)
        return other

    async def decline(self, principal: Principal, username: str) -> User:
        other = await find_user(self._storage, username)
        if not await self._storage.delete_friend_request(other.id, principal.user.id):
            raise NotFound(f"no friend request from {other.username}")
        await self._tell(other.id, FriendDeclined, principal.user)
        return other

    async def cancel(self, principal: Principal, username: str) -> User:
        other = await find_user(self._storage, username)
        if not await self._storage.delete_friend_request(principal.user.id, other.id):
            raise NotFound(f"you have no pending request to {other.username}")
        await self._tell(other.id, FriendCancelled, principal.user)
        return other

    async def remove(self, principal: Principal, username: str) -> User:
        other = await find_user(self._storage, username)
        if not await self._storage.remove_friend(principal.user.id, other.id):
            raise NotFound(f"{other.username} is not your friend")
        await self._tell(other.id, FriendRemoved, principal.user)
        await self._tell(principal.user.id, FriendRemoved, other)
        return other

    async def friends(self, principal: Principal) -> list[FriendOut]:
        friends = await self._storage.friends(principal.user.id)
        presence = await self._presence.presence_of({f.id: f.username for f in friends})
        return [FriendOut(user=UserRef.of(f), presence=presence[f.id]) for f in friends]

    async def block(self, principal: Principal, username: str) -> User:
        other = await find_other_user(self._storage, principal, username)
        was_friend = await self._storage.are_friends(principal.user.id, other.id)
        await self._storage.block(principal.user.id, other.id, self._clock.now())
        if was_friend:  # they see a removal, as with any unfriending, and nothing more
            await self._tell(other.id, FriendRemoved, principal.user)
            await self._tell(principal.user.id, FriendRemoved, other)
        return other

    async def unblock(self, principal: Principal, username: str) -> User:
        other = await find_user(self._storage, username)
        if not await self._storage.unblock(principal.user.id, other.id):
            raise NotFound(f"you have not blocked {other.username}")
        return other

    async def blocked(self, principal: Principal) -> list[User]:
        return await self._storage.blocked_users(principal.user.id)

    async def _befriended(self, me: User, other: User) -> None:
        await self._tell(other.id, FriendAccepted, me)
        await self._tell(me.id, FriendAccepted, other)
        # Each now sees the other's presence; send the current state straight away.
        presence = await self._presence.presence_of({me.id: me.username, other.id: other.username})
        for viewer, subject in ((me.id, other.id), (other.id, me.id)):
            await self._bus.publish([user_topic(viewer)], PresenceEvent(data=presence[subject]))

    async def _tell(self, user_id: int, kind: type[FriendEventKind], about: User) -> None:
        event = kind(data=FriendData(user=UserRef.of(about)))
        await self._bus.publish([user_topic(user_id)], event)
