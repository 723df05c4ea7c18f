-- Runs with search_path set to the store's schema.
-- SIP users for digest authentication: HA1 = H(username:realm:password) in lower-case hex, never
-- the password. A user needs the HA1 of every algorithm the registrar offers to answer it.
CREATE TABLE sip_users (
  realm      text        NOT NULL,
  username   text        NOT NULL,
  ha1_md5    text        CHECK (ha1_md5 ~ '^[0-9a-f]{32}$'),
  ha1_sha256 text        CHECK (ha1_sha256 ~ '^[0-9a-f]{64}$'),
  enabled    boolean     NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (realm, username),
  CONSTRAINT sip_users_has_ha1 CHECK (ha1_md5 IS NOT NULL OR ha1_sha256 IS NOT NULL)
);
