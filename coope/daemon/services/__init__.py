"""Use cases of the daemon. Services take and return domain values and raise `CoopeError`s; they
know nothing of HTTP or websockets."""

from __future__ import annotations

from dataclasses import dataclass

from coope.daemon.bus import EventBus
from coope.daemon.clock import Clock
from coope.daemon.config import DaemonConfig
from coope.daemon.services.accounts import AccountService
from coope.daemon.services.admin import AdminService
from coope.daemon.services.auth import AuthService
from coope.daemon.services.chat import ChatService
from coope.daemon.services.clerk import ClerkSync
from coope.daemon.services.friends import FriendService
from coope.daemon.services.live_connections import LiveConnections
from coope.daemon.services.livedocs import DocumentHub
from coope.daemon.services.pages import PageService
from coope.daemon.services.passwords import PasswordHasher
from coope.daemon.services.presence import PresenceService
from coope.daemon.services.ratelimit import FailureLimiter, FailureLog
from coope.daemon.services.tokens import TokenService
from coope.daemon.services.workspaces import WorkspaceService
from coope.daemon.storage import Storage


@dataclass(frozen=True)
class Services:
    auth: AuthService
    accounts: AccountService
    tokens: TokenService
    admin: AdminService
    clerk: ClerkSync | None
    presence: PresenceService
    friends: FriendService
    chat: ChatService
    workspaces: WorkspaceService
    pages: PageService
    docs: DocumentHub
    bus: EventBus
    clock: Clock

    @classmethod
    def build(
        cls,
        config: DaemonConfig,
        storage: Storage,
        bus: EventBus,
        clock: Clock,
        *,
        login_failures: FailureLog | None = None,
        live_connections: LiveConnections | None = None,
    ) -> Services:
        """`login_failures`: where failed logins are counted; `live_connections`: who is
        connected (both in this process's memory unless given ones that daemons share)."""
        auth = AuthService(
            storage,
            bus,
            clock,
            session_ttl_s=config.session_ttl_s,
            idp_public_key=config.idp_public_key,
            idp_issuer=config.idp_issuer,
        )
        limiter = FailureLimiter(
            clock,
            config.login_max_failures,
            config.login_window_s,
            address_max_failures=config.login_address_max_failures,
            log=login_failures,
        )
        accounts = AccountService(
            storage,
            auth,
            clock,
            limiter,
            PasswordHasher(config.scrypt_log2_n),
            signup=config.signup,
        )
        clerk = (
            ClerkSync(storage, auth, clock, config.clerk_webhook_secret)
            if config.clerk_webhook_secret
            else None
        )
        presence = PresenceService(storage, bus, clock, live_connections)
        workspaces = WorkspaceService(storage, bus, clock)
        docs = DocumentHub(
            storage,
            clock,
            bus,
            compact_every=config.doc_compact_every,
            idle_unload_s=config.doc_idle_unload_s,
        )
        return cls(
            auth=auth,
            presence=presence,
            friends=FriendService(storage, bus, clock, presence),
            chat=ChatService(storage, bus, clock),
            workspaces=workspaces,
            pages=PageService(storage, clock, workspaces, docs, bus),
            docs=docs,
            accounts=accounts,
            # One TokenService: the admin's tokens of others are made by the same one.
            tokens=(tokens := TokenService(storage, auth, clock)),
            admin=AdminService(storage, accounts, tokens, auth, presence, bus, clock),
            clerk=clerk,
            bus=bus,
            clock=clock,
        )
