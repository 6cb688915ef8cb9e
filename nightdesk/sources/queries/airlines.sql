-- The carrier reference table, taken whole as a daily snapshot (it is tiny).
SELECT carrier, name FROM airlines ORDER BY carrier
