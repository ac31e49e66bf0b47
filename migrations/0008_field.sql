-- Field work (DESIGN.md §4): phones paired with one-time codes, the idempotent sync of actions
-- recorded offline, patrols measured from their tracks, visits, daily logs, meetings, photos,
-- and the duty rules compliance is judged against.

-- A device token is an API token bound to a phone; pairing codes are one-time and short-lived.
ALTER TABLE api_tokens ADD COLUMN device text;
CREATE TABLE pairing_codes (
    code_sha256 bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    token_id    bigint REFERENCES api_tokens (id)
);

-- Every synced action once, by the id the phone gave it: a retried sync finds it here.
CREATE TABLE field_actions (
    id          uuid PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    kind        text NOT NULL,
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    result      jsonb
);

-- Photos are files under the data directory named by their SHA-256; this is their record.
CREATE TABLE photos (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    mime        text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes       integer NOT NULL CHECK (bytes > 0),
    user_id     bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- 巡查: a track; points are personal data, deleted after the retention period.
CREATE TABLE patrols (
    id             uuid PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id),
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    length_m       double precision NOT NULL DEFAULT 0,
    dropped_points integer NOT NULL DEFAULT 0,
    demo           boolean NOT NULL DEFAULT false
);
CREATE INDEX patrols_user_started ON patrols (user_id, started_at);
CREATE TABLE patrol_points (
    patrol_id  uuid NOT NULL REFERENCES patrols (id) ON DELETE CASCADE,
    t          timestamptz NOT NULL,
    accuracy_m real NOT NULL,
    geom       geometry(Point, 4490) NOT NULL,
    PRIMARY KEY (patrol_id, t)
);
-- Which grids a patrol entered: time inside, and the buildings within reach of the track.
CREATE TABLE patrol_grids (
    patrol_id  uuid NOT NULL REFERENCES patrols (id) ON DELETE CASCADE,
    cell_code  text NOT NULL,
    seconds    double precision NOT NULL,
    buildings  integer NOT NULL,
    covered    bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (patrol_id, cell_code)
);
CREATE INDEX patrol_grids_cell ON patrol_grids (cell_code);

-- 走访: a household, an outcome, the phone's position (flagged when far from the building).
CREATE TABLE visits (
    id           uuid PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    household_id bigint NOT NULL REFERENCES households (id),
    cell_code    text,
    at           timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('见面', '未见面', '电话联系')),
    problems     text[] NOT NULL DEFAULT '{}',
    note         text,
    photos       text[] NOT NULL DEFAULT '{}',
    geom         geometry(Point, 4490),
    accuracy_m   real,
    distance_m   double precision,
    far          boolean NOT NULL DEFAULT false,
    demo         boolean NOT NULL DEFAULT false
);
CREATE INDEX visits_household_at ON visits (household_id, at);
-- Visit duties are found by category: the households (and people) holding one.
CREATE INDEX households_categories ON households USING gin (categories);
CREATE INDEX people_categories ON people USING gin (categories);
CREATE INDEX visits_user_at ON visits (user_id, at);

-- 工作日志: one per working day; a submitted version never changes (an amendment is a new one).
CREATE TABLE work_logs (
    id           uuid PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    day          date NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    notes        text NOT NULL,
    summary      jsonb NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    demo         boolean NOT NULL DEFAULT false,
    UNIQUE (user_id, day, version)
);
CREATE FUNCTION work_logs_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a submitted work log is immutable; submit a new version';
END $$;
CREATE TRIGGER work_logs_immutable BEFORE UPDATE ON work_logs
    FOR EACH ROW EXECUTE FUNCTION work_logs_immutable();
CREATE TABLE log_comments (
    id      bigserial PRIMARY KEY,
    log_id  uuid NOT NULL REFERENCES work_logs (id),
    author  text NOT NULL,
    comment text NOT NULL CHECK (comment <> ''),
    at      timestamptz NOT NULL DEFAULT now()
);

-- 例会: level 1 (township) quarterly, 2 (village) monthly, 3 (grid) weekly.
CREATE TABLE meetings (
    id        uuid PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id),
    level     smallint NOT NULL CHECK (level IN (1, 2, 3)),
    cell_code text NOT NULL,
    day       date NOT NULL,
    attendees text[] NOT NULL DEFAULT '{}',
    minutes   text NOT NULL,
    photos    text[] NOT NULL DEFAULT '{}',
    demo      boolean NOT NULL DEFAULT false
);
CREATE INDEX meetings_cell_day ON meetings (cell_code, day);

-- The duty rules, as data (seeded from the seeds' figures); compliance judges against these.
CREATE TABLE field_rules (
    key         text PRIMARY KEY,
    value       double precision NOT NULL CHECK (value >= 0),
    description text NOT NULL
);
INSERT INTO field_rules (key, value, description) VALUES
    ('patrol_days_per_week.grid', 2, '三级网格员每周不少于2天深入责任片区巡查'),
    ('patrol_days_per_week.village', 1, '二级网格长每周不少于1天深入下级网格'),
    ('patrol_day_min_minutes', 10, '一天在责任网格内巡查满10分钟才计为巡查日'),
    ('coverage_distance_m', 50, '距巡查轨迹50米内的楼栋计为覆盖'),
    ('visit_far_m', 100, '走访签到位置距楼栋超过100米时标记'),
    ('visit_interval_days.困难家庭', 30, '困难家庭每月必访'),
    ('visit_interval_days.流动', 30, '流动人员每月必访'),
    ('visit_interval_days.空巢老人', 30, '空巢老人每月必访'),
    ('visit_interval_days.社区矫正', 30, '社区矫正对象每月必访'),
    ('log_every_working_day', 1, '每个工作日如实填写网格化管理工作日志'),
    ('meeting_interval_days.3', 7, '三级网格长每周召集网格员例会'),
    ('meeting_interval_days.2', 30, '二级网格长每月召集例会'),
    ('meeting_interval_days.1', 91, '一级网格长每季度召集例会'),
    ('track_retention_days', 365, '巡查轨迹与走访位置保留1年后删除'),
    ('track_max_accuracy_m', 50, '精度差于50米的定位点丢弃'),
    ('track_max_speed_kmh', 40, '隐含速度超过40公里/小时的定位点丢弃');
