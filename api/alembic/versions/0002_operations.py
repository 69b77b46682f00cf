"""operations: reception rotas, committee topics, topic visit plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reception_rotas',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('days', sa.JSON(), nullable=False),
    sa.Column('duties', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reception_rotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reception_rotas_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_reception_rotas_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_reception_rotas_created_at'), ['created_at'], unique=False)

    op.create_table('topics',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('committee_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('sectors', sa.String(length=500), nullable=False),
    sa.Column('deliberation_date', sa.Date(), nullable=False),
    sa.Column('weeks_before', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topics_committee_id'), ['committee_id'], unique=False)

    op.create_table('topic_plans',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('visits', sa.JSON(), nullable=False),
    sa.Column('stations', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('topic_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_plans_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('topic_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_plans_created_at'))
    op.drop_table('topic_plans')
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topics_committee_id'))
    op.drop_table('topics')
    with op.batch_alter_table('reception_rotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reception_rotas_created_at'))
        batch_op.drop_index(batch_op.f('ix_reception_rotas_county_code'))
        batch_op.drop_index(batch_op.f('ix_reception_rotas_year'))
    op.drop_table('reception_rotas')
