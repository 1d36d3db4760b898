DELETE FROM greetings WHERE id IN (1, 2, 3);
