"""WSGI entry point, e.g. `uwsgi --http :5000 --module web.wsgi:app`."""
from web import make_app

app = make_app()
