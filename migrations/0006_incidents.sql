-- The incident loop: levels, severity, deadlines in working days, suspension, supervision,
-- rating; the category taxonomy and the deadline rules as data; the live event log.

ALTER TABLE incidents
    ADD COLUMN level          text NOT NULL DEFAULT 'grid' CHECK (level IN ('grid', 'village', 'township', 'county')),
    ADD COLUMN severity       smallint NOT NULL DEFAULT 1 CHECK (severity BETWEEN 1 AND 3),
    ADD COLUMN clock_start    timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN budget_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN suspended_since timestamptz,
    ADD COLUMN suspended_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN deadline_at    timestamptz,
    ADD COLUMN supervision    text CHECK (supervision IN ('normal', 'yellow', 'red')),
    ADD COLUMN rating         text CHECK (rating IN ('满意', '基本满意', '不满意')),
    ADD COLUMN closed_at      timestamptz,
    ADD COLUMN photos         text[] NOT NULL DEFAULT '{}';
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_open ON incidents (state) WHERE state NOT IN ('结案', '评价', '作废');

-- Two-level category taxonomy (大类/小类), configuration not code.
CREATE TABLE incident_categories (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    parent      text REFERENCES incident_categories (code),
    severity    smallint NOT NULL DEFAULT 1 CHECK (severity BETWEEN 1 AND 3)
);
INSERT INTO incident_categories (code, name, parent, severity) VALUES
    ('01', '矛盾纠纷', NULL, 2),
    ('0101', '邻里纠纷', '01', 1), ('0102', '婚姻家庭纠纷', '01', 1), ('0103', '土地山林纠纷', '01', 2),
    ('0104', '劳资纠纷', '01', 2), ('0105', '物业纠纷', '01', 1),
    ('02', '安全隐患', NULL, 3),
    ('0201', '消防隐患', '02', 3), ('0202', '燃气隐患', '02', 3), ('0203', '房屋安全', '02', 3),
    ('0204', '地质灾害', '02', 3), ('0205', '道路交通隐患', '02', 2), ('0206', '食品安全', '02', 2),
    ('03', '民生服务', NULL, 1),
    ('0301', '社会保障', '03', 1), ('0302', '医疗卫生', '03', 1), ('0303', '教育', '03', 1),
    ('0304', '供水供电', '03', 2), ('0305', '特殊人群关爱', '03', 1),
    ('04', '市容环境', NULL, 1),
    ('0401', '垃圾堆放', '04', 1), ('0402', '违章搭建', '04', 2), ('0403', '占道经营', '04', 1),
    ('0404', '污水排放', '04', 2), ('0405', '公共设施损坏', '04', 1),
    ('05', '治安稳定', NULL, 2),
    ('0501', '治安隐患', '05', 2), ('0502', '可疑人员', '05', 2), ('0503', '非法集会', '05', 3);

-- Working-day limits per stage × level × category ('*' = any); the most specific rule wins.
CREATE TABLE sla_rules (
    stage        text NOT NULL,
    level        text NOT NULL CHECK (level IN ('grid', 'village', 'township', 'county')),
    category     text NOT NULL DEFAULT '*',
    working_days integer NOT NULL CHECK (working_days BETWEEN 1 AND 60),
    PRIMARY KEY (stage, level, category)
);
INSERT INTO sla_rules (stage, level, category, working_days) VALUES
    ('处置', 'grid', '*', 3),
    ('处置', 'village', '*', 3),
    ('处置', 'township', '*', 5),
    ('处置', 'county', '*', 2),
    ('处置', 'grid', '02', 2);

-- Everything the live stream carries, in one ordered sequence (SSE ids, Last-Event-ID replay).
CREATE TABLE live_events (
    id       bigserial PRIMARY KEY,
    kind     text NOT NULL,
    payload  jsonb NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
