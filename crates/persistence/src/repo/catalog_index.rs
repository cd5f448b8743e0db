//! The catalog's search index, held in memory by each process.
//!
//! A search used to load every candidate's search text from the database and
//! rank it in Rust on every request. The index keeps, per procedure, what the
//! filters and [`rank`] read, plus a map from each word of the search texts to
//! the procedures holding it; a query intersects the words' lists and ranks
//! only those. It is rebuilt when `catalog_generation` (bumped by triggers on
//! every write to `procedures`, from any process) differs from the one it was
//! built at: one primary-key read per search keeps it as fresh as the database.
//!
//! Results are those of the SQL path: the same filters, the same `LIKE`
//! patterns (as substring tests) and the same [`rank`] and order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use diesel::prelude::*;
use motcua_domain::procedure::{OnlineFilter, OnlineLevel, ProcedureStatus, StatusFilter};
use motcua_domain::search::{Rank, SearchQuery, rank};

use crate::repo::procedures::ProcedureFilter;
use crate::schema::{catalog_generation, procedures};
use crate::{AnyConnection, StoreResult};

#[derive(Debug, Queryable)]
struct Entry {
    id: i64,
    code: String,
    name_folded: String,
    search_text: String,
    status: String,
    sector_code: String,
    levels: String,
    agency_id: Option<i64>,
    online_level: String,
}

impl Entry {
    /// The filters of `procedures::filtered` but the query.
    fn passes(&self, filter: &ProcedureFilter) -> bool {
        let status = match filter.status.unwrap_or(StatusFilter::Active) {
            StatusFilter::Active => self.status == ProcedureStatus::Active.as_str(),
            StatusFilter::Abolished => self.status == ProcedureStatus::Abolished.as_str(),
            StatusFilter::All => true,
        };
        let online = match filter.online {
            Some(OnlineFilter::Full) => self.online_level == OnlineLevel::Full.as_str(),
            Some(OnlineFilter::Partial) => self.online_level == OnlineLevel::Partial.as_str(),
            Some(OnlineFilter::None) => self.online_level == OnlineLevel::None.as_str(),
            Some(OnlineFilter::Any) => {
                self.online_level == OnlineLevel::Full.as_str()
                    || self.online_level == OnlineLevel::Partial.as_str()
            }
            None => true,
        };
        status
            && online
            && filter
                .sector
                .as_ref()
                .is_none_or(|s| *s == self.sector_code)
            && filter
                .level
                .is_none_or(|level| self.levels.contains(&format!(",{level},")))
            && filter.agency_id.is_none_or(|a| self.agency_id == Some(a))
    }
}

#[derive(Debug)]
struct Snapshot {
    generation: i64,
    entries: Vec<Entry>,
    /// Each distinct word of the search texts → the entries holding it, ascending.
    words: BTreeMap<String, Vec<u32>>,
}

impl Snapshot {
    fn build(generation: i64, entries: Vec<Entry>) -> Self {
        let mut words: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (at, entry) in entries.iter().enumerate() {
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            for word in entry.search_text.split(' ').filter(|w| !w.is_empty()) {
                let list = words.entry(word.to_owned()).or_default();
                if list.last() != Some(&at) {
                    list.push(at);
                }
            }
        }
        Self {
            generation,
            entries,
            words,
        }
    }

    /// Entries holding every term as a word, the last as a word's start: a
    /// superset of what the `LIKE` patterns and [`rank`] accept.
    fn candidates(&self, query: &SearchQuery) -> Vec<u32> {
        let Some((last, whole)) = query.terms.split_last() else {
            return Vec::new();
        };
        let mut lists: Vec<Vec<u32>> = Vec::with_capacity(query.terms.len());
        for term in whole {
            match self.words.get(term) {
                Some(list) => lists.push(list.clone()),
                None => return Vec::new(),
            }
        }
        let mut prefixed: Vec<u32> = self
            .words
            .range::<str, _>((
                std::ops::Bound::Included(last.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(word, _)| word.starts_with(last.as_str()))
            .flat_map(|(_, list)| list.iter().copied())
            .collect();
        prefixed.sort_unstable();
        prefixed.dedup();
        lists.push(prefixed);
        lists.sort_by_key(Vec::len);
        let mut lists = lists.into_iter();
        let mut out = lists.next().unwrap_or_default();
        for list in lists {
            out.retain(|at| list.binary_search(at).is_ok());
        }
        out
    }
}

/// One process's index; see the module documentation.
#[derive(Debug, Default)]
pub struct CatalogIndex {
    current: RwLock<Option<Arc<Snapshot>>>,
    building: Mutex<()>,
}

fn generation(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(catalog_generation::table
        .find(1)
        .select(catalog_generation::generation)
        .first(conn)?)
}

impl CatalogIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The index as of the catalog's current generation, rebuilt if it changed.
    fn fresh(&self, conn: &mut AnyConnection) -> StoreResult<Arc<Snapshot>> {
        let now = generation(conn)?;
        if let Some(snapshot) = self.current().filter(|s| s.generation == now) {
            return Ok(snapshot);
        }
        let _one_builder = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(snapshot) = self.current().filter(|s| s.generation >= now) {
            return Ok(snapshot);
        }
        // Read after the generation: a write in between makes the next search rebuild again.
        let entries: Vec<Entry> = procedures::table
            .select((
                procedures::id,
                procedures::code,
                procedures::name_folded,
                procedures::search_text,
                procedures::status,
                procedures::sector_code,
                procedures::levels,
                procedures::agency_id,
                procedures::online_level,
            ))
            .load(conn)?;
        let snapshot = Arc::new(Snapshot::build(now, entries));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Ids of the matching procedures, best first, and how many match in all.
    pub fn search(
        &self,
        conn: &mut AnyConnection,
        query: &SearchQuery,
        filter: &ProcedureFilter,
        skip: usize,
        take: usize,
    ) -> StoreResult<(Vec<i64>, i64)> {
        let snapshot = self.fresh(conn)?;
        let patterns = query.like_patterns();
        let needles: Vec<&str> = patterns
            .iter()
            .map(|p| p.trim_start_matches('%').trim_end_matches('%'))
            .collect();
        let mut ranked: Vec<(Rank, &str, i64)> = snapshot
            .candidates(query)
            .into_iter()
            .filter_map(|at| snapshot.entries.get(at as usize))
            .filter(|e| e.passes(filter))
            .filter(|e| needles.iter().all(|n| e.search_text.contains(n)))
            .filter_map(|e| {
                rank(query, &e.code, &e.name_folded, &e.search_text)
                    .map(|r| (r, e.name_folded.as_str(), e.id))
            })
            .collect();
        ranked.sort_unstable();
        let total = ranked.len() as i64;
        let ids = ranked
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|(_, _, id)| id)
            .collect();
        Ok((ids, total))
    }
}
