DELETE FROM notes WHERE title = 'Welcome';
