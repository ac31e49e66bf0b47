-- 吹哨报到 (DESIGN.md §4): departments that are dispatched to, report for duty (报到) and act;
-- the 准入清单 of matters that may be handed to grids; the stage clocks of an incident; the
-- reverse assessment of departments by townships; extra fields per category (Open311 metadata).

-- The departments: a township's 站所, the county's 直属部门, the 派出所, the 法庭 …
CREATE TABLE departments (
    code         text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$'),
    name         text NOT NULL CHECK (name <> '' AND length(name) <= 80),
    kind         text NOT NULL CHECK (kind IN ('站所', '县直部门', '派出所', '法庭', '其他')),
    -- township: answers to a township (its 站所, a 派出所); county: a county department.
    level        text NOT NULL CHECK (level IN ('township', 'county')),
    -- The township (a 9-digit cell code) a township-level department serves.
    township     text CHECK (township ~ '^[0-9]{9}$'),
    -- Hours (on the working-day calendar) a dispatched department has to report for duty.
    report_hours integer NOT NULL DEFAULT 2 CHECK (report_hours BETWEEN 1 AND 72),
    phone        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    CHECK ((level = 'township') = (township IS NOT NULL))
);
-- The categories a department owns (whom the command centre is offered first).
CREATE TABLE department_categories (
    department text NOT NULL REFERENCES departments (code) ON DELETE CASCADE,
    category   text NOT NULL REFERENCES incident_categories (code),
    PRIMARY KEY (department, category)
);

-- Department users see their own department's work only.
ALTER TABLE users ADD COLUMN department text REFERENCES departments (code);
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('worker', 'planner', 'command', 'admin', 'department'));
ALTER TABLE users ADD CONSTRAINT users_department_check
    CHECK ((role = 'department') = (department IS NOT NULL));

-- 准入清单: the matters that may be handed to grids, what the grid does about each and which
-- department owns it. An addition is proposed, then approved or rejected by someone else; only
-- approved matters are in force and public.
CREATE TABLE matters (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (name <> '' AND length(name) <= 120),
    category      text REFERENCES incident_categories (code),
    department    text NOT NULL REFERENCES departments (code),
    grid_duty     text NOT NULL CHECK (grid_duty IN ('发现上报', '协助处置', '直接处置')),
    basis         text,
    status        text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'rejected')),
    proposed_by   text NOT NULL,
    proposed_at   timestamptz NOT NULL DEFAULT now(),
    decided_by    text,
    decided_at    timestamptz,
    decision_note text,
    CHECK ((status = 'proposed') = (decided_at IS NULL)),
    CHECK (decided_by IS DISTINCT FROM proposed_by)
);
CREATE UNIQUE INDEX matters_one_in_force ON matters (name) WHERE status <> 'rejected';

-- A department's part in an incident (联动处置: one lead, others assisting): its own 报到 deadline
-- and 处置 clock on the working-day calendar.
CREATE TABLE incident_parts (
    id             bigserial PRIMARY KEY,
    incident_id    bigint NOT NULL REFERENCES incidents (id),
    department     text NOT NULL REFERENCES departments (code),
    lead           boolean NOT NULL,
    state          text NOT NULL DEFAULT '待报到' CHECK (state IN ('待报到', '已报到', '已办结')),
    dispatched_at  timestamptz NOT NULL,
    dispatched_by  text NOT NULL,
    report_due     timestamptz NOT NULL,
    reported_at    timestamptz,
    reported_by    text,
    budget_seconds bigint NOT NULL,
    deadline_at    timestamptz NOT NULL,
    done_at        timestamptz,
    done_by        text,
    result         text,
    UNIQUE (incident_id, department),
    CHECK ((state = '待报到') = (reported_at IS NULL)),
    CHECK ((state = '已办结') = (done_at IS NOT NULL))
);
CREATE UNIQUE INDEX incident_parts_one_lead ON incident_parts (incident_id) WHERE lead;
CREATE INDEX incident_parts_open ON incident_parts (department) WHERE state <> '已办结';

-- The stage clocks (000): 受理 within a response deadline; a problem beyond the township's remit
-- forwarded (上报县级) within 2 working days. The 处置 clock stays in clock_start/budget_seconds.
-- Existing incidents keep every recorded deadline: the new clocks start empty for them
-- (not measured), and 受理 times are taken from their event log.
ALTER TABLE incidents
    ADD COLUMN accepted_at  timestamptz,
    ADD COLUMN response_due timestamptz,
    ADD COLUMN forward_due  timestamptz,
    ADD COLUMN forwarded_at timestamptz,
    ADD COLUMN attributes   jsonb NOT NULL DEFAULT '{}';
UPDATE incidents i SET accepted_at = e.at
FROM (SELECT incident_id, min(at) AS at FROM incident_events WHERE action = '受理' GROUP BY 1) e
WHERE e.incident_id = i.id;

-- The seed rule "county: 2 working days to handle" misread "应当在2个工作日内报送县相关职能部门":
-- that is the township's deadline to forward. County departments get 5 days to handle, as the
-- township's do; every response gets one working day.
DELETE FROM sla_rules WHERE stage = '处置' AND level = 'county' AND category = '*';
INSERT INTO sla_rules (stage, level, category, working_days) VALUES
    ('处置', 'county', '*', 5),
    ('上报', 'township', '*', 2),
    ('受理', 'grid', '*', 1),
    ('受理', 'village', '*', 1),
    ('受理', 'township', '*', 1),
    ('受理', 'county', '*', 1);

-- 反向考核: each township scores each department per period (0–100); averaged per period.
CREATE TABLE department_reviews (
    department text NOT NULL REFERENCES departments (code),
    period     text NOT NULL CHECK (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2])|H[12]|Q[1-4])$'),
    township   text NOT NULL CHECK (township ~ '^[0-9]{9}$'),
    score      numeric(5, 1) NOT NULL CHECK (score BETWEEN 0 AND 100),
    note       text,
    reviewer   text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (department, period, township)
);

-- Extra fields a category needs (Open311 service definitions, `metadata: true`).
CREATE TABLE category_attributes (
    category    text NOT NULL REFERENCES incident_categories (code),
    code        text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    datatype    text NOT NULL CHECK (datatype IN ('string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist')),
    required    boolean NOT NULL DEFAULT false,
    description text NOT NULL,
    position    integer NOT NULL DEFAULT 1,
    choices     text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (category, code),
    CHECK ((datatype LIKE '%valuelist') = (cardinality(choices) > 0))
);
INSERT INTO category_attributes (category, code, datatype, required, description, position, choices) VALUES
    ('0201', 'hazard', 'singlevaluelist', true, '隐患类型', 1, '{通道堵塞,电动车违规充电,消防设施损坏,其他}'),
    ('0201', 'floor', 'number', false, '所在楼层', 2, '{}'),
    ('0203', 'structure', 'singlevaluelist', true, '房屋结构', 1, '{砖混,砖木,框架,土木,其他}'),
    ('0104', 'workers', 'number', true, '涉及人数', 1, '{}'),
    ('0104', 'amount', 'number', false, '涉及金额（元）', 2, '{}');
