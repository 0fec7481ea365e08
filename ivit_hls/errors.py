"""User-facing errors: the CLI prints their message as one line and exits with code 2.

``IvitError`` derives from the host driver's ``HostError``, so both command lines share one
error boundary (``ivit_host.cliutil``) and a caller can catch either kind with ``HostError``.
"""

from ivit_host.errors import HostError


class IvitError(HostError):
    """A problem with the user's input (bad option, missing file, unsupported model...)."""


class RangeError(IvitError):
    """An integer model whose accumulators or intermediates could overflow their widths."""


class FormatError(IvitError):
    """An integer model file that is corrupt, truncated or from a newer format version."""
