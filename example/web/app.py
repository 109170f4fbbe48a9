"""The Flask app (Pycroft's `web.app:make_app`); servers run it through `scripts.server_run:prepare_server`."""
import json
from datetime import date
from pathlib import Path

from example_widgets import badge
from flask import Flask, abort, current_app, jsonify, render_template, url_for
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import select
from sqlalchemy.orm import Session

from pycroft.config import db_uri
from pycroft.model import User, engine, tenancies


def asset_url(name: str) -> str:
    """URL of a bundled file, looked up in the manifest that `npm run bundle` writes."""
    if current_app.static_folder is None:
        raise RuntimeError("the app has no static folder, so no bundle to link")
    manifest = Path(current_app.static_folder, "manifest.json")
    try:
        files = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"{manifest} not found: run `npm run bundle` first") from None
    return url_for("static", filename=files[name])


class JSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o: object) -> object:
        # ISO 8601 rather than Flask's default, the HTTP date format
        return o.isoformat() if isinstance(o, date) else DefaultJSONProvider.default(o)


def make_app() -> Flask:
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.jinja_env.globals.update(asset_url=asset_url, badge=badge)

    # Needs no database, so it also serves as the smoke test of a deployed image.
    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/users/<login>")
    def user(login: str):
        with Session(engine(db_uri())) as session:
            user = session.scalar(select(User).where(User.login == login))
            if user is None:
                abort(404)
            return jsonify(login=user.login, name=user.name, tenancies=tenancies(session, user))

    return app

