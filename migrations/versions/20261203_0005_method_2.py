"""Confidence index method 2.0: standard errors, staff counts, publication, placements.

* confidence_score: the jackknife standard error and degrees of freedom, staff
  interviewed per group, and why an authority could not be placed.
* round_scoring: the codebook version and structure the round was scored with.
* participation: how staff were selected and how many are in post.
* round_publication: a published round's frozen results.
* researcher_placement: researchers' own placement of each authority.
* Level-4 codings from the question "which of these would be signs of embedding"
  were stored as achieved impacts; they are aspirations, so they become
  ``to_develop`` (the valence level-4 codes now use for embedding not yet achieved).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ASPIRATION_QUESTION = 'l4_mentioned'

# Snapshots of the tables the data step touches (never the app's models).
coding = sa.table('coding', sa.column('id', sa.Integer), sa.column('answer_id', sa.Integer),
                  sa.column('code_id', sa.String), sa.column('valence', sa.String))
answer = sa.table('answer', sa.column('id', sa.Integer), sa.column('question_key', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('confidence_score') as batch_op:
        batch_op.add_column(sa.Column('se', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('df', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('n', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=300), nullable=True))
    with op.batch_alter_table('round_scoring') as batch_op:
        batch_op.add_column(sa.Column('codebook_signature', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('codebook_version', sa.Integer(), nullable=True))
    with op.batch_alter_table('participation') as batch_op:
        batch_op.add_column(sa.Column('staff_selection', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('managers_in_post', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('practitioners_in_post', sa.Integer(), nullable=True))
    op.create_table(
        'round_publication',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.Column('data_hash', sa.String(length=64), nullable=False),
        sa.Column('method_version', sa.String(length=20), nullable=False),
        sa.Column('codebook_version', sa.Integer(), nullable=True),
        sa.Column('codebook_signature', sa.String(length=64), nullable=True),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('replicates', sa.Integer(), nullable=False),
        sa.Column('weights', sa.JSON(), nullable=False),
        sa.Column('results', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['published_by_id'], ['user.id'],
                                name=op.f('fk_round_publication_published_by_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'],
                                name=op.f('fk_round_publication_round_id_round'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_publication')),
        sa.UniqueConstraint('round_id', name=op.f('uq_round_publication_round_id')),
    )
    op.create_table(
        'researcher_placement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.Column('researcher_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('scores_existed', sa.Boolean(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                                name=op.f('fk_researcher_placement_authority_id_authority'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['researcher_id'], ['user.id'],
                                name=op.f('fk_researcher_placement_researcher_id_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'],
                                name=op.f('fk_researcher_placement_round_id_round'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_researcher_placement')),
        sa.UniqueConstraint('round_id', 'authority_id', 'researcher_id',
                            name=op.f('uq_researcher_placement_round_id_authority_id_researcher_id')),
    )
    with op.batch_alter_table('researcher_placement') as batch_op:
        batch_op.create_index(batch_op.f('ix_researcher_placement_round_id'), ['round_id'])
    aspirations = sa.select(answer.c.id).where(answer.c.question_key == ASPIRATION_QUESTION)
    op.execute(coding.update()
               .where(coding.c.answer_id.in_(aspirations), coding.c.code_id.like('L4.%'),
                      coding.c.valence == 'positive')
               .values(valence='to_develop'))


def downgrade() -> None:
    aspirations = sa.select(answer.c.id).where(answer.c.question_key == ASPIRATION_QUESTION)
    op.execute(coding.update()
               .where(coding.c.answer_id.in_(aspirations), coding.c.code_id.like('L4.%'),
                      coding.c.valence == 'to_develop')
               .values(valence='positive'))
    with op.batch_alter_table('researcher_placement') as batch_op:
        batch_op.drop_index(batch_op.f('ix_researcher_placement_round_id'))
    op.drop_table('researcher_placement')
    op.drop_table('round_publication')
    with op.batch_alter_table('participation') as batch_op:
        batch_op.drop_column('practitioners_in_post')
        batch_op.drop_column('managers_in_post')
        batch_op.drop_column('staff_selection')
    with op.batch_alter_table('round_scoring') as batch_op:
        batch_op.drop_column('codebook_version')
        batch_op.drop_column('codebook_signature')
    with op.batch_alter_table('confidence_score') as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('n')
        batch_op.drop_column('df')
        batch_op.drop_column('se')
