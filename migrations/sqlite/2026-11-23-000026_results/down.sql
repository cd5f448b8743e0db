DROP TABLE result_versions;
DROP TABLE signing_keys;
DROP TABLE postal_returns;
