//! Filing a dossier, and the documents an applicant may reuse.

use super::*;

/// Files a dossier. Citizens file online for themselves; officers at the
/// counter (or by post) and integration accounts on behalf of an applicant
/// named by citizen ID number.
pub fn submit(
    conn: &mut AnyConnection,
    caller: Principal,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    if !submission::may_submit(caller.role) {
        return Err(WorkflowError::Forbidden);
    }
    write_tx(conn, |conn| {
        let mut errors = FieldErrors::new();
        let procedure = match procedures::get(conn, input.procedure_code.trim()) {
            Ok(p) => p,
            Err(StoreError::NotFound) => {
                return Err(invalid(
                    "procedure_code",
                    Problem::rule(RuleCode::UnknownProcedure),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if procedure.spec.status == ProcedureStatus::Abolished {
            return Err(invalid(
                "procedure_code",
                Problem::rule(RuleCode::ProcedureAbolished),
            ));
        }
        let channel = submission::check_channel(
            caller.role,
            input.channel,
            procedure.spec.online_level,
            &mut errors,
        );
        let result_channel = input.result_channel.unwrap_or(channel);

        // The receiving agency: the procedure's, or a commune for commune-wide procedures.
        let choice =
            submission::choose_agency(procedure.agency.as_ref().map(|a| a.id), input.agency_id)
                .map_err(|(field, problem)| invalid(field, problem))?;
        let agency = match choice {
            AgencyChoice::Own(own) => agencies::by_id(conn, own)?,
            AgencyChoice::Chosen(chosen) => match agencies::by_id(conn, chosen) {
                Ok(a) if procedure.spec.levels.contains(&a.level) => a,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(invalid("agency_id", Problem::rule(RuleCode::UnknownAgency)));
                }
                Err(e) => return Err(e.into()),
            },
        };
        if !submission::may_file_at(caller.role, caller.agency_id, agency.id) {
            return Err(WorkflowError::Forbidden);
        }

        // The applicant.
        let applicant = match caller.role {
            Role::Citizen => {
                let user = users::by_id(conn, caller.user_id)?;
                let id = user.applicant_id.ok_or(WorkflowError::Forbidden)?;
                submission::check_citizen_names_no_applicant(
                    input.applicant.is_some(),
                    &mut errors,
                );
                applicants::by_id(conn, id)?
            }
            _ => {
                let Some(given) = input.applicant.as_ref() else {
                    return Err(invalid("applicant", Problem::Required));
                };
                let Some(identity) = check_applicant(given, &mut errors) else {
                    return Err(WorkflowError::Invalid(errors.into_vec()));
                };
                let known = match &identity {
                    ApplicantIdentity::Person(id) => applicants::by_id_number(conn, id.as_str())?,
                    ApplicantIdentity::Organization(code) => {
                        applicants::by_tax_code(conn, code.as_str())?
                    }
                };
                match known {
                    Some(existing) => existing,
                    None => {
                        submission::check_new_applicant(given, &mut errors);
                        if !errors.is_empty() {
                            return Err(WorkflowError::Invalid(errors.into_vec()));
                        }
                        let name = nfc(&given.full_name);
                        let phone = given.phone.as_deref().and_then(normalize_phone);
                        let email = given
                            .email
                            .as_deref()
                            .map(|e| e.trim().to_lowercase())
                            .filter(|e| !e.is_empty());
                        let address = given.address.as_deref().map(nfc).filter(|a| !a.is_empty());
                        match &identity {
                            ApplicantIdentity::Person(id) => applicants::insert_person(
                                conn,
                                &applicants::NewPerson {
                                    id_number: id.as_str(),
                                    full_name: &name,
                                    date_of_birth: given.date_of_birth,
                                    phone: phone.as_deref(),
                                    email: email.as_deref(),
                                    address: address.as_deref(),
                                },
                            )?,
                            ApplicantIdentity::Organization(code) => {
                                applicants::insert_organization(
                                    conn,
                                    &applicants::NewOrganization {
                                        tax_code: code.as_str(),
                                        full_name: &name,
                                        phone: phone.as_deref(),
                                        email: email.as_deref(),
                                        address: address.as_deref(),
                                    },
                                )?
                            }
                        }
                    }
                }
            }
        };

        // Documents: each requirement met by an upload, a stored copy, or paper at the counter.
        let mut uses = std::collections::HashMap::new();
        for doc in input.documents.iter().filter(|d| !d.paper) {
            if let Some(id) = &doc.document_id {
                uses.insert(id.clone(), usable(conn, caller, applicant.id, id)?);
            }
        }
        let lines = submission::document_lines(
            &procedure.spec.required_documents,
            &input.documents,
            channel,
            |id| uses.get(id).copied().unwrap_or(DocumentUse::Unusable),
            &mut errors,
        );
        let fees = match procedure.spec.fees_due(&input.fee_codes) {
            Ok(fees) => fees.into_iter().cloned().collect::<Vec<_>>(),
            Err(motcua_domain::procedure::FeeChoiceError::Unknown(code)) => {
                errors.add("fee_codes", Problem::rule(RuleCode::UnknownFee));
                tracing::debug!(code, "unknown fee code");
                Vec::new()
            }
            Err(motcua_domain::procedure::FeeChoiceError::TierRequired(codes)) => {
                errors.add("fee_codes", Problem::NotAllowed { allowed: codes });
                Vec::new()
            }
        };
        let note = input.note.as_deref().map(nfc).filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() as u64 > Note::MAX)
        {
            errors.add("note", Problem::TooLong { max: Note::MAX });
        }
        errors.into_result()?;

        let day = local_time::date(now);
        let sequence = dossiers::next_sequence(conn, agency.id, day)?;
        let code = dossier_code(&agency.code, day, sequence);
        let search_text = format!(
            " {} {} {} ",
            fold(&code),
            fold(&applicant.full_name),
            applicant
                .id_number
                .as_deref()
                .or(applicant.tax_code.as_deref())
                .unwrap_or("")
        );
        let fees_due: i64 = fees.iter().map(|f| f.amount_vnd).sum();
        let id = dossiers::insert(
            conn,
            &dossiers::NewDossier {
                code: &code,
                procedure_id: procedure.id,
                agency_id: agency.id,
                applicant_id: applicant.id,
                submitted_by: caller.user_id,
                channel,
                result_channel,
                time_unit: procedure.spec.time_unit.as_str(),
                allowed_time: procedure.spec.committed_days,
                regulated_days: procedure.spec.regulated_days,
                submitted_at: now,
                fees: &fees,
                fees_due_vnd: fees_due,
                search_text: &search_text,
                note: note.as_deref(),
            },
        )?;
        if applicant.tax_code.is_some() {
            let pin = format!("{:06}", rand::rng().random_range(0..1_000_000));
            dossiers::set_tracking_pin(conn, id, &pin)?;
        }
        for line in &lines {
            if let Some(doc) = &line.document_id
                && !line.reused
            {
                documents::set_owner(conn, doc, applicant.id)?;
            }
            dossiers::add_document(
                conn,
                id,
                &NewDossierDocument {
                    requirement: Some(line.requirement.as_str()),
                    document_id: line.document_id.as_deref(),
                    paper: line.paper,
                    reused: line.reused,
                    stage: DocumentStage::Submission.as_str(),
                },
            )?;
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: id,
                action: dossiers::SUBMIT,
                from_status: None,
                to_status: DossierStatus::Submitted,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: note.as_deref(),
                data: Some(serde_json::json!({ "channel": channel, "fees_due_vnd": fees_due })),
                at: now,
            },
        )?;
        Ok(dossiers::by_id(conn, id)?)
    })
}

/// How the caller may use a document for an applicant: the domain's
/// [`submission::document_use`] on what is stored about it.
pub(super) fn usable(
    conn: &mut AnyConnection,
    caller: Principal,
    applicant_id: i64,
    id: &str,
) -> WorkflowResult<DocumentUse> {
    let doc = match documents::get(conn, id) {
        Ok(doc) => doc,
        Err(StoreError::NotFound) => return Ok(DocumentUse::Unusable),
        Err(e) => return Err(e.into()),
    };
    // Only what the rule can ask about is looked up.
    let in_a_dossier = doc.kind == DocumentKind::Input
        && doc.uploaded_by == caller.user_id
        && !documents::dossiers_of(conn, id)?.is_empty();
    let verified = caller.role == Role::Citizen
        && doc.in_store
        && doc.uploaded_by != caller.user_id
        && viewer(conn, caller)?.identity == IdentityStatus::Verified;
    Ok(submission::document_use(
        Some(DocumentHolding {
            kind: doc.kind,
            uploaded_by: doc.uploaded_by,
            applicant_id: doc.applicant_id,
            in_store: doc.in_store,
            in_a_dossier,
        }),
        DocumentUser {
            user_id: caller.user_id,
            role: caller.role,
            verified,
            applicant_id,
        },
    ))
}
