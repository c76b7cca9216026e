"""Everything the daemon keeps on disk goes through here."""

from coope.daemon.storage.interface import ExternalProfile, NewPage, NewUser, Storage

__all__ = ["ExternalProfile", "NewPage", "NewUser", "Storage"]
