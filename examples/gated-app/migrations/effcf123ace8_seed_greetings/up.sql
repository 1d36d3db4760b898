INSERT INTO greetings (id, language, text) VALUES
    (1, 'en', 'Hello'),
    (2, 'fr', 'Bonjour'),
    (3, 'ja', 'こんにちは');
