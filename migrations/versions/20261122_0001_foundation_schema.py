"""Foundation schema: the whole domain model, and an append-only audit log.

The audit log is append-only in the database itself (triggers refuse UPDATE and
DELETE), not only in the ORM.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 08:10:12.474594
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('authority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authority')),
    sa.UniqueConstraint('label', name=op.f('uq_authority_label')),
    sa.UniqueConstraint('name', name=op.f('uq_authority_name'))
    )
    op.create_table('code',
    sa.Column('id', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('group', sa.String(length=20), nullable=False),
    sa.Column('steering_group', sa.Boolean(), nullable=False),
    sa.Column('valences', sa.JSON(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code'))
    )
    op.create_table('codebook_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codebook_version')),
    sa.UniqueConstraint('checksum', name=op.f('uq_codebook_version_checksum')),
    sa.UniqueConstraint('version', name=op.f('uq_codebook_version_version'))
    )
    op.create_table('instrument',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('dcs', 'manager', 'practitioner', 'parent', 'child', name='instrument_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument')),
    sa.UniqueConstraint('key', name=op.f('uq_instrument_key'))
    )
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_remote_addr'), ['remote_addr'], unique=False)

    op.create_table('round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round')),
    sa.UniqueConstraint('name', name=op.f('uq_round_name'))
    )
    op.create_table('confidence_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('ci_low', sa.Double(), nullable=True),
    sa.Column('ci_high', sa.Double(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('rank_low', sa.Integer(), nullable=True),
    sa.Column('rank_high', sa.Integer(), nullable=True),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('method_version', sa.String(length=20), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_confidence_score_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_confidence_score_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_confidence_score')),
    sa.UniqueConstraint('round_id', 'authority_id', name=op.f('uq_confidence_score_round_id_authority_id'))
    )
    with op.batch_alter_table('confidence_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confidence_score_round_id'), ['round_id'], unique=False)

    op.create_table('instrument_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instrument.id'], name=op.f('fk_instrument_version_instrument_id_instrument'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_version')),
    sa.UniqueConstraint('instrument_id', 'checksum', name=op.f('uq_instrument_version_instrument_id_checksum')),
    sa.UniqueConstraint('instrument_id', 'version', name=op.f('uq_instrument_version_instrument_id_version'))
    )
    op.create_table('key_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_key_group_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_group')),
    sa.UniqueConstraint('round_id', 'code', name=op.f('uq_key_group_round_id_code'))
    )
    op.create_table('locality',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_locality_authority_id_authority'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locality')),
    sa.UniqueConstraint('authority_id', 'name', name=op.f('uq_locality_authority_id_name'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'researcher', 'authority_contact', 'analyst', name='user_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_user_authority_id_authority'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_event_actor_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('key_group_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_case_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['key_group_id'], ['key_group.id'], name=op.f('fk_case_key_group_id_key_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_case_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case')),
    sa.UniqueConstraint('round_id', 'authority_id', 'reference', name=op.f('uq_case_round_id_authority_id_reference'))
    )
    op.create_table('participation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('locality_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.Enum('early_days', 'not_ascribed', 'ascribed', 'no_response', name='evidence', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_participation_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['locality_id'], ['locality.id'], name=op.f('fk_participation_locality_id_locality'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_participation_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participation')),
    sa.UniqueConstraint('round_id', 'authority_id', name=op.f('uq_participation_round_id_authority_id'))
    )
    op.create_table('researcher_assignment',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_researcher_assignment_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_researcher_assignment_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'authority_id', name=op.f('pk_researcher_assignment'))
    )
    op.create_table('respondent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('dcs', 'manager', 'practitioner', 'parent', 'child', name='respondent_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('key_group_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('impact_level', sa.Numeric(precision=2, scale=1, asdecimal=False), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('impact_level IS NULL OR (impact_level >= 1 AND impact_level <= 4)', name=op.f('ck_respondent_impact_level_range')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_respondent_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_respondent_case_id_case'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['key_group_id'], ['key_group.id'], name=op.f('fk_respondent_key_group_id_key_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_respondent_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_respondent')),
    sa.UniqueConstraint('round_id', 'authority_id', 'reference', name=op.f('uq_respondent_round_id_authority_id_reference'))
    )
    with op.batch_alter_table('respondent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_respondent_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_respondent_round_id'), ['round_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('dcs', 'manager', 'practitioner', 'parent', 'child', name='invitation_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('key_group_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('respondent_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_invitation_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_invitation_case_id_case'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_invitation_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['key_group_id'], ['key_group.id'], name=op.f('fk_invitation_key_group_id_key_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondent.id'], name=op.f('fk_invitation_respondent_id_respondent'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_invitation_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('respondent_id', name=op.f('uq_invitation_respondent_id')),
    sa.UniqueConstraint('token', name=op.f('uq_invitation_token'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_round_id'), ['round_id'], unique=False)

    op.create_table('response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('instrument_version_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('interview', 'self', 'assisted', name='response_mode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('in_progress', 'complete', name='response_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=True),
    sa.Column('consent_by', sa.String(length=20), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instrument_version_id'], ['instrument_version.id'], name=op.f('fk_response_instrument_version_id_instrument_version'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['user.id'], name=op.f('fk_response_interviewer_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondent.id'], name=op.f('fk_response_respondent_id_respondent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sa.UniqueConstraint('respondent_id', 'instrument_version_id', name=op.f('uq_response_respondent_id_instrument_version_id'))
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_respondent_id'), ['respondent_id'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question_key', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_answer_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('response_id', 'question_key', name=op.f('uq_answer_response_id_question_key'))
    )
    op.create_table('coding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=True),
    sa.Column('code_id', sa.String(length=60), nullable=False),
    sa.Column('valence', sa.Enum('positive', 'to_develop', 'negative', name='valence', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('start', sa.Integer(), nullable=True),
    sa.Column('end', sa.Integer(), nullable=True),
    sa.Column('excerpt', sa.Text(), nullable=True),
    sa.Column('coder', sa.String(length=254), nullable=False),
    sa.Column('coder_id', sa.Integer(), nullable=True),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('start IS NULL OR (start >= 0 AND "end" > start)', name=op.f('ck_coding_span')),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], name=op.f('fk_coding_answer_id_answer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['code_id'], ['code.id'], name=op.f('fk_coding_code_id_code'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['coder_id'], ['user.id'], name=op.f('fk_coding_coder_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondent.id'], name=op.f('fk_coding_respondent_id_respondent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_coding_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding'))
    )
    with op.batch_alter_table('coding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coding_answer_id'), ['answer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coding_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coding_respondent_id'), ['respondent_id'], unique=False)
        batch_op.create_index('ix_coding_round_agreed', ['round_id', 'agreed'], unique=False)

    op.create_table('double_coding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('second_coder_id', sa.Integer(), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('second_done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], name=op.f('fk_double_coding_answer_id_answer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['user.id'], name=op.f('fk_double_coding_drawn_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_double_coding_round_id_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['second_coder_id'], ['user.id'], name=op.f('fk_double_coding_second_coder_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_double_coding')),
    sa.UniqueConstraint('answer_id', 'second_coder_id', name=op.f('uq_double_coding_answer_id_second_coder_id'))
    )
    with op.batch_alter_table('double_coding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_double_coding_round_id'), ['round_id'], unique=False)

    op.create_table('memo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('coding_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], name=op.f('fk_memo_answer_id_answer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_memo_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['coding_id'], ['coding.id'], name=op.f('fk_memo_coding_id_coding'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memo'))
    )
    with op.batch_alter_table('memo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memo_answer_id'), ['answer_id'], unique=False)


    _audit_triggers_create()

def downgrade() -> None:
    _audit_triggers_drop()
    with op.batch_alter_table('memo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memo_answer_id'))

    op.drop_table('memo')
    with op.batch_alter_table('double_coding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_double_coding_round_id'))

    op.drop_table('double_coding')
    with op.batch_alter_table('coding', schema=None) as batch_op:
        batch_op.drop_index('ix_coding_round_agreed')
        batch_op.drop_index(batch_op.f('ix_coding_respondent_id'))
        batch_op.drop_index(batch_op.f('ix_coding_code_id'))
        batch_op.drop_index(batch_op.f('ix_coding_answer_id'))

    op.drop_table('coding')
    op.drop_table('answer')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_respondent_id'))

    op.drop_table('response')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_round_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('respondent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_respondent_round_id'))
        batch_op.drop_index(batch_op.f('ix_respondent_authority_id'))

    op.drop_table('respondent')
    op.drop_table('researcher_assignment')
    op.drop_table('participation')
    op.drop_table('case')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    op.drop_table('user')
    op.drop_table('locality')
    op.drop_table('key_group')
    op.drop_table('instrument_version')
    with op.batch_alter_table('confidence_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_confidence_score_round_id'))

    op.drop_table('confidence_score')
    op.drop_table('round')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_remote_addr'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_key'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_at'))

    op.drop_table('login_attempt')
    op.drop_table('instrument')
    op.drop_table('codebook_version')
    op.drop_table('code')
    op.drop_table('authority')


def _audit_triggers_create() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
                      FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_event_no_{event.lower()} BEFORE {event} ON audit_event
                           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")


def _audit_triggers_drop() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
