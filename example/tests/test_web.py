import json
from pathlib import Path

import web

STATIC = Path(web.__file__).parent / "static"


def test_bundle_was_built():
    # written by `npm run bundle`
    manifest = json.loads((STATIC / "manifest.json").read_text())
    assert (STATIC / manifest["main.js"]).stat().st_size > 0


def test_index_links_bundle_and_renders_widget(client):
    response = client.get("/")
    assert response.status_code == 200
    main_js = json.loads((STATIC / "manifest.json").read_text())["main.js"]
    assert f'src="/static/{main_js}"' in response.text
    assert '<span class="badge"><b>status</b> running</span>' in response.text
    assert client.get(f"/static/{main_js}").status_code == 200


def test_user_page_shows_swdd_tenancies(client, committed_user):
    response = client.get(f"/users/{committed_user}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["name"] == "Alice Example"
    assert data["tenancies"] == [
        {"room": "WU5-0101", "begins_on": "2020-01-01", "ends_on": "2022-09-30"},
        {"room": "WU5-0304", "begins_on": "2022-10-01", "ends_on": None},
    ]


def test_unknown_user_is_404(client, engine):
    assert client.get("/users/nobody").status_code == 404
