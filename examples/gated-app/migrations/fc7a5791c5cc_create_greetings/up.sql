CREATE TABLE greetings (
    id BIGINT PRIMARY KEY,
    language TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL
);
