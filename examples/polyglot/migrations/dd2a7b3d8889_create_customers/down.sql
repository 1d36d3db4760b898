-- downgrade of revision dd2a7b3d8889: create customers
DROP TABLE customers;
