-- Representatives (ủy quyền): a dossier filed by a person or organisation on
-- behalf of the applicant, with the authorisation document (giấy ủy quyền).
-- One row per dossier at most. `user_id` is the representative's citizen
-- account when a citizen filed online for someone else; that account's reach
-- ends with the dossier (`ended_at`, set when the dossier is finished).
-- `contact` is whom tracking and notifications reach: applicant or representative.
CREATE TABLE dossier_representatives (
    dossier_id BIGINT PRIMARY KEY NOT NULL REFERENCES dossiers (id),
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organisation')),
    full_name TEXT NOT NULL,
    id_number TEXT,
    tax_code TEXT,
    phone TEXT,
    email TEXT,
    address TEXT,
    authorisation_document_id TEXT REFERENCES documents (id),
    valid_until DATE,
    contact TEXT NOT NULL CHECK (contact IN ('applicant', 'representative')),
    user_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    CHECK ((kind = 'person' AND id_number IS NOT NULL AND tax_code IS NULL)
        OR (kind = 'organisation' AND tax_code IS NOT NULL AND id_number IS NULL))
);
CREATE INDEX dossier_representatives_user ON dossier_representatives (user_id)
    WHERE user_id IS NOT NULL;
