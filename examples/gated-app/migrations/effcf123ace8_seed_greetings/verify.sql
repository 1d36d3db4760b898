SELECT count(*) FROM greetings WHERE id IN (1, 2, 3);
