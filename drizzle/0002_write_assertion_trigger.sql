-- A failed assertion aborts the D1 batch it is in; a passing one stores nothing.
CREATE TRIGGER `write_assertions_check` BEFORE INSERT ON `write_assertions`
BEGIN
  SELECT CASE
    WHEN NEW.actual = NEW.expected THEN RAISE(IGNORE)
    ELSE RAISE(ABORT, 'write assertion failed')
  END;
END;
