"""opinions, routing rules, station checks and activity

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opinions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=True),
    sa.Column('town_code', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitter_role', sa.String(length=32), nullable=False),
    sa.Column('suggested_category', sa.String(length=32), nullable=True),
    sa.Column('category_confidence', sa.Float(), nullable=True),
    sa.Column('suggested_level', sa.String(length=16), nullable=True),
    sa.Column('level_confidence', sa.Float(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('confirmed_by', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('track', sa.String(length=16), nullable=True),
    sa.Column('assigned_unit', sa.String(length=200), nullable=True),
    sa.Column('assigned_unit_code', sa.String(length=32), nullable=True),
    sa.Column('batch', sa.String(length=8), nullable=True),
    sa.Column('routed_on', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        for col in ('received_on', 'station_id', 'town_code', 'county_code', 'submitted_by', 'status', 'batch',
                    'deadline'):
            batch_op.create_index(batch_op.f(f'ix_opinions_{col}'), [col], unique=False)

    op.create_table('opinion_routing_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('station_checks',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=16), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=True),
    sa.Column('evidence', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('station_id', 'item')
    )
    op.create_table('station_activity',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('reception_days', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('station_id', 'year')
    )


def downgrade() -> None:
    op.drop_table('station_activity')
    op.drop_table('station_checks')
    op.drop_table('opinion_routing_rules')
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        for col in ('received_on', 'station_id', 'town_code', 'county_code', 'submitted_by', 'status', 'batch',
                    'deadline'):
            batch_op.drop_index(batch_op.f(f'ix_opinions_{col}'))
    op.drop_table('opinions')
