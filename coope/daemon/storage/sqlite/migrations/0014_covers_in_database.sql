-- Page covers are kept in the database, so that every daemon serving from it has them. They
-- were files in the data dir's covers/ folder (named as pages.cover names them); the files of
-- covers in use are read in here, and the folder is left as it was.

CREATE TABLE cover_images (
    name TEXT PRIMARY KEY,  -- the content's sha256 and its type: '<hex>.png'
    data BLOB NOT NULL
);
-- python: cover_files_into_database
