"""pathsessions: a fast, faithful, self-hostable server for the 360Learning path-sessions API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pathsessions")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
