from scripts.server_run import prepare_server


def test_server_app_has_its_settings_from_the_environment():
    # Fails with a KeyError when the environment lacks a mail variable (PYCROFT_SMTP_USER, …).
    app = prepare_server()
    assert app.config["MAIL"].smtp_host == "mail"
    assert app.config["MAIL"].smtp_user == ""


def test_server_app_serves_a_page_that_reads_the_database(engine):
    # `engine` applies the migrations; an unknown user is a 404 from a real query, not a 500.
    assert prepare_server().test_client().get("/users/nobody").status_code == 404
