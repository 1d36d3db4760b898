DROP INDEX accounts_handle_key;
