"""Stored reliability per round, a round's reliability threshold, and the job queue.

* round_reliability: a round's reliability report, computed in the background.
* round.reliability_threshold: pooled alpha below which the round's scores are flagged.
* job: background work as rows, claimed by the web process's worker or `impactmodel worker`.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('round') as batch_op:
        batch_op.add_column(sa.Column('reliability_threshold', sa.Double(), nullable=True))
    op.create_table(
        'round_reliability',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('input_signature', sa.String(length=64), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_round_reliability_round_id_round'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_reliability')),
        sa.UniqueConstraint('round_id', name=op.f('uq_round_reliability_round_id')),
    )
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=True),
        sa.Column('arguments', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    )
    op.create_index('ix_job_status_id', 'job', ['status', 'id'])
    op.create_index(op.f('ix_job_key'), 'job', ['key'])


def downgrade() -> None:
    op.drop_index(op.f('ix_job_key'), table_name='job')
    op.drop_index('ix_job_status_id', table_name='job')
    op.drop_table('job')
    op.drop_table('round_reliability')
    with op.batch_alter_table('round') as batch_op:
        batch_op.drop_column('reliability_threshold')
