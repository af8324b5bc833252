"""Each drawn answer knows when its double coding last changed; comparisons are kept.

* double_coding.codings_version: raised by the database whenever something the comparison
  of the coders reads changes: a coding on the answer is stored, removed or changed (its
  answer, code, valence or coder), the draw is finished or unfinished, its coder or "no
  code applies" changes, or another draw of the answer is removed. Triggers do it, so no
  code path (a page, an import, a merge, a cascade) can forget it.
* draw_verdict: whether the coders of a drawn answer differ, as compared at a draw's
  codings_version. The disagreements page compares again only the answers whose draws
  have moved on, instead of every drawn answer of the round on every request; the
  reliability report's staleness check sums the versions instead of reading every coding.
  Verdicts are written apart from double_coding, so comparing never waits on a coder's
  save (the triggers lock draws; comparing only reads them).
  SQLite drops a table's triggers when a batch migration copies the table: a later
  migration that rebuilds coding or double_coding must create them again
  (tests/coding/test_draw_versions.py fails if they are missing).

Revision ID: 0031
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0025'
branch_labels = None
depends_on = None

# On PostgreSQL an import's one INSERT of thousands of codings raises each answer's
# draws once, from the statement's transition table, rather than once per coding. The
# answers are matched as an array: the planner cannot tell how many rows a transition
# table holds, and given a join it may scan every draw for each single-row INSERT.
POSTGRESQL = [
    """CREATE FUNCTION codings_added_raise_draws() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1
         WHERE answer_id = ANY (ARRAY(SELECT DISTINCT answer_id FROM changed_codings
                                      WHERE answer_id IS NOT NULL));
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER codings_added_raise_draws AFTER INSERT ON coding
       REFERENCING NEW TABLE AS changed_codings
       FOR EACH STATEMENT EXECUTE FUNCTION codings_added_raise_draws()""",
    """CREATE TRIGGER codings_removed_raise_draws AFTER DELETE ON coding
       REFERENCING OLD TABLE AS changed_codings
       FOR EACH STATEMENT EXECUTE FUNCTION codings_added_raise_draws()""",
    """CREATE FUNCTION coding_changed_raises_draws() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1
         WHERE answer_id = OLD.answer_id OR answer_id = NEW.answer_id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER coding_changed_raises_draws
       AFTER UPDATE OF answer_id, code_id, valence, coder_id, coder ON coding
       FOR EACH ROW EXECUTE FUNCTION coding_changed_raises_draws()""",
    """CREATE FUNCTION draw_changed_raises_itself() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.codings_version := OLD.codings_version + 1;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER draw_changed_raises_itself
       BEFORE UPDATE OF answer_id, second_coder_id, second_done_at, no_code_applies ON double_coding
       FOR EACH ROW EXECUTE FUNCTION draw_changed_raises_itself()""",
    """CREATE FUNCTION draw_removed_raises_others() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1 WHERE answer_id = OLD.answer_id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER draw_removed_raises_others AFTER DELETE ON double_coding
       FOR EACH ROW EXECUTE FUNCTION draw_removed_raises_others()""",
]
SQLITE = [
    """CREATE TRIGGER coding_added_raises_draws AFTER INSERT ON coding WHEN NEW.answer_id IS NOT NULL
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1 WHERE answer_id = NEW.answer_id;
       END""",
    """CREATE TRIGGER coding_removed_raises_draws AFTER DELETE ON coding WHEN OLD.answer_id IS NOT NULL
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1 WHERE answer_id = OLD.answer_id;
       END""",
    """CREATE TRIGGER coding_changed_raises_draws
       AFTER UPDATE OF answer_id, code_id, valence, coder_id, coder ON coding
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1
         WHERE answer_id = OLD.answer_id OR answer_id = NEW.answer_id;
       END""",
    # SQLite cannot change NEW in a BEFORE trigger: the row is raised just after.
    """CREATE TRIGGER draw_changed_raises_itself
       AFTER UPDATE OF answer_id, second_coder_id, second_done_at, no_code_applies ON double_coding
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1 WHERE id = NEW.id;
       END""",
    """CREATE TRIGGER draw_removed_raises_others AFTER DELETE ON double_coding
       BEGIN
         UPDATE double_coding SET codings_version = codings_version + 1 WHERE answer_id = OLD.answer_id;
       END""",
]
TRIGGERS = {"coding": ["codings_added_raise_draws", "codings_removed_raise_draws", "coding_changed_raises_draws"],
            "double_coding": ["draw_changed_raises_itself", "draw_removed_raises_others"]}
SQLITE_TRIGGERS = ["coding_added_raises_draws", "coding_removed_raises_draws", "coding_changed_raises_draws",
                   "draw_changed_raises_itself", "draw_removed_raises_others"]
FUNCTIONS = ["codings_added_raise_draws", "coding_changed_raises_draws", "draw_changed_raises_itself",
             "draw_removed_raises_others"]


def upgrade() -> None:
    op.add_column('double_coding', sa.Column('codings_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'draw_verdict',
        sa.Column('draw_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('codings_version', sa.Integer(), nullable=False),
        sa.Column('differs', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['draw_id'], ['double_coding.id'], name=op.f('fk_draw_verdict_draw_id_double_coding'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_draw_verdict_round_id_round'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('draw_id', name=op.f('pk_draw_verdict')),
    )
    op.create_index(op.f('ix_draw_verdict_round_id'), 'draw_verdict', ['round_id'], unique=False)
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, names in TRIGGERS.items():
            for name in names:
                op.execute(f"DROP TRIGGER {name} ON {table}")
        for name in FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f('ix_draw_verdict_round_id'), table_name='draw_verdict')
    op.drop_table('draw_verdict')
    with op.batch_alter_table('double_coding') as batch_op:
        batch_op.drop_column('codings_version')
