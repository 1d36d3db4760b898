-- The app's accounts, with a few people for the later revisions to migrate.
-- Two accounts share a display name on purpose: the handle backfill must
-- still give them distinct handles.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL
);

INSERT INTO accounts (id, email, display_name) VALUES
    (1, 'ada@example.com', 'Ada Lovelace'),
    (2, 'grace@example.com', 'Grace Hopper'),
    (3, 'alan@example.com', 'Alan Turing'),
    (4, 'ada.byron@example.com', 'Ada  Lovelace');
