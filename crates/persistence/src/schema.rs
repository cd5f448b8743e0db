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

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    applicants,
    users,
    refresh_tokens,
    rate_limits,
    sectors,
    procedures,
);
