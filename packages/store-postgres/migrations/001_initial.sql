-- Runs with search_path set to the store's schema.
CREATE TABLE bindings (
  tenant       text        NOT NULL,
  id           text        NOT NULL,
  seq          bigserial   NOT NULL,
  user_id      text        NOT NULL,
  provider     text        NOT NULL,
  token        text        NOT NULL,
  app          text        NOT NULL,
  environment  text        NOT NULL,
  push_kind    text        NOT NULL,
  format       text        NOT NULL,
  secrets      jsonb,
  params       jsonb,
  origin       text        NOT NULL,
  sip_instance text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, id),
  CONSTRAINT bindings_token_unique UNIQUE (tenant, provider, token)
);
CREATE INDEX bindings_by_user ON bindings (tenant, user_id, created_at, seq);

CREATE TABLE reports (
  tenant          text        NOT NULL,
  notification_id text        NOT NULL,
  status          text        NOT NULL,
  report          jsonb       NOT NULL,
  accepted_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant, notification_id)
);
CREATE INDEX reports_by_accepted_at ON reports (accepted_at);

CREATE TABLE missed_calls (
  tenant     text      NOT NULL,
  user_id    text      NOT NULL,
  ref        text      NOT NULL,
  seq        bigserial NOT NULL,
  entry      jsonb     NOT NULL,
  expires_at bigint    NOT NULL,
  PRIMARY KEY (tenant, user_id, ref)
);
CREATE INDEX missed_calls_by_expiry ON missed_calls (expires_at);
