-- Nullable for now: the next revision fills it in, the one after makes it unique.
ALTER TABLE accounts ADD COLUMN handle TEXT;
