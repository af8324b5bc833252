"""Each round knows when what its scores are computed from last changed.

round.scoring_inputs_version: raised by the database whenever scoring's inputs change:
an agreed coding is stored or removed, or its agreement, code, valence, respondent or
round changes; a respondent is added or removed, or their authority, role, level of
impact or round changes; an authority's participation is added or removed, or its
locality, Box 6 evidence or staff in post change. Stored scores keep the version they
were computed at, so the score pages tell stale results with one read of the round
instead of summing its codings (a quarter of a second at national scale).
Triggers do it, so no code path (a page, an import, a merge, a cascade) can forget it.
SQLite drops a table's triggers when a batch migration copies the table: a later
migration that rebuilds coding, respondent or participation must create them again
(tests/scoring/test_inputs_version.py fails if they are missing).

Revision ID: 0032
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

RAISE = "UPDATE round SET scoring_inputs_version = scoring_inputs_version + 1"
# On PostgreSQL a transaction raises a round once: the others are changes that commit with
# it. Raising the same row again and again in one transaction (an import's thousands of
# single-row INSERTs) would make each update walk all the versions before it.
ONCE = "AND xmin <> pg_current_xact_id()::xid"
CODING_COLUMNS = "agreed, code_id, valence, respondent_id, round_id"
RESPONDENT_COLUMNS = "authority_id, role, impact_level, round_id"
PARTICIPATION_COLUMNS = "authority_id, round_id, locality_id, evidence, managers_in_post, practitioners_in_post"

# On PostgreSQL one INSERT or DELETE of thousands of rows (an import, a cascade) raises
# each round once, from the statement's transition table.
POSTGRESQL = [
    f"""CREATE FUNCTION agreed_codings_raise_round() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         {RAISE} WHERE id = ANY (ARRAY(SELECT DISTINCT round_id FROM changed_rows WHERE agreed)) {ONCE};
         RETURN NULL;
       END $$""",
    f"""CREATE FUNCTION rows_raise_round() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         {RAISE} WHERE id = ANY (ARRAY(SELECT DISTINCT round_id FROM changed_rows)) {ONCE};
         RETURN NULL;
       END $$""",
    f"""CREATE FUNCTION row_changed_raises_round() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         {RAISE} WHERE (id = OLD.round_id OR id = NEW.round_id) {ONCE};
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER codings_added_raise_round AFTER INSERT ON coding REFERENCING NEW TABLE AS changed_rows
       FOR EACH STATEMENT EXECUTE FUNCTION agreed_codings_raise_round()""",
    """CREATE TRIGGER codings_removed_raise_round AFTER DELETE ON coding REFERENCING OLD TABLE AS changed_rows
       FOR EACH STATEMENT EXECUTE FUNCTION agreed_codings_raise_round()""",
    f"""CREATE TRIGGER coding_changed_raises_round AFTER UPDATE OF {CODING_COLUMNS} ON coding
       FOR EACH ROW WHEN (OLD.agreed OR NEW.agreed) EXECUTE FUNCTION row_changed_raises_round()""",
    """CREATE TRIGGER respondents_added_raise_round AFTER INSERT ON respondent REFERENCING NEW TABLE AS changed_rows
       FOR EACH STATEMENT EXECUTE FUNCTION rows_raise_round()""",
    """CREATE TRIGGER respondents_removed_raise_round AFTER DELETE ON respondent REFERENCING OLD TABLE AS changed_rows
       FOR EACH STATEMENT EXECUTE FUNCTION rows_raise_round()""",
    f"""CREATE TRIGGER respondent_changed_raises_round AFTER UPDATE OF {RESPONDENT_COLUMNS} ON respondent
       FOR EACH ROW EXECUTE FUNCTION row_changed_raises_round()""",
    """CREATE TRIGGER participations_added_raise_round AFTER INSERT ON participation
       REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rows_raise_round()""",
    """CREATE TRIGGER participations_removed_raise_round AFTER DELETE ON participation
       REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rows_raise_round()""",
    f"""CREATE TRIGGER participation_changed_raises_round AFTER UPDATE OF {PARTICIPATION_COLUMNS} ON participation
       FOR EACH ROW EXECUTE FUNCTION row_changed_raises_round()""",
]
SQLITE = [
    f"""CREATE TRIGGER coding_added_raises_round AFTER INSERT ON coding WHEN NEW.agreed
       BEGIN {RAISE} WHERE id = NEW.round_id; END""",
    f"""CREATE TRIGGER coding_removed_raises_round AFTER DELETE ON coding WHEN OLD.agreed
       BEGIN {RAISE} WHERE id = OLD.round_id; END""",
    f"""CREATE TRIGGER coding_changed_raises_round AFTER UPDATE OF {CODING_COLUMNS} ON coding
       WHEN OLD.agreed OR NEW.agreed
       BEGIN {RAISE} WHERE id = OLD.round_id OR id = NEW.round_id; END""",
    f"""CREATE TRIGGER respondent_added_raises_round AFTER INSERT ON respondent
       BEGIN {RAISE} WHERE id = NEW.round_id; END""",
    f"""CREATE TRIGGER respondent_removed_raises_round AFTER DELETE ON respondent
       BEGIN {RAISE} WHERE id = OLD.round_id; END""",
    f"""CREATE TRIGGER respondent_changed_raises_round AFTER UPDATE OF {RESPONDENT_COLUMNS} ON respondent
       BEGIN {RAISE} WHERE id = OLD.round_id OR id = NEW.round_id; END""",
    f"""CREATE TRIGGER participation_added_raises_round AFTER INSERT ON participation
       BEGIN {RAISE} WHERE id = NEW.round_id; END""",
    f"""CREATE TRIGGER participation_removed_raises_round AFTER DELETE ON participation
       BEGIN {RAISE} WHERE id = OLD.round_id; END""",
    f"""CREATE TRIGGER participation_changed_raises_round AFTER UPDATE OF {PARTICIPATION_COLUMNS} ON participation
       BEGIN {RAISE} WHERE id = OLD.round_id OR id = NEW.round_id; END""",
]
POSTGRESQL_TRIGGERS = {
    "coding": ["codings_added_raise_round", "codings_removed_raise_round", "coding_changed_raises_round"],
    "respondent": ["respondents_added_raise_round", "respondents_removed_raise_round",
                   "respondent_changed_raises_round"],
    "participation": ["participations_added_raise_round", "participations_removed_raise_round",
                      "participation_changed_raises_round"],
}
FUNCTIONS = ["agreed_codings_raise_round", "rows_raise_round", "row_changed_raises_round"]
SQLITE_TRIGGERS = ["coding_added_raises_round", "coding_removed_raises_round", "coding_changed_raises_round",
                   "respondent_added_raises_round", "respondent_removed_raises_round",
                   "respondent_changed_raises_round", "participation_added_raises_round",
                   "participation_removed_raises_round", "participation_changed_raises_round"]


def upgrade() -> None:
    op.add_column('round', sa.Column('scoring_inputs_version', sa.Integer(), server_default='0', nullable=False))
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, names in POSTGRESQL_TRIGGERS.items():
            for name in names:
                op.execute(f"DROP TRIGGER {name} ON {table}")
        for name in FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table('round') as batch_op:
        batch_op.drop_column('scoring_inputs_version')
