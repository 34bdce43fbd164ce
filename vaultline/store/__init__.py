"""The embedded encrypted store (provider ``local``): works with no server."""

from vaultline.store.embedded import EmbeddedStore, StoredSecret, VersionInfo

__all__ = ["EmbeddedStore", "StoredSecret", "VersionInfo"]
