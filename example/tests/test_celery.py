def test_task_round_trip_through_worker(celery_app):
    from pycroft.task import render_badge

    result = render_badge.delay("queue", "<amqp>")
    assert result.get(timeout=20) == '<span class="badge"><b>queue</b> &lt;amqp&gt;</span>'
