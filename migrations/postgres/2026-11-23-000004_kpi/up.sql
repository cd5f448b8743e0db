-- KPIs kept up to date with the events that change them, queue tickets, citizen feedback.

-- What each dossier contributes to the aggregates, as last counted (JSON).
CREATE TABLE dossier_facts (
    dossier_id BIGINT PRIMARY KEY NOT NULL REFERENCES dossiers (id),
    facts TEXT NOT NULL
);

-- Flow counters by day, month and year ('d', 'm', 'y'), per receiving agency, procedure and channel.
CREATE TABLE kpi_agg (
    grain TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
    period DATE NOT NULL,
    agency_id BIGINT NOT NULL,
    procedure_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    received_online BIGINT NOT NULL DEFAULT 0,
    digitized BIGINT NOT NULL DEFAULT 0,
    reused BIGINT NOT NULL DEFAULT 0,
    fee_bearing BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    cancelled BIGINT NOT NULL DEFAULT 0,
    decided BIGINT NOT NULL DEFAULT 0,
    early BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0,
    ended BIGINT NOT NULL DEFAULT 0,
    used_days BIGINT NOT NULL DEFAULT 0,
    regulated_days BIGINT NOT NULL DEFAULT 0,
    results BIGINT NOT NULL DEFAULT 0,
    results_digital BIGINT NOT NULL DEFAULT 0,
    digitized_through BIGINT NOT NULL DEFAULT 0,
    paid BIGINT NOT NULL DEFAULT 0,
    paid_online BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    ratings_satisfied BIGINT NOT NULL DEFAULT 0,
    ratings_unsatisfied BIGINT NOT NULL DEFAULT 0,
    due BIGINT NOT NULL DEFAULT 0,
    due_finished BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, period, agency_id, procedure_id, channel)
);
CREATE INDEX kpi_agg_agency_idx ON kpi_agg (agency_id, grain, period);

-- Dossiers still being processed with the clock running, by due moment: the overdue gauge.
CREATE INDEX dossiers_open_due_idx ON dossiers (due_at)
    WHERE processed_at IS NULL AND finished_at IS NULL AND paused_at IS NULL;

CREATE TABLE ticket_sequences (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    day DATE NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (agency_id, day)
);

CREATE TABLE queue_tickets (
    id BIGSERIAL PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    sector_code TEXT,
    day DATE NOT NULL,
    number INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'completed')),
    issued_at TIMESTAMP NOT NULL,
    called_at TIMESTAMP,
    counter TEXT,
    called_by BIGINT REFERENCES users (id),
    completed_at TIMESTAMP,
    UNIQUE (agency_id, day, number)
);
CREATE INDEX queue_tickets_waiting_idx ON queue_tickets (agency_id, status, id);

-- Minutes from ticket to call, counted per agency and day, for averages and percentiles.
CREATE TABLE queue_waits (
    day DATE NOT NULL,
    agency_id BIGINT NOT NULL,
    -- '' for tickets taken without a sector.
    sector_code TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    tickets BIGINT NOT NULL,
    PRIMARY KEY (day, agency_id, sector_code, minutes)
);

CREATE TABLE feedback (
    id BIGSERIAL PRIMARY KEY,
    tracking_code TEXT NOT NULL UNIQUE,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    procedure_code TEXT,
    subject TEXT NOT NULL,
    content TEXT NOT NULL,
    sender_name TEXT,
    contact TEXT,
    sender_user_id BIGINT REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('received', 'info_requested', 'answered', 'refused', 'closed')),
    -- When it was first answered or refused: what the 15-working-day indicator measures.
    handled_at TIMESTAMP,
    due_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_agency_idx ON feedback (agency_id, created_at);
CREATE INDEX feedback_status_idx ON feedback (status, created_at);

-- The exchange: staff replies and what the sender added, in order.
CREATE TABLE feedback_messages (
    id BIGSERIAL PRIMARY KEY,
    feedback_id BIGINT NOT NULL REFERENCES feedback (id),
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Staff who wrote it; NULL when the sender did.
    staff_id BIGINT REFERENCES users (id),
    at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_messages_feedback_idx ON feedback_messages (feedback_id, id);
