use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn facts(received: Option<NaiveDate>) -> KpiFacts {
    KpiFacts {
        agency_id: 1,
        procedure_id: 1,
        channel: Channel::Counter,
        received,
        digitized: false,
        reused: false,
        fee_bearing: false,
        due: None,
        finished: None,
        ended: None,
        outcome: None,
        used_days: None,
        regulated_days: 5,
        result: None,
        paid: None,
        rating: None,
    }
}

/// Sums the contributions of many dossiers into flows over `[from, to)` and the stock at `to`.
fn period(all: &[KpiFacts], from: NaiveDate, to: NaiveDate) -> (Counters, Counters) {
    let (mut flows, mut stock) = (Counters::default(), Counters::default());
    for f in all {
        for (day, field, value) in contributions(f) {
            if day >= from && day < to {
                flows.add(field, value);
            }
            if day < to {
                stock.add(field, value);
            }
        }
    }
    (flows, stock)
}

#[test]
fn the_seed_departments_2021() {
    // 100 dossiers received in 2021: 91 returned early or on time, 2 still in
    // progress on 3 Dec, 7 cancelled (Bến Tre report).
    let mut all = Vec::new();
    for i in 0..100u32 {
        let received = d(2021, 1 + i % 11, 1 + i % 28);
        let mut f = facts(Some(received));
        f.due = Some(received + chrono::Duration::days(10));
        match i {
            0..=90 => {
                let done = received + chrono::Duration::days(if i % 2 == 0 { 5 } else { 10 });
                f.finished = Some((done, DossierStatus::Returned));
                f.ended = Some(done);
                f.outcome = Some(if i % 2 == 0 {
                    Outcome::Early
                } else {
                    Outcome::OnTime
                });
                f.used_days = Some(if i % 2 == 0 { 3 } else { 5 });
            }
            91 | 92 => {
                // Received late in November; still open on 3 December, one overdue.
                f.received = Some(d(2021, 11, 20 + i - 91));
                f.due = Some(if i == 91 {
                    d(2021, 12, 1)
                } else {
                    d(2021, 12, 10)
                });
            }
            _ => {
                let cancelled = received + chrono::Duration::days(2);
                f.finished = Some((cancelled, DossierStatus::Cancelled));
                f.ended = Some(cancelled);
            }
        }
        all.push(f);
    }
    let (flows, stock) = period(&all, d(2021, 1, 1), d(2021, 12, 4));
    let (counts, rates) = summarize(&flows, &stock);
    assert_eq!(counts.received, 100);
    assert_eq!(counts.finished, 98);
    assert_eq!((counts.early, counts.on_time, counts.late), (46, 45, 0));
    assert_eq!(counts.cancelled, 7);
    assert_eq!(counts.in_progress, 2);
    assert_eq!(
        (counts.in_progress_within_time, counts.in_progress_overdue),
        (1, 1)
    );
    assert_eq!(
        rates.on_time,
        Rate {
            numerator: 91,
            denominator: 91,
            value: Some(1.0)
        }
    );
    // No ratings, no payments: rates are null, not 0 or 100.
    assert_eq!(
        rates.satisfaction,
        Rate {
            numerator: 0,
            denominator: 0,
            value: None
        }
    );
    assert_eq!(rates.online_payment_transactions.value, None);
    // Average 4 working days used against 5 regulated (46×3 + 45×5 = 363 over 91).
    assert_eq!(rates.average_days_used, Some(3.99));
    assert_eq!(rates.time_saved, Some(0.2022));
}

#[test]
fn periods_cut_through_a_dossiers_life() {
    // Received 20 Jan, due 10 Feb, returned 20 Feb (late).
    let mut f = facts(Some(d(2026, 1, 20)));
    f.due = Some(d(2026, 2, 10));
    f.finished = Some((d(2026, 2, 20), DossierStatus::Returned));
    f.ended = Some(d(2026, 2, 20));
    f.outcome = Some(Outcome::Late);
    let all = [f];
    let table = [
        // (from, to, received, finished, late, in progress, overdue)
        (d(2026, 1, 1), d(2026, 2, 1), 1, 0, 0, 1, 0),
        (d(2026, 2, 1), d(2026, 2, 15), 0, 0, 0, 1, 1),
        (d(2026, 2, 15), d(2026, 3, 1), 0, 1, 1, 0, 0),
        (d(2026, 2, 20), d(2026, 2, 21), 0, 1, 1, 0, 0),
        // Due at 17:00 on 10 Feb: still within time at the end of 9 Feb, overdue by the end of the 10th.
        (d(2026, 2, 9), d(2026, 2, 10), 0, 0, 0, 1, 0),
        (d(2026, 2, 10), d(2026, 2, 11), 0, 0, 0, 1, 1),
        (d(2026, 2, 11), d(2026, 2, 12), 0, 0, 0, 1, 1),
        (d(2026, 1, 1), d(2027, 1, 1), 1, 1, 1, 0, 0),
    ];
    for (from, to, received, finished, late, in_progress, overdue) in table {
        let (flows, stock) = period(&all, from, to);
        let (c, _) = summarize(&flows, &stock);
        assert_eq!(
            (
                c.received,
                c.finished,
                c.late,
                c.in_progress,
                c.in_progress_overdue
            ),
            (received, finished, late, in_progress, overdue),
            "{from}..{to}"
        );
    }
}

#[test]
fn a_result_waiting_for_collection_is_neither_in_progress_nor_overdue() {
    // Received 2 Mar, due 9 Mar, result issued 6 Mar (early), collected 20 Mar.
    let mut f = facts(Some(d(2026, 3, 2)));
    f.due = Some(d(2026, 3, 9));
    f.ended = Some(d(2026, 3, 6));
    f.outcome = Some(Outcome::Early);
    f.result = Some((d(2026, 3, 6), true));
    let waiting = f.clone();
    f.finished = Some((d(2026, 3, 20), DossierStatus::Returned));
    for (facts, returned) in [(waiting, 0), (f, 1)] {
        let (flows, stock) = period(&[facts], d(2026, 3, 1), d(2026, 4, 1));
        let (c, rates) = summarize(&flows, &stock);
        assert_eq!(
            (
                c.decided,
                c.early,
                c.returned,
                c.in_progress,
                c.in_progress_overdue
            ),
            (1, 1, returned, 0, 0)
        );
        assert_eq!(rates.on_time.value, Some(1.0));
    }
}

#[test]
fn transferred_dossiers_count_for_the_receiving_agency() {
    // Facts carry the receiving agency whatever agency handles the dossier now:
    // the sums per agency are the sums of the facts per agency.
    let mut a = facts(Some(d(2026, 3, 2)));
    a.agency_id = 10;
    let mut b = facts(Some(d(2026, 3, 2)));
    b.agency_id = 20;
    let per_agency = |agency: i64| {
        let mine: Vec<KpiFacts> = [a.clone(), b.clone()]
            .into_iter()
            .filter(|f| f.agency_id == agency)
            .collect();
        period(&mine, d(2026, 3, 1), d(2026, 4, 1)).0.received
    };
    assert_eq!((per_agency(10), per_agency(20)), (1, 1));
}

#[test]
fn changes_touch_only_what_moved() {
    let mut before = facts(Some(d(2026, 3, 2)));
    before.due = Some(d(2026, 3, 9));
    let mut after = before.clone();
    after.finished = Some((d(2026, 3, 5), DossierStatus::Returned));
    after.ended = Some(d(2026, 3, 5));
    after.outcome = Some(Outcome::Early);
    let rows = change(Some(&before), Some(&after));
    let day = |day: NaiveDate| Bucket {
        grain: Grain::Day,
        period: day,
        agency_id: 1,
        procedure_id: 1,
        channel: Channel::Counter,
    };
    // Two days, one month, one year; for the procedure and for all procedures.
    assert_eq!(rows.len(), 8, "{rows:?}");
    let finished = rows[&day(d(2026, 3, 5))];
    assert_eq!(
        (finished.returned, finished.early, finished.decided),
        (1, 1, 1)
    );
    assert_eq!(rows[&day(d(2026, 3, 9))].due_finished, 1);
    assert_eq!(
        rows[&Bucket {
            procedure_id: ALL_PROCEDURES,
            ..day(d(2026, 3, 5))
        }],
        finished
    );
    let year = rows.keys().find(|b| b.grain == Grain::Year).unwrap();
    assert_eq!(
        (year.period, rows[year].received, rows[year].returned),
        (d(2026, 1, 1), 0, 1)
    );
    assert!(change(Some(&after), Some(&after)).is_empty());
    // A dossier moved to another agency leaves one row and joins another.
    let mut moved = after.clone();
    moved.agency_id = 2;
    let rows = change(Some(&after), Some(&moved));
    let received: Vec<(i64, i64)> = rows
        .iter()
        .filter(|(b, _)| {
            b.grain == Grain::Day && b.period == d(2026, 3, 2) && b.procedure_id != ALL_PROCEDURES
        })
        .map(|(b, c)| (b.agency_id, c.received))
        .collect();
    assert_eq!(received, [(1, -1), (2, 1)]);
}

#[test]
fn covers_are_exact_and_minimal() {
    let cases = [
        (
            d(2026, 1, 1),
            d(2027, 1, 1),
            vec![(Grain::Year, d(2026, 1, 1), d(2027, 1, 1))],
        ),
        (
            d(2026, 3, 1),
            d(2026, 6, 1),
            vec![(Grain::Month, d(2026, 3, 1), d(2026, 6, 1))],
        ),
        (
            d(2026, 3, 5),
            d(2026, 3, 9),
            vec![(Grain::Day, d(2026, 3, 5), d(2026, 3, 9))],
        ),
        (
            d(2025, 11, 20),
            d(2027, 2, 3),
            vec![
                (Grain::Day, d(2025, 11, 20), d(2025, 12, 1)),
                (Grain::Month, d(2025, 12, 1), d(2026, 1, 1)),
                (Grain::Year, d(2026, 1, 1), d(2027, 1, 1)),
                (Grain::Month, d(2027, 1, 1), d(2027, 2, 1)),
                (Grain::Day, d(2027, 2, 1), d(2027, 2, 3)),
            ],
        ),
        (
            d(2026, 3, 31),
            d(2026, 4, 2),
            vec![
                (Grain::Day, d(2026, 3, 31), d(2026, 4, 1)),
                (Grain::Day, d(2026, 4, 1), d(2026, 4, 2)),
            ],
        ),
        (d(2026, 5, 1), d(2026, 5, 1), vec![]),
    ];
    for (from, to, want) in cases {
        let got: Vec<(Grain, NaiveDate, NaiveDate)> = cover(from, to)
            .into_iter()
            .map(|s| (s.grain, s.from, s.to))
            .collect();
        assert_eq!(got, want, "{from}..{to}");
    }
    // Every day of a long range is covered exactly once.
    let (from, to) = (d(2019, 7, 15), d(2026, 11, 23));
    let mut days = 0;
    for span in cover(from, to) {
        let mut at = span.from;
        while at < span.to {
            assert_eq!(period_start(span.grain, at), at);
            at = next_start(span.grain, at);
            days += match span.grain {
                Grain::Day => 1,
                _ => 0,
            };
        }
        if span.grain != Grain::Day {
            days += (span.to - span.from).num_days();
        }
    }
    assert_eq!(days, (to - from).num_days());
}

#[test]
fn periods_by_name() {
    let cases = [
        ("2021", Some((d(2021, 1, 1), d(2022, 1, 1)))),
        ("2026-Q1", Some((d(2026, 1, 1), d(2026, 4, 1)))),
        ("2026-q4", Some((d(2026, 10, 1), d(2027, 1, 1)))),
        ("2026-02", Some((d(2026, 2, 1), d(2026, 3, 1)))),
        ("2026-12", Some((d(2026, 12, 1), d(2027, 1, 1)))),
        ("2026-02-17", Some((d(2026, 2, 17), d(2026, 2, 18)))),
        ("2026-Q5", None),
        ("2026-13", None),
        ("2026-02-30", None),
        ("26", None),
        ("1999", None),
        ("", None),
        ("năm 2026", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_period(text), want, "{text}");
    }
}

#[test]
fn buckets_follow_the_calendar_and_cut_the_ends() {
    use Granularity as G;
    let cases = [
        // Tết 2026 falls in ISO weeks 8 and 9; Monday 16 Feb starts week 8.
        (
            G::Week,
            d(2026, 2, 11),
            d(2026, 3, 1),
            vec![
                (d(2026, 2, 11), d(2026, 2, 16)),
                (d(2026, 2, 16), d(2026, 2, 23)),
                (d(2026, 2, 23), d(2026, 3, 1)),
            ],
        ),
        (
            G::Quarter,
            d(2025, 11, 15),
            d(2026, 5, 1),
            vec![
                (d(2025, 11, 15), d(2026, 1, 1)),
                (d(2026, 1, 1), d(2026, 4, 1)),
                (d(2026, 4, 1), d(2026, 5, 1)),
            ],
        ),
        (
            G::Month,
            d(2026, 1, 31),
            d(2026, 2, 2),
            vec![
                (d(2026, 1, 31), d(2026, 2, 1)),
                (d(2026, 2, 1), d(2026, 2, 2)),
            ],
        ),
        (G::Year, d(2026, 1, 1), d(2026, 1, 1), vec![]),
        (
            G::Day,
            d(2026, 2, 28),
            d(2026, 3, 2),
            vec![
                (d(2026, 2, 28), d(2026, 3, 1)),
                (d(2026, 3, 1), d(2026, 3, 2)),
            ],
        ),
    ];
    for (g, from, to, want) in cases {
        assert_eq!(buckets(g, from, to), want, "{g} {from}..{to}");
    }
    assert_eq!(
        bucket_start(G::Week, d(2026, 11, 29)),
        d(2026, 11, 23),
        "Sunday belongs to the week of Monday"
    );
}

#[test]
fn rates_are_null_without_a_denominator() {
    assert_eq!(Rate::of(0, 0).value, None);
    assert_eq!(Rate::of(1, 3).value, Some(0.3333));
    assert_eq!(Rate::of(0, 5).value, Some(0.0));
}

#[test]
fn waiting_time_average_and_p90() {
    let hist: BTreeMap<i64, i64> = [(2, 5), (10, 4), (45, 1)].into_iter().collect();
    let w = waiting_time(&hist);
    assert_eq!(w.tickets_called, 10);
    assert_eq!(w.average_minutes, Some(9.5));
    assert_eq!(w.p90_minutes, Some(10));
    assert_eq!(waiting_time(&BTreeMap::new()).average_minutes, None);
}

#[test]
fn scoring_is_proportional_below_the_threshold() {
    let rules = Scoring::default();
    let catalog = CatalogCounts {
        active: 10,
        full_online: 4,
        partial_online: 2,
        complete: 10,
        fee_bearing: 5,
        fee_bearing_payable_online: 4,
    };
    let flows = Counters {
        received: 100,
        received_online: 25,
        reused: 40,
        results: 50,
        results_digital: 50,
        digitized_through: 40,
        paid: 10,
        paid_online: 5,
        ..Default::default()
    };
    let counts = DossierCounts {
        received: 100,
        returned: 50,
        decided: 50,
        early: 40,
        on_time: 5,
        late: 5,
        in_progress: 50,
        in_progress_within_time: 45,
        in_progress_overdue: 5,
        ..Default::default()
    };
    let groups = score(
        &counts,
        &flows,
        &catalog,
        &FeedbackCounts::default(),
        None,
        &rules,
    );
    let by = |code: &str| {
        groups
            .iter()
            .flat_map(|g| &g.indicators)
            .find(|i| i.code == code)
            .unwrap()
            .points
    };
    assert_eq!(by("t1_complete_procedures"), 10.0);
    assert_eq!(by("t2_synced_dossiers"), 0.0);
    assert_eq!(
        by("o1_online_procedures"),
        4.5,
        "60% of a full-at-80% indicator: 3/4 of 6"
    );
    assert_eq!(
        by("o2_online_dossiers"),
        3.0,
        "25% of a full-at-50% indicator"
    );
    assert_eq!(
        by("o3_payable_procedures"),
        5.0,
        "80% reaches the threshold"
    );
    assert_eq!(by("p1_within_time"), 18.0, "90 of 100 within time");
    assert_eq!(by("d3_reuse"), 3.5);
    assert_eq!(
        by("s1_feedback_in_time"),
        6.0,
        "no feedback, nothing failed"
    );
    let sum: f64 = groups.iter().map(|g| g.max_points).sum();
    assert_eq!(sum, 100.0);
    assert_eq!(
        groups.iter().map(|g| g.max_points).collect::<Vec<_>>(),
        [18.0, 20.0, 22.0, 22.0, 18.0]
    );
    assert_eq!(rules.check(), Ok(()));
    let mut bad = rules.clone();
    bad.o2_online_dossiers.full_at = 0.0;
    assert!(bad.check().unwrap_err().starts_with("o2_online_dossiers"));
}

#[test]
fn synced_dossiers_are_measured_from_the_sync_status() {
    let rules = Scoring::default();
    let cases = [
        (
            SyncCounts {
                received: 0,
                synced_in_time: 0,
            },
            8.0,
        ),
        (
            SyncCounts {
                received: 4,
                synced_in_time: 0,
            },
            0.0,
        ),
        (
            SyncCounts {
                received: 4,
                synced_in_time: 2,
            },
            4.0,
        ),
        (
            SyncCounts {
                received: 4,
                synced_in_time: 4,
            },
            8.0,
        ),
    ];
    for (synced, points) in cases {
        let groups = score(
            &DossierCounts::default(),
            &Counters::default(),
            &CatalogCounts::default(),
            &FeedbackCounts::default(),
            Some(&synced),
            &rules,
        );
        let t2 = groups
            .iter()
            .flat_map(|g| &g.indicators)
            .find(|i| i.code == "t2_synced_dossiers")
            .unwrap();
        assert!(t2.measured);
        assert_eq!(t2.points, points, "{synced:?}");
    }
}
