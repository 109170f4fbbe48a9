"""pycroft-example: the model, directory and task side of the app (Pycroft's `pycroft` package)."""
