"""Entry points: the app factory for servers (`server_run`) and `flask alembic`."""
