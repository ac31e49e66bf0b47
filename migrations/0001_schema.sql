-- Schema v1 of gridmap. Geometries are CGCS2000 (EPSG:4490); codes follow DESIGN.md §1.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Every change of the atlas is a numbered revision; revision 0 is the empty atlas.
CREATE TABLE revisions (
    number      integer PRIMARY KEY CHECK (number >= 0),
    author      text NOT NULL,
    message     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO revisions (number, author, message) VALUES (0, 'gridmap', 'empty atlas');

-- A cell row is current in revisions [valid_from, valid_to); valid_to NULL = still current.
-- History is never rewritten: a change closes the old row and inserts a new one.
CREATE TABLE cells (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]+$' AND length(code) IN (6, 9, 12, 15, 19)),
    parent_code text CHECK (parent_code IS NULL OR starts_with(code, parent_code)),
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 4),
    kind        text NOT NULL,
    name        text NOT NULL CHECK (name <> ''),
    geom        geometry(MultiPolygon, 4490) NOT NULL,
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
    valid_from  integer NOT NULL REFERENCES revisions (number),
    valid_to    integer REFERENCES revisions (number),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((level = 0) = (parent_code IS NULL))
);
CREATE UNIQUE INDEX cells_current_code ON cells (code) WHERE valid_to IS NULL;
CREATE INDEX cells_code_history ON cells (code, valid_from);
CREATE INDEX cells_current_parent ON cells (parent_code) WHERE valid_to IS NULL;
CREATE INDEX cells_geom ON cells USING gist (geom);

-- Splits and merges: which codes a revision retired into which new ones.
CREATE TABLE cell_lineage (
    revision  integer NOT NULL REFERENCES revisions (number),
    old_code  text NOT NULL,
    new_code  text NOT NULL,
    PRIMARY KEY (revision, old_code, new_code)
);

-- 房: a building with its door plate (门牌) and where it stands.
CREATE TABLE buildings (
    id          bigserial PRIMARY KEY,
    ext_id      text UNIQUE,
    address     text NOT NULL,
    address_parts jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom        geometry(Point, 4490) NOT NULL,
    footprint   geometry(MultiPolygon, 4490),
    source_crs  text NOT NULL DEFAULT 'EPSG:4490',
    cell_code   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buildings_geom ON buildings USING gist (geom);
CREATE INDEX buildings_cell ON buildings (cell_code);

-- 户: private data. Never exposed by a public endpoint, tile or page.
CREATE TABLE households (
    id          bigserial PRIMARY KEY,
    ext_id      text UNIQUE,
    building_id bigint REFERENCES buildings (id),
    address     text NOT NULL,
    head_name   text NOT NULL,
    members     integer NOT NULL CHECK (members >= 0),
    phone       text,
    categories  text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_building ON households (building_id);

-- 人: private data; id_number is shown masked except to authorised roles.
CREATE TABLE people (
    id           bigserial PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    name         text NOT NULL,
    id_number    text,
    relation     text,
    categories   text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX people_household ON people (household_id);

-- Grid teams. Photo and phone are published only with a recorded consent (PIPL Art. 25).
CREATE TABLE staff (
    id            bigserial PRIMARY KEY,
    ext_id        text UNIQUE,
    name          text NOT NULL,
    phone         text,
    photo         text,
    office_phone  text,
    duties        text[] NOT NULL DEFAULT '{}',
    publication_consent_at timestamptz,
    consent_note  text
);

CREATE TABLE cell_staff (
    cell_code  text NOT NULL,
    staff_id   bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('网格长', '网格员', '信息员', '志愿者', '专职网格员', '兼职网格员', '社区民警', '网格指导员')),
    since      date NOT NULL DEFAULT current_date,
    PRIMARY KEY (cell_code, staff_id, role)
);
CREATE INDEX cell_staff_staff ON cell_staff (staff_id);

-- Incidents and their append-only event log (the closed loop arrives with the incidents issue).
CREATE TABLE incidents (
    id           bigserial PRIMARY KEY,
    category     text NOT NULL,
    description  text NOT NULL,
    geom         geometry(Point, 4490),
    source_crs   text NOT NULL DEFAULT 'EPSG:4490',
    address      text,
    cell_code    text,
    cell_revision integer REFERENCES revisions (number),
    source       text NOT NULL,
    reporter     text,
    state        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_geom ON incidents USING gist (geom);
CREATE INDEX incidents_cell_state ON incidents (cell_code, state);

CREATE TABLE incident_events (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    action       text NOT NULL,
    from_state   text,
    to_state     text NOT NULL,
    actor        text NOT NULL,
    note         text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- API users and their tokens. Only a SHA-256 of a token is stored.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    role        text NOT NULL CHECK (role IN ('worker', 'planner', 'command', 'admin')),
    cells       text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_sha256 bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
