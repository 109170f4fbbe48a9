import os


def test_task_round_trip_through_worker(celery_app):
    from pycroft.task import render_badge

    result = render_badge.delay("queue", "<amqp>")
    assert result.get(timeout=20) == '<span class="badge"><b>queue</b> &lt;amqp&gt;</span>'


def test_task_names_the_worker_that_ran_it(celery_app):
    from pycroft.task import whoami

    # The worker the celery_app fixture started, by its node name.
    assert whoami.delay().get(timeout=20) == f"pytest-{os.getpid()}@localhost"
