"""orchfix: codemods for container orchestration files."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("orchfix")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
