//! Table definitions shared by both backends. Hand-written: the two migration
//! folders must produce exactly these columns (the test suite runs on both).

diesel::table! {
    agencies (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        level -> Text,
        parent_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        receiving_point -> Bool,
    }
}

diesel::table! {
    applicants (id) {
        id -> BigInt,
        kind -> Text,
        id_number -> Nullable<Text>,
        tax_code -> Nullable<Text>,
        full_name -> Text,
        date_of_birth -> Nullable<Date>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        address -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        agency_id -> Nullable<BigInt>,
        applicant_id -> Nullable<BigInt>,
        full_name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        active -> Bool,
        demo -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        token_version -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rate_limits (bucket, subject) {
        bucket -> Text,
        subject -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    sectors (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    procedures (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        name_folded -> Text,
        search_text -> Text,
        sector_code -> Text,
        levels -> Text,
        online_level -> Text,
        status -> Text,
        agency_id -> Nullable<BigInt>,
        has_fees -> Bool,
        fees_payable_online -> Bool,
        complete -> Bool,
        spec -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        abolished_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> agencies (agency_id));
diesel::joinable!(users -> applicants (applicant_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(procedures -> agencies (agency_id));
diesel::joinable!(procedures -> sectors (sector_code));

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
        name -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    calendar_seeded_years (year) {
        year -> Integer,
        seeded_at -> Timestamp,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        applicant_id -> Nullable<BigInt>,
        uploaded_by -> BigInt,
        kind -> Text,
        title -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        in_store -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dossier_sequences (agency_id, day) {
        agency_id -> BigInt,
        day -> Date,
        last_value -> BigInt,
    }
}

diesel::table! {
    dossiers (id) {
        id -> BigInt,
        code -> Text,
        procedure_id -> BigInt,
        agency_id -> BigInt,
        handling_agency_id -> BigInt,
        applicant_id -> BigInt,
        submitted_by -> BigInt,
        channel -> Text,
        result_channel -> Text,
        status -> Text,
        assignee_id -> Nullable<BigInt>,
        assigned_unit_id -> Nullable<BigInt>,
        time_unit -> Text,
        allowed_time -> Integer,
        regulated_days -> Integer,
        submitted_at -> Timestamp,
        received_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        appointment_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
        paused_remaining -> Nullable<Text>,
        supplement_from -> Nullable<Text>,
        supplement_count -> Integer,
        processed_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        fees_due_vnd -> BigInt,
        fees_paid_vnd -> BigInt,
        fees -> Text,
        search_text -> Text,
        note -> Nullable<Text>,
        version -> Integer,
        updated_at -> Timestamp,
        received_at_agency_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    dossier_agencies (dossier_id, agency_id) {
        dossier_id -> BigInt,
        agency_id -> BigInt,
    }
}

diesel::table! {
    dossier_documents (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        requirement -> Nullable<Text>,
        document_id -> Nullable<Text>,
        paper -> Bool,
        reused -> Bool,
        stage -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    dossier_events (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor_id -> Nullable<BigInt>,
        actor_role -> Text,
        actor_agency_id -> Nullable<BigInt>,
        note -> Nullable<Text>,
        data -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    supplement_requests (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        requested_by -> BigInt,
        requested_at -> Timestamp,
        items -> Text,
        deadline -> Date,
        supplemented_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    apology_letters (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        reason -> Text,
        new_appointment_date -> Date,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dossier_ratings (dossier_id) {
        dossier_id -> BigInt,
        score -> Text,
        comment -> Nullable<Text>,
        rated_by -> BigInt,
        rated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (caller, key) {
        caller -> Text,
        key -> Text,
        fingerprint -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(dossiers -> procedures (procedure_id));
diesel::joinable!(dossiers -> applicants (applicant_id));
diesel::joinable!(dossier_agencies -> dossiers (dossier_id));
diesel::joinable!(dossier_documents -> dossiers (dossier_id));
diesel::joinable!(dossier_documents -> documents (document_id));
diesel::joinable!(dossier_events -> dossiers (dossier_id));
diesel::joinable!(documents -> applicants (applicant_id));

diesel::table! {
    dossier_tracking_pins (dossier_id) {
        dossier_id -> BigInt,
        pin -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    applicants,
    users,
    refresh_tokens,
    rate_limits,
    sectors,
    procedures,
    calendar_days,
    calendar_seeded_years,
    documents,
    dossier_sequences,
    dossiers,
    dossier_agencies,
    dossier_documents,
    dossier_events,
    supplement_requests,
    apology_letters,
    dossier_ratings,
    idempotency_keys,
    payments,
    payment_events,
    gateway_notifications,
    refunds,
    reconciliation_runs,
    reconciliation_items,
    sandbox_transactions,
    dossier_facts,
    kpi_agg,
    ticket_sequences,
    queue_tickets,
    queue_waits,
    feedback,
    feedback_messages,
    integration_grants,
);

diesel::table! {
    payments (id) {
        id -> Text,
        dossier_id -> BigInt,
        method -> Text,
        gateway -> Text,
        txn_ref -> Text,
        amount_vnd -> BigInt,
        status -> Text,
        failure_code -> Nullable<Text>,
        next_url -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        receipt_number -> Nullable<Text>,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        gateway_txn_no -> Nullable<Text>,
        bank_code -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        corrected -> Bool,
        next_check_at -> Nullable<Timestamp>,
        check_attempts -> Integer,
        claimed_until -> Nullable<Timestamp>,
        applied_vnd -> BigInt,
    }
}

diesel::table! {
    payment_events (id) {
        id -> BigInt,
        payment_id -> Text,
        gateway -> Text,
        gateway_txn_no -> Nullable<Text>,
        kind -> Text,
        from_status -> Text,
        to_status -> Text,
        detail -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    gateway_notifications (id) {
        id -> BigInt,
        gateway -> Text,
        raw_query -> Text,
        txn_ref -> Nullable<Text>,
        reply_code -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    refunds (id) {
        id -> Text,
        payment_id -> Text,
        amount_vnd -> BigInt,
        reason -> Text,
        status -> Text,
        gateway_ref -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reconciliation_runs (day) {
        day -> Date,
        run_at -> Timestamp,
        matched -> Integer,
        missing -> Integer,
        mismatch -> Integer,
        overpaid -> Integer,
    }
}

diesel::table! {
    reconciliation_items (id) {
        id -> BigInt,
        day -> Date,
        txn_ref -> Text,
        payment_id -> Nullable<Text>,
        result -> Text,
        our_status -> Nullable<Text>,
        our_amount_vnd -> Nullable<BigInt>,
        gateway_status -> Nullable<Text>,
        gateway_amount_vnd -> Nullable<BigInt>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    sandbox_transactions (txn_ref) {
        txn_ref -> Text,
        txn_no -> Text,
        amount -> BigInt,
        status -> Text,
        response_code -> Nullable<Text>,
        pay_date -> Nullable<Text>,
        refunded -> BigInt,
        queries -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dossier_facts (dossier_id) {
        dossier_id -> BigInt,
        facts -> Text,
    }
}

diesel::table! {
    kpi_agg (grain, period, agency_id, procedure_id, channel, shard) {
        grain -> Text,
        period -> Date,
        agency_id -> BigInt,
        procedure_id -> BigInt,
        channel -> Text,
        received -> BigInt,
        received_online -> BigInt,
        digitized -> BigInt,
        reused -> BigInt,
        fee_bearing -> BigInt,
        returned -> BigInt,
        rejected -> BigInt,
        refused -> BigInt,
        withdrawn -> BigInt,
        cancelled -> BigInt,
        decided -> BigInt,
        early -> BigInt,
        on_time -> BigInt,
        late -> BigInt,
        ended -> BigInt,
        used_days -> BigInt,
        regulated_days -> BigInt,
        results -> BigInt,
        results_digital -> BigInt,
        digitized_through -> BigInt,
        paid -> BigInt,
        paid_online -> BigInt,
        ratings -> BigInt,
        ratings_satisfied -> BigInt,
        ratings_unsatisfied -> BigInt,
        due -> BigInt,
        due_finished -> BigInt,
        shard -> Integer,
    }
}

diesel::table! {
    ticket_sequences (agency_id, day) {
        agency_id -> BigInt,
        day -> Date,
        last_value -> BigInt,
    }
}

diesel::table! {
    queue_tickets (id) {
        id -> BigInt,
        agency_id -> BigInt,
        sector_code -> Nullable<Text>,
        day -> Date,
        number -> Integer,
        status -> Text,
        issued_at -> Timestamp,
        called_at -> Nullable<Timestamp>,
        counter -> Nullable<Text>,
        called_by -> Nullable<BigInt>,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    queue_waits (grain, period, agency_id) {
        grain -> Text,
        period -> Date,
        agency_id -> BigInt,
        tickets -> BigInt,
        histogram -> Text,
    }
}

diesel::table! {
    feedback (id) {
        id -> BigInt,
        tracking_code -> Text,
        agency_id -> BigInt,
        procedure_code -> Nullable<Text>,
        subject -> Text,
        content -> Text,
        sender_name -> Nullable<Text>,
        contact -> Nullable<Text>,
        sender_user_id -> Nullable<BigInt>,
        status -> Text,
        handled_at -> Nullable<Timestamp>,
        due_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    feedback_messages (id) {
        id -> BigInt,
        feedback_id -> BigInt,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        body -> Text,
        staff_id -> Nullable<BigInt>,
        at -> Timestamp,
    }
}

diesel::joinable!(payments -> dossiers (dossier_id));
diesel::joinable!(payment_events -> payments (payment_id));
diesel::joinable!(refunds -> payments (payment_id));

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor_username -> Text,
        actor_name -> Text,
        client_addr -> Nullable<Text>,
        request_id -> Nullable<Text>,
        entity_type -> Text,
        entity_id -> Text,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    procedure_versions (procedure_id, version) {
        procedure_id -> BigInt,
        version -> Integer,
        code -> Text,
        action -> Text,
        status -> Text,
        agency_id -> Nullable<BigInt>,
        spec -> Text,
        changed_at -> Timestamp,
        changed_by -> Nullable<BigInt>,
        changed_by_name -> Text,
    }
}

diesel::joinable!(procedure_versions -> procedures (procedure_id));
diesel::allow_tables_to_appear_in_same_query!(procedure_versions, procedures);

// Identity before access (migration 000007).

diesel::table! {
    identity_verifications (user_id) {
        user_id -> BigInt,
        status -> Text,
        method -> Nullable<Text>,
        applicant_id -> Nullable<BigInt>,
        verified_by -> Nullable<BigInt>,
        verified_at -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    identity_attempts (id) {
        id -> BigInt,
        user_id -> BigInt,
        applicant_id -> BigInt,
        method -> Text,
        channel -> Nullable<Text>,
        destination -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        tries -> Integer,
        outcome -> Text,
        actor_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    identity_mismatches (id) {
        id -> BigInt,
        user_id -> BigInt,
        applicant_id -> BigInt,
        account_name -> Text,
        record_name -> Text,
        method -> Text,
        actor_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    integration_grants (user_id, agency_id) {
        user_id -> BigInt,
        agency_id -> BigInt,
        granted_by -> BigInt,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    integration_access_log (id) {
        id -> BigInt,
        user_id -> BigInt,
        method -> Text,
        path -> Text,
        dossier_code -> Nullable<Text>,
        status -> Integer,
        at -> Timestamp,
    }
}

diesel::table! {
    job_runs (job, run_key) {
        job -> Text,
        run_key -> Text,
        claimed_by -> Text,
        claimed_at -> Timestamp,
        lease_until -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

// The catalog's change counter, bumped by triggers (migration 000012).

diesel::table! {
    catalog_generation (id) {
        id -> Integer,
        generation -> BigInt,
    }
}

// The outbox of events others may follow (migration 000020).

diesel::table! {
    events (position) {
        position -> BigInt,
        tx -> BigInt,
        id -> Text,
        event_type -> Text,
        version -> Integer,
        subject_kind -> Text,
        subject -> Text,
        agency_id -> Nullable<BigInt>,
        occurred_at -> Timestamp,
        payload -> Text,
    }
}

// Webhook subscriptions, their deliveries and the attempts log (migration 000021).

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        owner_id -> BigInt,
        url -> Text,
        event_types -> Text,
        agency_id -> Nullable<BigInt>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Integer,
        failing_since -> Nullable<Timestamp>,
        cursor_tx -> BigInt,
        cursor_position -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        event_id -> Text,
        event_position -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        response_excerpt -> Nullable<Text>,
        error -> Nullable<Text>,
        instance -> Text,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    events
);

// Citizen notifications, templates, opt-outs and the worker's cursor (migration 000022).

diesel::table! {
    notifications (id) {
        id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        dossier_code -> Nullable<Text>,
        applicant_id -> Nullable<BigInt>,
        channel -> Text,
        recipient -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_templates (event_type, channel) {
        event_type -> Text,
        channel -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_opt_outs (applicant_id, channel) {
        applicant_id -> BigInt,
        channel -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_feed (name) {
        name -> Text,
        cursor_tx -> BigInt,
        cursor_position -> BigInt,
    }
}

// National portal synchronisation and inbound filings (migration 000025).

diesel::table! {
    portal_sync (dossier_id) {
        dossier_id -> BigInt,
        status -> Text,
        pushed_code -> Nullable<Integer>,
        generation -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        changed_at -> Timestamp,
        synced_at -> Nullable<Timestamp>,
        late_changes -> Integer,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    portal_inbound (portal_code) {
        portal_code -> Text,
        dossier_id -> BigInt,
        received_at -> Timestamp,
    }
}

diesel::joinable!(portal_sync -> dossiers (dossier_id));
diesel::joinable!(portal_inbound -> dossiers (dossier_id));
diesel::allow_tables_to_appear_in_same_query!(portal_sync, dossiers);
diesel::allow_tables_to_appear_in_same_query!(portal_inbound, dossiers);

// E-forms: procedure form definitions and each dossier's form data (migration 000027).

diesel::table! {
    procedure_forms (procedure_id, version) {
        procedure_id -> BigInt,
        version -> Integer,
        definition -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dossier_forms (dossier_id) {
        dossier_id -> BigInt,
        procedure_id -> BigInt,
        applicant_id -> BigInt,
        form_version -> Integer,
        data -> Text,
        prefilled -> Text,
        reused -> Bool,
        supplement_fields -> Text,
        revision -> Integer,
    }
}

diesel::joinable!(procedure_forms -> procedures (procedure_id));
diesel::joinable!(dossier_forms -> dossiers (dossier_id));
diesel::allow_tables_to_appear_in_same_query!(procedure_forms, procedures, dossier_forms);
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, dossiers);

// Results by post, signing keys and result versions (migration 000026).

diesel::table! {
    postal_returns (dossier_id) {
        dossier_id -> BigInt,
        recipient -> Text,
        address -> Text,
        phone -> Text,
        fee_vnd -> BigInt,
        tracking_number -> Nullable<Text>,
        posted_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        failures -> Integer,
        chosen_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        agency_id -> BigInt,
        alg -> Text,
        public_key -> Text,
        sealed_secret -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    result_versions (code) {
        code -> Text,
        dossier_id -> BigInt,
        version -> Integer,
        number -> Text,
        issued_at -> Timestamp,
        agency_code -> Text,
        agency_name -> Text,
        procedure_code -> Text,
        procedure_name -> Text,
        file_sha256 -> Nullable<Text>,
        standing -> Text,
        standing_changed_at -> Nullable<Timestamp>,
        kid -> Text,
        signature -> Text,
        correction_reason -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        requested_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        signed_format -> Integer,
        files_sha256 -> Nullable<Text>,
    }
}

diesel::joinable!(postal_returns -> dossiers (dossier_id));
diesel::joinable!(result_versions -> dossiers (dossier_id));
diesel::joinable!(result_versions -> signing_keys (kid));
diesel::allow_tables_to_appear_in_same_query!(
    postal_returns,
    result_versions,
    signing_keys,
    dossiers
);

// Superseded form data of dossiers, corrected with a supplement (migration 000032).

diesel::table! {
    dossier_form_revisions (dossier_id, revision) {
        dossier_id -> BigInt,
        revision -> Integer,
        data -> Text,
        replaced_at -> Timestamp,
        replaced_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    calendar_generation (id) {
        id -> Integer,
        generation -> BigInt,
    }
}

// `dossiers::for_action` reads whether the dossier carries form data in its joined read.
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, applicants);
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, agencies);
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, dossier_agencies);
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, dossier_ratings);
diesel::allow_tables_to_appear_in_same_query!(dossier_forms, dossier_facts);

diesel::table! {
    dossier_representatives (dossier_id) {
        dossier_id -> BigInt,
        kind -> Text,
        full_name -> Text,
        id_number -> Nullable<Text>,
        tax_code -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        address -> Nullable<Text>,
        authorisation_document_id -> Nullable<Text>,
        valid_until -> Nullable<Date>,
        contact -> Text,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    result_revocations (code) {
        code -> Text,
        reason -> Text,
        revoked_by -> BigInt,
        revoked_at -> Timestamp,
        kid -> Text,
        signature -> Text,
    }
}

diesel::joinable!(result_revocations -> result_versions (code));
diesel::allow_tables_to_appear_in_same_query!(result_revocations, result_versions);
diesel::allow_tables_to_appear_in_same_query!(result_revocations, dossiers);

// `dossiers::for_action` reads the calendar's generation as a subquery of its joined read.
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, dossiers);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, procedures);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, applicants);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, agencies);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, dossier_agencies);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, dossier_ratings);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, dossier_facts);
diesel::allow_tables_to_appear_in_same_query!(calendar_generation, dossier_forms);
