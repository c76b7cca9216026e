"""Everything the daemon keeps on disk goes through here."""

from coope.daemon.storage.interface import ExternalProfile, NewUser, Storage

__all__ = ["ExternalProfile", "NewUser", "Storage"]
