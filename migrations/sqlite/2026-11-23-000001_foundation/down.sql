DROP TABLE procedures;
DROP TABLE sectors;
DROP TABLE rate_limits;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE applicants;
DROP TABLE agencies;
