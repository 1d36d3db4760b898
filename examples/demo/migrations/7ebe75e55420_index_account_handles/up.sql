-- Safe only after the backfill: every account now has a distinct handle.
CREATE UNIQUE INDEX accounts_handle_key ON accounts (handle);
