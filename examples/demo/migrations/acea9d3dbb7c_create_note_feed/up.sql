-- Needs both branches: the notes, and the handles of their authors.
CREATE VIEW note_feed AS
SELECT notes.id AS note_id, accounts.handle AS author, notes.title AS title
FROM notes
JOIN accounts ON accounts.id = notes.account_id;
