-- The teams behind the grids (DESIGN.md §4): roles as data, memberships with from–to dates so
-- the team of any past day is known, consent per scope as a log (PIPL Art. 25), the team rules,
-- the 千分制 scheme with manual scores, the year-end satisfaction vote on one-time codes, and
-- the published 公示.

-- Roles ("1+A+B": 网格员服务团队, 专业服务团队, 辅助团队). `scored` marks the 专职力量 assessed
-- under the 千分制 scheme.
CREATE TABLE staff_roles (
    name        text PRIMARY KEY CHECK (name <> '' AND length(name) <= 20),
    team        text NOT NULL CHECK (team IN ('网格员服务团队', '专业服务团队', '辅助团队')),
    scored      boolean NOT NULL DEFAULT false,
    sort        integer NOT NULL DEFAULT 100,
    description text NOT NULL DEFAULT ''
);
INSERT INTO staff_roles (name, team, scored, sort, description) VALUES
    ('网格长', '网格员服务团队', true, 0, '网格第一责任人，每半年考核、年底满意度测评'),
    ('专职网格员', '网格员服务团队', true, 1, '专职力量，千分制考核'),
    ('兼职网格员', '网格员服务团队', true, 2, '兼职力量，千分制考核'),
    ('网格员', '网格员服务团队', true, 3, '网格员'),
    ('信息员', '网格员服务团队', false, 4, '信息采集与上报'),
    ('网格指导员', '网格员服务团队', false, 5, '包片联系的党员干部'),
    ('片区长', '网格员服务团队', false, 6, '片区（二级网格）负责人'),
    ('联络专员', '网格员服务团队', false, 7, '每个片区网格配备1名联络专员'),
    ('社区民警', '专业服务团队', false, 20, '专业服务团队：社区民警'),
    ('法律顾问', '专业服务团队', false, 21, '专业服务团队：法律顾问'),
    ('消防专员', '专业服务团队', false, 22, '专业服务团队：消防'),
    ('家庭医生', '专业服务团队', false, 23, '专业服务团队：家庭医生'),
    ('志愿者', '辅助团队', false, 40, '辅助团队：志愿者'),
    ('楼栋长', '辅助团队', false, 41, '辅助团队：楼栋长'),
    ('单元长', '辅助团队', false, 42, '辅助团队：单元长');

-- Memberships: [since, until) — `until` is the first day no longer served, NULL while serving.
-- A past incident or score names the team of its day.
ALTER TABLE cell_staff DROP CONSTRAINT cell_staff_role_check;
ALTER TABLE cell_staff DROP CONSTRAINT cell_staff_pkey;
ALTER TABLE cell_staff
    ADD COLUMN id bigserial PRIMARY KEY,
    ADD COLUMN until date,
    ADD COLUMN changed_by text,
    ADD CONSTRAINT cell_staff_role FOREIGN KEY (role) REFERENCES staff_roles (name) ON UPDATE CASCADE,
    ADD CONSTRAINT cell_staff_dates CHECK (until IS NULL OR until >= since);
CREATE UNIQUE INDEX cell_staff_current ON cell_staff (cell_code, staff_id, role) WHERE until IS NULL;
CREATE INDEX cell_staff_cell ON cell_staff (cell_code, since);

-- A staff member may be the person behind an app account (scores read that account's records).
ALTER TABLE staff
    ADD COLUMN user_id bigint UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- Consent to publish, per scope, as a log: the latest record of a scope decides.
CREATE TABLE staff_consents (
    id          bigserial PRIMARY KEY,
    staff_id    bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    scope       text NOT NULL CHECK (scope IN ('name', 'photo', 'phone')),
    granted     boolean NOT NULL,
    given_on    date NOT NULL,
    how         text NOT NULL CHECK (how <> '' AND length(how) <= 40),
    note        text,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_consents_staff ON staff_consents (staff_id, scope, id DESC);
INSERT INTO staff_consents (staff_id, scope, granted, given_on, how, note, recorded_by)
    SELECT s.id, scope, true, (s.publication_consent_at AT TIME ZONE 'Asia/Shanghai')::date,
           '书面', s.consent_note, 'migration 0009'
    FROM staff s, unnest(ARRAY['name', 'photo', 'phone']) AS scope
    WHERE s.publication_consent_at IS NOT NULL;
ALTER TABLE staff DROP COLUMN publication_consent_at, DROP COLUMN consent_note;
-- The current consent of every staff member: what every public output reads.
CREATE VIEW staff_consent AS
    SELECT s.id AS staff_id,
        coalesce((SELECT c.granted FROM staff_consents c WHERE c.staff_id = s.id AND c.scope = 'name'
                  ORDER BY c.id DESC LIMIT 1), false) AS name,
        coalesce((SELECT c.granted FROM staff_consents c WHERE c.staff_id = s.id AND c.scope = 'photo'
                  ORDER BY c.id DESC LIMIT 1), false) AS photo,
        coalesce((SELECT c.granted FROM staff_consents c WHERE c.staff_id = s.id AND c.scope = 'phone'
                  ORDER BY c.id DESC LIMIT 1), false) AS phone
    FROM staff s;

-- Team rules, checked and listed (not enforced): at a level, at least `min` (and at most `max`)
-- current members in a role.
CREATE TABLE team_rules (
    id          serial PRIMARY KEY,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    role        text NOT NULL REFERENCES staff_roles (name) ON UPDATE CASCADE,
    min         integer NOT NULL DEFAULT 1 CHECK (min >= 0),
    max         integer CHECK (max IS NULL OR max >= min),
    description text NOT NULL,
    UNIQUE (level, role)
);
INSERT INTO team_rules (level, role, min, max, description) VALUES
    (3, '网格长', 1, 1, '每个网格有且只有1名网格长'),
    (2, '联络专员', 1, NULL, '每个片区网格配备1名联络专员');

-- The 千分制 scheme as data: items scored from the records (`source`) or by hand ('manual'),
-- each worth up to `max_points`; a point is worth `yuan_per_point` of the subsidy.
CREATE TABLE score_schemes (
    name           text PRIMARY KEY CHECK (name <> ''),
    yuan_per_point double precision NOT NULL CHECK (yuan_per_point >= 0),
    active         boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX score_schemes_active ON score_schemes (active) WHERE active;
CREATE TABLE score_items (
    scheme      text NOT NULL REFERENCES score_schemes (name) ON UPDATE CASCADE,
    key         text NOT NULL CHECK (key ~ '^[a-z_]+$'),
    name        text NOT NULL,
    source      text NOT NULL CHECK (source IN ('patrol', 'coverage', 'logs', 'visits', 'on_time', 'satisfaction', 'manual')),
    max_points  double precision NOT NULL CHECK (max_points > 0),
    sort        integer NOT NULL DEFAULT 0,
    description text NOT NULL,
    PRIMARY KEY (scheme, key)
);
INSERT INTO score_schemes (name, yuan_per_point, active) VALUES ('千分制', 1, true);
INSERT INTO score_items (scheme, key, name, source, max_points, sort, description) VALUES
    ('千分制', 'patrol', '巡查天数', 'patrol', 250, 1, '巡查日 / 应巡查日（每周不少于2天）× 250'),
    ('千分制', 'coverage', '巡查覆盖', 'coverage', 100, 2, '责任网格楼栋被巡查轨迹覆盖的比例 × 100'),
    ('千分制', 'logs', '工作日志', 'logs', 150, 3, '已填写日志的工作日 / 工作日 × 150'),
    ('千分制', 'visits', '入户走访', 'visits', 200, 4, '完成的走访 / 应走访 × 200'),
    ('千分制', 'on_time', '按期结案率', 'on_time', 100, 5, '网格事件按期结案率 × 100（无应结事件计满分）'),
    ('千分制', 'satisfaction', '群众满意率', 'satisfaction', 100, 6, '网格事件满意率 × 100（无评价计满分）'),
    ('千分制', 'conduct', '日常表现', 'manual', 100, 7, '由上级网格长评定，须写明理由');

-- Manual scores: who gave how many points and why; the latest entry for an item counts.
CREATE TABLE score_entries (
    id        bigserial PRIMARY KEY,
    period    text NOT NULL CHECK (period ~ '^[0-9]{4}H[12]$'),
    staff_id  bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    item      text NOT NULL,
    points    double precision NOT NULL CHECK (points >= 0),
    reason    text NOT NULL CHECK (reason <> ''),
    scored_by text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX score_entries_period ON score_entries (period, staff_id, item, id DESC);

-- The electorate of the year-end vote per grid: party members and villagers' representatives.
-- Names are personal data and never leave the authorised endpoints.
CREATE TABLE electors (
    id        bigserial PRIMARY KEY,
    cell_code text NOT NULL,
    name      text NOT NULL CHECK (name <> '' AND length(name) <= 40),
    kind      text NOT NULL CHECK (kind IN ('党员', '村民代表', '居民代表')),
    added_by  text NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cell_code, name, kind)
);

-- 满意度测评: a vote on the 网格长 of each grid, recorded when the vote opens.
CREATE TABLE votes (
    id        bigserial PRIMARY KEY,
    period    text NOT NULL CHECK (period <> '' AND length(period) <= 32),
    opened_by text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz
);
CREATE TABLE vote_cells (
    vote_id     bigint NOT NULL REFERENCES votes (id) ON DELETE CASCADE,
    cell_code   text NOT NULL,
    leader_id   bigint NOT NULL REFERENCES staff (id),
    ballots     integer NOT NULL CHECK (ballots > 0),
    PRIMARY KEY (vote_id, cell_code)
);
-- One-time codes: a code knows its grid and whether it was used, never who held it.
CREATE TABLE ballot_codes (
    code      text PRIMARY KEY CHECK (code ~ '^[2-9A-HJ-NP-Z]{10}$'),
    vote_id   bigint NOT NULL,
    cell_code text NOT NULL,
    used      boolean NOT NULL DEFAULT false,
    FOREIGN KEY (vote_id, cell_code) REFERENCES vote_cells (vote_id, cell_code) ON DELETE CASCADE
);
CREATE INDEX ballot_codes_vote ON ballot_codes (vote_id, cell_code);
-- The ballots as counts only: no row per ballot, so a stored choice cannot be traced to a code,
-- a time or an order.
CREATE TABLE vote_counts (
    vote_id   bigint NOT NULL,
    cell_code text NOT NULL,
    choice    text NOT NULL CHECK (choice IN ('满意', '基本满意', '不满意')),
    n         integer NOT NULL DEFAULT 0 CHECK (n >= 0),
    PRIMARY KEY (vote_id, cell_code, choice),
    FOREIGN KEY (vote_id, cell_code) REFERENCES vote_cells (vote_id, cell_code) ON DELETE CASCADE
);

-- 公示: results an administrator published for the grids under a cell (a village). The figures
-- are frozen at publication; names follow the current consent when shown.
CREATE TABLE publications (
    id           bigserial PRIMARY KEY,
    period       text NOT NULL CHECK (period <> '' AND length(period) <= 32),
    under_code   text NOT NULL,
    vote_id      bigint REFERENCES votes (id),
    results      jsonb NOT NULL,
    published_by text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz
);
CREATE INDEX publications_under ON publications (under_code, published_at DESC);
