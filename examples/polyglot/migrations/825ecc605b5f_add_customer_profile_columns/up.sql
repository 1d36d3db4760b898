-- upgrade of revision 825ecc605b5f: add customer profile columns
-- Filled by the backfills after the merge: full_name by Python (1776944d2ae1),
-- email_domain by JavaScript (34549f16f6b5).
ALTER TABLE customers ADD COLUMN full_name TEXT;
ALTER TABLE customers ADD COLUMN email_domain TEXT;
