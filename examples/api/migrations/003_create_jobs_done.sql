-- Jobs the worker finished: one row per completion (no unique key on purpose, so a job done twice
-- shows as two rows).
CREATE TABLE jobs_done (
  id       BIGSERIAL   PRIMARY KEY,
  job_id   TEXT        NOT NULL,
  worker   TEXT        NOT NULL,
  version  TEXT        NOT NULL,
  done_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_done_job_id ON jobs_done (job_id);
