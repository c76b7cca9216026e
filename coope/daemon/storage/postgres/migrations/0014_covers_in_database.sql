-- Page covers are kept in the database, so that every daemon serving from it has them (see
-- SQLite's 0014: there, files of a data dir are read in; here there never were any).

CREATE TABLE cover_images (
    name text COLLATE "C" PRIMARY KEY,
    data bytea NOT NULL
);
