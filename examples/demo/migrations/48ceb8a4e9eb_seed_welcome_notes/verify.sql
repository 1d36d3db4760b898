-- Present when the welcome notes are there (used by `wasmig verify` and `upgrade --adopt`).
SELECT count(*) FROM notes WHERE title = 'Welcome';
