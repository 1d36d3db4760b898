-- downgrade of revision 825ecc605b5f: add customer profile columns
ALTER TABLE customers DROP COLUMN email_domain;
ALTER TABLE customers DROP COLUMN full_name;
