//! Recomputing every aggregate from the stored dossiers.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use motcua_domain::kpi::{self, Bucket, Counters};

use super::facts::{DocLine, PauseLine, PayLine, RawDossier, calendar, facts_from, split};
use super::{AggKey, AggRow};
use crate::db::Db;
use crate::schema::{
    dossier_documents, dossier_facts, dossier_ratings, dossiers, kpi_agg, payments,
    supplement_requests,
};
use crate::{AnyConnection, StoreError, StoreResult};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub dossiers: usize,
    pub rows: usize,
}

/// The lines of the dossiers with ids in `first..=last`, by dossier: four
/// statements for a batch of the rebuild.
struct BatchLines {
    docs: HashMap<i64, Vec<DocLine>>,
    pays: HashMap<i64, Vec<PayLine>>,
    pauses: HashMap<i64, Vec<PauseLine>>,
    ratings: HashMap<i64, (String, NaiveDateTime)>,
}

fn batch_lines(conn: &mut AnyConnection, first_id: i64, last_id: i64) -> StoreResult<BatchLines> {
    let mut docs: HashMap<i64, Vec<DocLine>> = HashMap::new();
    let rows: Vec<(i64, DocLine)> = dossier_documents::table
        .filter(dossier_documents::dossier_id.between(first_id, last_id))
        .select((
            dossier_documents::dossier_id,
            (
                dossier_documents::requirement,
                dossier_documents::document_id,
                dossier_documents::paper,
                dossier_documents::reused,
                dossier_documents::stage,
            ),
        ))
        .load(conn)?;
    for (id, line) in rows {
        docs.entry(id).or_default().push(line);
    }
    let mut pays: HashMap<i64, Vec<PayLine>> = HashMap::new();
    let rows: Vec<(i64, String, String, i64, Option<NaiveDateTime>)> = payments::table
        .filter(payments::dossier_id.between(first_id, last_id))
        .select((
            payments::dossier_id,
            payments::method,
            payments::status,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    for (id, a, b, c, d) in rows {
        pays.entry(id).or_default().push((a, b, c, d));
    }
    let mut pauses: HashMap<i64, Vec<PauseLine>> = HashMap::new();
    let rows: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>)> = supplement_requests::table
        .filter(supplement_requests::dossier_id.between(first_id, last_id))
        .select((
            supplement_requests::dossier_id,
            supplement_requests::requested_at,
            supplement_requests::supplemented_at,
        ))
        .load(conn)?;
    for (id, requested, supplemented) in rows {
        pauses
            .entry(id)
            .or_default()
            .push((requested, supplemented));
    }
    let ratings: HashMap<i64, (String, NaiveDateTime)> = dossier_ratings::table
        .filter(dossier_ratings::dossier_id.between(first_id, last_id))
        .select((
            dossier_ratings::dossier_id,
            dossier_ratings::score,
            dossier_ratings::rated_at,
        ))
        .load::<(i64, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, s, at)| (id, (s, at)))
        .collect();
    Ok(BatchLines {
        docs,
        pays,
        pauses,
        ratings,
    })
}

/// Dossiers read per batch by [`rebuild`].
const REBUILD_BATCH: i64 = 5000;

/// Recomputes every dossier's facts and all aggregates from the stored data.
pub fn rebuild(conn: &mut AnyConnection) -> StoreResult<RebuildReport> {
    crate::write_tx(conn, |conn| {
        diesel::delete(kpi_agg::table).execute(conn)?;
        diesel::delete(dossier_facts::table).execute(conn)?;
        let cal = calendar(conn)?;
        let mut totals: BTreeMap<Bucket, Counters> = BTreeMap::new();
        let mut report = RebuildReport::default();
        let mut after = 0_i64;
        loop {
            let raws: Vec<RawDossier> = dossiers::table
                .filter(dossiers::id.gt(after))
                .order(dossiers::id.asc())
                .limit(REBUILD_BATCH)
                .select(dossier_columns!())
                .load(conn)?;
            let Some(last) = raws.last() else { break };
            let (first_id, last_id) = (raws[0].0, last.0);
            after = last_id;
            let BatchLines {
                docs,
                pays,
                pauses,
                ratings,
            } = batch_lines(conn, first_id, last_id)?;
            let form_reused = crate::repo::forms::reused_between(conn, first_id, last_id)?;
            let mut batch_facts = Vec::with_capacity(raws.len());
            for raw in raws {
                let (id, mut row) = split(raw);
                row.form_reused = form_reused.contains(&id);
                let facts = facts_from(
                    &row,
                    docs.get(&id).map_or(&[][..], Vec::as_slice),
                    pays.get(&id).map_or(&[][..], Vec::as_slice),
                    pauses.get(&id).map_or(&[][..], Vec::as_slice),
                    ratings.get(&id),
                    &cal,
                )?;
                kpi::accumulate(&mut totals, &facts, 1);
                batch_facts.push((
                    id,
                    serde_json::to_string(&facts).map_err(StoreError::corrupt)?,
                ));
                report.dossiers += 1;
            }
            for chunk in batch_facts.chunks(1000) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(id, f)| {
                        (
                            dossier_facts::dossier_id.eq(*id),
                            dossier_facts::facts.eq(f),
                        )
                    })
                    .collect();
                crate::insert_many!(&mut *conn, dossier_facts::table, values)?;
            }
        }
        totals.retain(|_, c| !c.is_zero());
        let rows: Vec<(&Bucket, &Counters)> = totals.iter().collect();
        for chunk in rows.chunks(500) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(b, c)| with_counters!(row_values!(b, c, 0_i32)))
                .collect();
            crate::insert_many!(&mut *conn, kpi_agg::table, values)?;
        }
        report.rows = totals.len();
        Ok(report)
    })
    .and_then(|report| {
        crate::db::refresh_statistics(conn)?;
        Ok(report)
    })
}

/// Every aggregate row, its shards summed, ordered: to compare the kept
/// counters with a rebuild.
pub fn snapshot(conn: &mut AnyConnection) -> StoreResult<Vec<AggRow>> {
    let key = (
        kpi_agg::grain,
        kpi_agg::period,
        kpi_agg::agency_id,
        kpi_agg::procedure_id,
        kpi_agg::channel,
    );
    let every: Box<dyn BoxableExpression<kpi_agg::table, Db, SqlType = Bool>> =
        Box::new(diesel::dsl::sql::<Bool>("1 = 1"));
    let mut rows: Vec<AggRow> = with_counters!(sums!(conn, every, key, AggKey))
        .into_iter()
        // A row whose counters went back to zero holds nothing.
        .filter(|(_, counters)| !counters.is_zero())
        .map(|(key, counters)| AggRow::with(key, &counters))
        .collect();
    rows.sort_by(|a, b| {
        (&a.grain, a.period, a.agency_id, a.procedure_id, &a.channel).cmp(&(
            &b.grain,
            b.period,
            b.agency_id,
            b.procedure_id,
            &b.channel,
        ))
    });
    Ok(rows)
}
