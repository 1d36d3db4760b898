DROP VIEW note_feed;
