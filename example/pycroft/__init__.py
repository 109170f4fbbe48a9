"""The model, mail and task side of the app (Pycroft's `pycroft` package)."""
