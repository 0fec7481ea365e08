"""The one exception type of the host driver."""


class HostError(Exception):
    """A user-facing error (missing file, wrong manifest, no device): one clear line."""
