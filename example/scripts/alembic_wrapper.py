"""`flask alembic ...`: alembic with the app's migrations (Pycroft's `scripts.alembic_wrapper`)."""
from importlib.resources import files

import click
from alembic.config import CommandLine, Config


def ini_path() -> str:
    return str(files("pycroft.model") / "alembic.ini")


def config() -> Config:
    return Config(ini_path())


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,  # so `flask alembic --help` shows alembic's help
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Run alembic on PYCROFT_DB_URI, e.g. `flask alembic upgrade head`."""
    CommandLine(prog="flask alembic").main(["-c", ini_path(), *ctx.args])
