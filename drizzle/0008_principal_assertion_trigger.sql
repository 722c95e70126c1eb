-- A principal whose key row changed (revoked, deleted, new roles or scopes) since it was
-- cached aborts the D1 batch of its request; an unchanged one stores nothing here.
CREATE TRIGGER `principal_assertions_check` BEFORE INSERT ON `principal_assertions`
BEGIN
  SELECT CASE
    WHEN NEW.actual = 1 THEN RAISE(IGNORE)
    ELSE RAISE(ABORT, 'principal changed')
  END;
END;
