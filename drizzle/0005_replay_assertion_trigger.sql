-- A jti inserted twice aborts the D1 batch it is in (token replay); a first use stores nothing here.
CREATE TRIGGER `replay_assertions_check` BEFORE INSERT ON `replay_assertions`
BEGIN
  SELECT CASE
    WHEN NEW.actual = 1 THEN RAISE(IGNORE)
    ELSE RAISE(ABORT, 'token replayed')
  END;
END;
