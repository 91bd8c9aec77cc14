"""monitoring: idle-land rules per city, approval batches, disposal cases and steps, targets

Revision ID: 0007_monitoring
Revises: 0002_zones
(File renamed to 0003_monitoring.py to sort in chain order; the revision id is kept, databases
record it.)
"""

from __future__ import annotations

from alembic import op

revision = "0007_monitoring"
down_revision = "0002_zones"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE landmatch.monitoring_rule (
  city_code varchar(6) PRIMARY KEY CHECK (city_code ~ '^[0-9]{6}$'),
  idle_after_days integer NOT NULL DEFAULT 365 CHECK (idle_after_days > 0),
  recover_after_days integer NOT NULL DEFAULT 730,
  at_risk_window_days integer NOT NULL DEFAULT 365 CHECK (at_risk_window_days >= 0),
  stall_min_days integer NOT NULL DEFAULT 365 CHECK (stall_min_days > 0),
  developed_ratio_min numeric(5,4) NOT NULL DEFAULT 0.3333 CHECK (developed_ratio_min BETWEEN 0 AND 1),
  invest_ratio_min numeric(5,4) NOT NULL DEFAULT 0.25 CHECK (invest_ratio_min BETWEEN 0 AND 1),
  start_fallback_days integer NOT NULL DEFAULT 365 CHECK (start_fallback_days >= 0),
  fee_rate numeric(5,4) CHECK (fee_rate IS NULL OR fee_rate BETWEEN 0 AND 1),
  stalled_clause boolean NOT NULL DEFAULT true,
  note text,
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_monitoring_rule_order CHECK (recover_after_days > idle_after_days)
);

CREATE TABLE landmatch.approval_batch (
  id serial PRIMARY KEY,
  code varchar(64) NOT NULL UNIQUE,
  name text NOT NULL,
  doc_no text,
  approval_date date NOT NULL,
  city_code varchar(6) NOT NULL REFERENCES landmatch.admin_division(code),
  county_code varchar(6),
  source text,
  geom geometry(MULTIPOLYGON, 4490) NOT NULL,
  geom_3857 geometry(MULTIPOLYGON, 3857),
  area_m2 double precision,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_approval_batch_geom ON landmatch.approval_batch USING gist (geom);
CREATE INDEX ix_approval_batch_city ON landmatch.approval_batch (city_code);
CREATE TRIGGER derive_geom BEFORE INSERT OR UPDATE OF geom ON landmatch.approval_batch
  FOR EACH ROW EXECUTE FUNCTION landmatch.derive_polygon();

CREATE TABLE landmatch.disposal_case (
  id serial PRIMARY KEY,
  parcel_id bigint NOT NULL REFERENCES landmatch.parcel(id) ON DELETE CASCADE,
  kind varchar(12) NOT NULL CHECK (kind IN ('idle', 'unsupplied')),
  status varchar(8) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  city_code varchar(6) NOT NULL,
  area_m2 double precision NOT NULL,
  stage_at_open varchar(12),
  opened_on date NOT NULL,
  decision varchar(24) CHECK (decision IS NULL OR decision IN (
    'fee', 'recovery', 'extension', 'change_use', 'temporary_use', 'negotiated_recovery',
    'swap', 'supply', 'withdraw', 'adjust')),
  decided_on date,
  closed_on date,
  fee_wan numeric(14,2),
  new_start_date date,
  note text,
  opened_by text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_disposal_case_closed CHECK (status = 'open' OR (decision IS NOT NULL AND closed_on IS NOT NULL)),
  CONSTRAINT ck_disposal_case_decision_kind CHECK (decision IS NULL OR
    (kind = 'idle' AND decision IN ('fee', 'recovery', 'extension', 'change_use', 'temporary_use',
                                    'negotiated_recovery', 'swap')) OR
    (kind = 'unsupplied' AND decision IN ('supply', 'withdraw', 'adjust')))
);
CREATE UNIQUE INDEX uq_disposal_case_open_parcel ON landmatch.disposal_case (parcel_id)
  WHERE status = 'open';
CREATE INDEX ix_disposal_case_city ON landmatch.disposal_case (city_code, status);

CREATE TABLE landmatch.disposal_step (
  id serial PRIMARY KEY,
  case_id integer NOT NULL REFERENCES landmatch.disposal_case(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  kind varchar(24) NOT NULL CHECK (kind IN ('investigation_notice', 'holder_reply',
    'determination', 'public_notice', 'plan', 'decision')),
  due_on date NOT NULL,
  done_on date,
  doc_no text,
  note text,
  actor text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_disposal_step_case_seq UNIQUE (case_id, seq)
);
CREATE INDEX ix_disposal_step_open ON landmatch.disposal_step (due_on) WHERE done_on IS NULL;

CREATE TABLE landmatch.disposal_target (
  id serial PRIMARY KEY,
  city_code varchar(6) NOT NULL CHECK (city_code ~ '^[0-9]{6}$'),
  year integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  kind varchar(12) NOT NULL CHECK (kind IN ('idle', 'unsupplied')),
  target_area_m2 double precision NOT NULL CHECK (target_area_m2 >= 0),
  deadline date NOT NULL,
  source text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_disposal_target_city_year_kind UNIQUE (city_code, year, kind)
);

-- Cases, steps, rules and targets keep every state in layer_version (actor/reason from
-- landmatch.engine.audited), like the reference layers.
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.disposal_case
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history();
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.disposal_step
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history();
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.disposal_target
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history();
CREATE TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON landmatch.approval_batch FOR EACH STATEMENT EXECUTE FUNCTION landmatch.bump_data_version();

INSERT INTO landmatch.data_state (name, version) VALUES ('approval_batch', 0)
  ON CONFLICT (name) DO NOTHING;
"""

DOWNGRADE_SQL = """
DROP TABLE IF EXISTS landmatch.disposal_target;
DROP TABLE IF EXISTS landmatch.disposal_step;
DROP TABLE IF EXISTS landmatch.disposal_case;
DROP TABLE IF EXISTS landmatch.approval_batch;
DROP TABLE IF EXISTS landmatch.monitoring_rule;
DELETE FROM landmatch.data_state WHERE name = 'approval_batch';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
