"""The web frontend (Pycroft's `web` package): the Flask app is in `web.app`."""
