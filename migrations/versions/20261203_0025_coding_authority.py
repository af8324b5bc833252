"""Each coding knows its respondent's authority; answers are found by question.

* coding.authority_id: the respondent's authority, so the round page counts a round's
  agreed codings per authority from an index (ix_coding_round_agreed_authority) rather
  than joining every coding to its respondent. The database keeps it: a trigger copies
  it from the respondent when a coding is stored (or moved to another respondent), and
  another when a respondent moves to another authority (a merge). Whatever the
  application writes there is replaced, so no code path can get it wrong.
  SQLite drops a table's triggers when a batch migration copies the table: a later
  migration that rebuilds coding or respondent must create them again
  (tests/consortium/test_round_overview.py fails if they are missing).
* ix_answer_question_key: the answers to a few questions across a round (the rated
  answers the round report counts) without visiting every response of the round.

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

POSTGRESQL = [
    """CREATE FUNCTION coding_takes_authority() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.authority_id := (SELECT authority_id FROM respondent WHERE id = NEW.respondent_id);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER coding_takes_authority BEFORE INSERT OR UPDATE OF respondent_id, authority_id ON coding
       FOR EACH ROW EXECUTE FUNCTION coding_takes_authority()""",
    """CREATE FUNCTION respondent_moves_codings() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE coding SET authority_id = NEW.authority_id WHERE respondent_id = NEW.id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER respondent_moves_codings AFTER UPDATE OF authority_id ON respondent
       FOR EACH ROW WHEN (OLD.authority_id IS DISTINCT FROM NEW.authority_id)
       EXECUTE FUNCTION respondent_moves_codings()""",
]
# SQLite cannot change NEW in a BEFORE trigger: the row is corrected just after.
SQLITE = [
    """CREATE TRIGGER coding_takes_authority AFTER INSERT ON coding
       BEGIN
         UPDATE coding SET authority_id = (SELECT authority_id FROM respondent WHERE id = NEW.respondent_id)
         WHERE id = NEW.id;
       END""",
    """CREATE TRIGGER coding_keeps_authority AFTER UPDATE OF respondent_id, authority_id ON coding
       BEGIN
         UPDATE coding SET authority_id = (SELECT authority_id FROM respondent WHERE id = NEW.respondent_id)
         WHERE id = NEW.id;
       END""",
    """CREATE TRIGGER respondent_moves_codings AFTER UPDATE OF authority_id ON respondent
       WHEN OLD.authority_id IS NOT NEW.authority_id
       BEGIN
         UPDATE coding SET authority_id = NEW.authority_id WHERE respondent_id = NEW.id;
       END""",
]


def upgrade() -> None:
    op.add_column('coding', sa.Column('authority_id', sa.Integer(), nullable=True))
    op.execute("UPDATE coding SET authority_id = "
               "(SELECT authority_id FROM respondent WHERE respondent.id = coding.respondent_id)")
    op.create_index('ix_coding_round_agreed_authority', 'coding', ['round_id', 'agreed', 'authority_id'])
    op.create_index('ix_answer_question_key', 'answer', ['question_key', 'response_id'])
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER respondent_moves_codings ON respondent")
        op.execute("DROP FUNCTION respondent_moves_codings()")
        op.execute("DROP TRIGGER coding_takes_authority ON coding")
        op.execute("DROP FUNCTION coding_takes_authority()")
    else:
        for name in ("respondent_moves_codings", "coding_keeps_authority", "coding_takes_authority"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index('ix_answer_question_key', table_name='answer')
    op.drop_index('ix_coding_round_agreed_authority', table_name='coding')
    with op.batch_alter_table('coding') as batch_op:
        batch_op.drop_column('authority_id')
