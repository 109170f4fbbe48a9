"""The app as servers run it (Pycroft's `scripts.server_run`): FLASK_APP=scripts.server_run:prepare_server
for flask, `scripts.server_run:prepare_server()` for uwsgi."""
import logging
import sys

from pycroft.mail import MailConfig
from web import make_app


def prepare_server(echo: bool = False):
    """The Flask app with the settings a server needs, read from the environment; fails at once on a missing one."""
    logging.basicConfig(stream=sys.stdout, level=logging.DEBUG if echo else logging.INFO)
    app = make_app()
    app.config["MAIL"] = MailConfig.from_env()
    return app
