-- upgrade of revision dd2a7b3d8889: create customers
-- Runs inside a transaction the host owns: no BEGIN/COMMIT here.
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT,
    email TEXT NOT NULL UNIQUE
);

INSERT INTO customers (id, first_name, last_name, email) VALUES
    (1, 'ada', 'lovelace', 'Ada@Analytical.example'),
    (2, 'GRACE', 'hopper', 'grace@navy.example'),
    (3, 'alan', NULL, 'alan@bletchley.example'),
    (4, 'émilie', 'du châtelet', 'emilie@cirey.example'),
    (5, 'katherine', 'johnson', 'KJ@NASA.example');
