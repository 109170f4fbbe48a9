"""The web frontend (Pycroft's `web` package)."""
from .app import make_app

__all__ = ["make_app"]
