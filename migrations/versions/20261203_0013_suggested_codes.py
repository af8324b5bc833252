"""Suggested codes: a stored model per round, and codings accepted from a suggestion.

Adds the ``suggestion_model`` table (one row per round: the fitted model, its held-out
metrics, training time and size) and, on ``coding``, ``suggested`` (the coder accepted
the coding from a suggestion) with the ``suggestion_confidence`` shown.

Revision ID: 0013
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'suggestion_model',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('trained_by_id', sa.Integer(), nullable=True),
        sa.Column('n_answers', sa.Integer(), nullable=False),
        sa.Column('n_respondents', sa.Integer(), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('too_few', sa.JSON(), nullable=False),
        sa.Column('metrics', sa.JSON(), nullable=False),
        sa.Column('training_seconds', sa.Double(), nullable=False),
        sa.Column('library', sa.String(length=80), nullable=False),
        sa.Column('model', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_suggestion_model_round_id_round'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['trained_by_id'], ['user.id'],
                                name=op.f('fk_suggestion_model_trained_by_id_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_model')),
        sa.UniqueConstraint('round_id', name=op.f('uq_suggestion_model_round_id')),
    )
    with op.batch_alter_table('coding') as batch_op:
        batch_op.add_column(sa.Column('suggested', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('suggestion_confidence', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('coding') as batch_op:
        batch_op.drop_column('suggestion_confidence')
        batch_op.drop_column('suggested')
    op.drop_table('suggestion_model')
