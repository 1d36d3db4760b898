-- One welcome note per account; the note ids come from the notes table's own
-- generator (SQLite rowid, PostgreSQL identity), so none is named here.
INSERT INTO notes (account_id, title, body)
SELECT id, 'Welcome', 'Hello, ' || display_name || '!'
FROM accounts
ORDER BY id;
