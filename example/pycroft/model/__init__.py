"""Database model: tables owned by the app's migrations, and the `swdd` schema it only reads."""
from functools import cache

from sqlalchemy import Column, Date, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str]
    # The person's id in the tenancy export (swdd.tenancy.person_id).
    swdd_person_id: Mapped[int | None]


# Filled by another system (in development: docker/db/docker-entrypoint-initdb.d),
# so it lives outside Base.metadata and no migration creates it.
swdd_metadata = MetaData(schema="swdd")
tenancy = Table(
    "tenancy",
    swdd_metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer),
    Column("room", String),
    Column("begins_on", Date),
    Column("ends_on", Date),
)


@cache
def engine(uri: str) -> Engine:
    return create_engine(uri)


def tenancies(session: Session, user: User) -> list[dict]:
    """The user's tenancies from the swdd export, oldest first."""
    if user.swdd_person_id is None:
        return []
    rows = session.execute(
        select(tenancy.c.room, tenancy.c.begins_on, tenancy.c.ends_on)
        .where(tenancy.c.person_id == user.swdd_person_id)
        .order_by(tenancy.c.begins_on)
    )
    return [row._asdict() for row in rows]
