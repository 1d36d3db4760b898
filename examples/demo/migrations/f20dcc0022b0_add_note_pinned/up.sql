-- 0 or 1: INTEGER, because SQLite has no BOOLEAN type of its own.
ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
