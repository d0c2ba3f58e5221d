-- docker compose only: the official postgres image runs this once, on an empty data volume,
-- as POSTGRES_USER. POSTGRES_DB (kw_app) is the app database (KW_DATABASE_URL); Rasa's tracker
-- store gets its own database (KW_TRACKER_STORE_URL), so the retention purge, backups and
-- permissions of the two can differ. Rasa creates its table itself; bot db-upgrade the app's.
CREATE DATABASE kw_tracker;
