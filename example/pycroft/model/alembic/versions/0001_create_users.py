"""create users

Revision ID: 0001
Revises:
Create Date: 2026-01-01 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("login", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("swdd_person_id", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("users")
