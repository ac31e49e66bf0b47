-- The registry's configuration and its audit trail (人进户、户进房、房进网格).

-- Categories of households and persons with their sensitivity class; configuration, not code.
CREATE TABLE categories (
    name        text PRIMARY KEY CHECK (name <> ''),
    sensitivity text NOT NULL CHECK (sensitivity IN ('一般', '敏感', '特殊人群'))
);
INSERT INTO categories (name, sensitivity) VALUES
    ('常住', '一般'), ('流动', '一般'), ('户籍', '一般'),
    ('空巢老人', '敏感'), ('留守儿童', '敏感'), ('困难家庭', '敏感'), ('低保', '敏感'), ('残疾', '敏感'),
    ('社区矫正', '特殊人群'), ('刑释', '特殊人群'), ('精神障碍', '特殊人群'), ('吸毒', '特殊人群');

-- Every read of sensitive data and every manual correction, append-only.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_name  text NOT NULL,
    role       text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
