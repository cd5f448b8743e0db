//! The catalog's search index, held in memory by each process.
//!
//! A search used to load every candidate's search text from the database and
//! rank it in Rust on every request. The index keeps, per procedure, what the
//! filters and [`Ranker`] read, plus a map from each word of the search texts
//! to the procedures holding it; a query intersects the words' lists and ranks
//! only those. It is rebuilt when `catalog_generation` (bumped by triggers on
//! every write to `procedures`, from any process) differs from the one it was
//! built at: one primary-key read per search keeps it as fresh as the database.
//!
//! Results are those of the SQL path (`procedures::list`): the same filters,
//! the same matches (the word lists hold exactly the texts the `LIKE` patterns
//! accept, as search texts are folded words between single spaces), the same
//! rank and order. Per search the cost is the candidates' ranks on their names
//! only (never their texts), and a partial selection of the page instead of
//! sorting every match: ties on rank fall back to a precomputed position in
//! name order, so comparing two candidates compares integers.
//! A listing without a query walks the entries in name order, as stored.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use diesel::prelude::*;
use motcua_domain::procedure::{OnlineFilter, OnlineLevel, ProcedureStatus, StatusFilter};
use motcua_domain::search::{Rank, Ranker, SearchQuery};

use crate::repo::procedures::ProcedureFilter;
use crate::schema::{catalog_generation, procedures};
use crate::{AnyConnection, StoreResult};

/// One procedure as read to build the index.
#[derive(Debug, Queryable)]
struct Loaded {
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

/// What the filters and the ranking read of one procedure; its search text
/// lives on only in the word lists.
#[derive(Debug)]
struct Entry {
    id: i64,
    code: String,
    name_folded: String,
    status: String,
    sector_code: String,
    levels: String,
    agency_id: Option<i64>,
    online_level: String,
    /// Place in the order by (folded name, id): the ranked search's tie-break.
    name_rank: u32,
}

/// A [`ProcedureFilter`] but the query, prepared once per search.
struct Criteria<'f> {
    status: Option<&'static str>,
    online: Option<OnlineFilter>,
    sector: Option<&'f str>,
    /// `,level,` as it appears in the `levels` column.
    level: Option<String>,
    agency_id: Option<i64>,
}

impl<'f> Criteria<'f> {
    fn of(filter: &'f ProcedureFilter) -> Self {
        Self {
            status: match filter.status.unwrap_or(StatusFilter::Active) {
                StatusFilter::Active => Some(ProcedureStatus::Active.as_str()),
                StatusFilter::Abolished => Some(ProcedureStatus::Abolished.as_str()),
                StatusFilter::All => None,
            },
            online: filter.online,
            sector: filter.sector.as_deref(),
            level: filter.level.map(|level| format!(",{level},")),
            agency_id: filter.agency_id,
        }
    }

    /// The conditions of `procedures::filtered` but the query.
    fn pass(&self, entry: &Entry) -> bool {
        let online = match self.online {
            Some(OnlineFilter::Full) => entry.online_level == OnlineLevel::Full.as_str(),
            Some(OnlineFilter::Partial) => entry.online_level == OnlineLevel::Partial.as_str(),
            Some(OnlineFilter::None) => entry.online_level == OnlineLevel::None.as_str(),
            Some(OnlineFilter::Any) => {
                entry.online_level == OnlineLevel::Full.as_str()
                    || entry.online_level == OnlineLevel::Partial.as_str()
            }
            None => true,
        };
        online
            && self.status.is_none_or(|s| entry.status == s)
            && self.sector.is_none_or(|s| entry.sector_code == s)
            && self
                .level
                .as_deref()
                .is_none_or(|level| entry.levels.contains(level))
            && self.agency_id.is_none_or(|a| entry.agency_id == Some(a))
    }
}

#[derive(Debug)]
struct Snapshot {
    generation: i64,
    entries: Vec<Entry>,
    /// Each distinct word of the search texts → the entries holding it, ascending.
    words: BTreeMap<String, Vec<u32>>,
    /// Entries in the listing's order without a query: (folded name, code).
    by_name_and_code: Vec<u32>,
}

/// The candidates of a query: borrowed when one word list is all there is.
enum Candidates<'s> {
    None,
    One(&'s [u32]),
    Many(Vec<u32>),
}

fn position(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

impl Snapshot {
    fn build(generation: i64, loaded: Vec<Loaded>) -> Self {
        let mut words: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (at, procedure) in loaded.iter().enumerate() {
            let at = position(at);
            for word in procedure.search_text.split(' ').filter(|w| !w.is_empty()) {
                let list = words.entry(word.to_owned()).or_default();
                if list.last() != Some(&at) {
                    list.push(at);
                }
            }
        }
        let mut by_name_and_id: Vec<usize> = (0..loaded.len()).collect();
        by_name_and_id.sort_unstable_by(|&a, &b| {
            (&loaded[a].name_folded, loaded[a].id).cmp(&(&loaded[b].name_folded, loaded[b].id))
        });
        let mut name_rank = vec![0_u32; loaded.len()];
        for (place, &at) in by_name_and_id.iter().enumerate() {
            name_rank[at] = position(place);
        }
        let mut by_name_and_code: Vec<u32> = (0..loaded.len()).map(position).collect();
        by_name_and_code.sort_unstable_by(|&a, &b| {
            let (a, b) = (&loaded[a as usize], &loaded[b as usize]);
            (&a.name_folded, &a.code).cmp(&(&b.name_folded, &b.code))
        });
        let entries = loaded
            .into_iter()
            .zip(name_rank)
            .map(|(p, name_rank)| Entry {
                id: p.id,
                code: p.code,
                name_folded: p.name_folded,
                status: p.status,
                sector_code: p.sector_code,
                levels: p.levels,
                agency_id: p.agency_id,
                online_level: p.online_level,
                name_rank,
            })
            .collect();
        Self {
            generation,
            entries,
            words,
            by_name_and_code,
        }
    }

    /// Entries holding every term as a word, the last as a word's start:
    /// exactly those whose search text the `LIKE` patterns accept.
    fn candidates(&self, query: &SearchQuery) -> Candidates<'_> {
        let Some((last, whole)) = query.terms.split_last() else {
            return Candidates::None;
        };
        let mut lists: Vec<&[u32]> = Vec::with_capacity(query.terms.len());
        for term in whole {
            match self.words.get(term) {
                Some(list) => lists.push(list),
                None => return Candidates::None,
            }
        }
        let mut prefixed = self
            .words
            .range::<str, _>((Bound::Included(last.as_str()), Bound::Unbounded))
            .take_while(|(word, _)| word.starts_with(last.as_str()))
            .map(|(_, list)| list.as_slice());
        let merged = match (prefixed.next(), prefixed.next()) {
            (None, _) => return Candidates::None,
            (Some(only), None) => {
                lists.push(only);
                None
            }
            (Some(first), Some(second)) => {
                let mut all: Vec<u32> = first.iter().chain(second).copied().collect();
                all.extend(prefixed.flatten());
                all.sort_unstable();
                all.dedup();
                Some(all)
            }
        };
        match merged {
            Some(merged) if lists.is_empty() => Candidates::Many(merged),
            Some(merged) => {
                let mut all: Vec<&[u32]> = lists
                    .iter()
                    .copied()
                    .chain(std::iter::once(merged.as_slice()))
                    .collect();
                Candidates::Many(intersection(&mut all))
            }
            None if lists.len() == 1 => Candidates::One(lists[0]),
            None => Candidates::Many(intersection(&mut lists)),
        }
    }

    /// The page `skip..skip + take` of the query's matches that pass
    /// `criteria`, best first, and how many match in all.
    fn ranked(
        &self,
        query: &SearchQuery,
        criteria: &Criteria<'_>,
        skip: usize,
        take: usize,
    ) -> (Vec<i64>, usize) {
        let ranker = Ranker::new(query);
        let found = self.candidates(query);
        let candidates = match &found {
            Candidates::None => return (Vec::new(), 0),
            Candidates::One(list) => list,
            Candidates::Many(list) => list.as_slice(),
        };
        let mut keyed: Vec<(Rank, u32, u32)> = candidates
            .iter()
            .filter_map(|&at| {
                let entry = self.entries.get(at as usize)?;
                criteria.pass(entry).then(|| {
                    let rank = ranker.rank_matching(&entry.code, &entry.name_folded);
                    (rank, entry.name_rank, at)
                })
            })
            .collect();
        let total = keyed.len();
        let end = skip.saturating_add(take).min(total);
        if skip >= end {
            return (Vec::new(), total);
        }
        // Only the first `end` need an order: select them, then sort those.
        if end < total {
            keyed.select_nth_unstable(end - 1);
        }
        let head = &mut keyed[..end];
        head.sort_unstable();
        let ids = head[skip..]
            .iter()
            .filter_map(|&(_, _, at)| self.entries.get(at as usize).map(|e| e.id))
            .collect();
        (ids, total)
    }

    /// The listing without a query: in (folded name, code) order.
    fn listed(&self, criteria: &Criteria<'_>, skip: usize, take: usize) -> (Vec<i64>, usize) {
        let mut ids = Vec::with_capacity(take);
        let mut total = 0_usize;
        for entry in self
            .by_name_and_code
            .iter()
            .filter_map(|&at| self.entries.get(at as usize))
            .filter(|entry| criteria.pass(entry))
        {
            if total >= skip && ids.len() < take {
                ids.push(entry.id);
            }
            total += 1;
        }
        (ids, total)
    }
}

/// The entries in every list, ascending; lists are ascending.
fn intersection(lists: &mut [&[u32]]) -> Vec<u32> {
    lists.sort_by_key(|list| list.len());
    match lists {
        [] => Vec::new(),
        [shortest, rest @ ..] => shortest
            .iter()
            .copied()
            .filter(|at| rest.iter().all(|list| list.binary_search(at).is_ok()))
            .collect(),
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
        let loaded: Vec<Loaded> = procedures::table
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
        let snapshot = Arc::new(Snapshot::build(now, loaded));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Ids of the matching procedures, best first, and how many match in
    /// all; without a query, in the listing's order (folded name, code).
    pub fn search(
        &self,
        conn: &mut AnyConnection,
        filter: &ProcedureFilter,
        skip: usize,
        take: usize,
    ) -> StoreResult<(Vec<i64>, i64)> {
        let snapshot = self.fresh(conn)?;
        let criteria = Criteria::of(filter);
        let (ids, total) = match &filter.query {
            Some(query) => snapshot.ranked(query, &criteria, skip, take),
            None => snapshot.listed(&criteria, skip, take),
        };
        Ok((ids, i64::try_from(total).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use motcua_domain::search::rank;

    use super::*;

    /// Names that tie on rank (the same length, the phrase at the same place)
    /// and names that tie outright, so only the name and then the id decide.
    fn catalog() -> Vec<Loaded> {
        let names = [
            "thu tuc cap phep a",
            "thu tuc cap phep b",
            "thu tuc cap phep a",
            "cap phep thu tuc",
            "thu tuc cap phep",
            "mau thu tuc cap phep",
            "cap phep khac",
        ];
        (0..42_i64)
            .map(|i| {
                // Ids out of insertion order, so the id tie-break is not the position.
                let id = (i * 17) % 43 + 1;
                let name = names[usize::try_from(i).unwrap() % names.len()].to_owned();
                Loaded {
                    id,
                    code: format!("9.{id:06}"),
                    search_text: format!(" 9.{id:06} {name} giay to d1 "),
                    name_folded: name,
                    status: if i % 5 == 4 { "abolished" } else { "active" }.into(),
                    sector_code: "du-lich".into(),
                    levels: ",province,".into(),
                    agency_id: Some(1),
                    online_level: "full".into(),
                }
            })
            .collect()
    }

    /// The SQL path's order: rank on the full text, then name, then id.
    fn full_sort(loaded: &[Loaded], query: &SearchQuery) -> Vec<i64> {
        let mut ranked: Vec<(Rank, &str, i64)> = loaded
            .iter()
            .filter(|p| p.status == "active")
            .filter_map(|p| {
                rank(query, &p.code, &p.name_folded, &p.search_text)
                    .map(|r| (r, p.name_folded.as_str(), p.id))
            })
            .collect();
        ranked.sort();
        ranked.into_iter().map(|(_, _, id)| id).collect()
    }

    #[test]
    fn pages_follow_the_full_sort_order_through_ties() {
        let snapshot = Snapshot::build(1, catalog());
        let filter = ProcedureFilter::default();
        let criteria = Criteria::of(&filter);
        for raw in ["thu tuc", "cap phep", "giay", "c", "9.000018", "khac"] {
            let query = SearchQuery::parse(raw).unwrap();
            let want = full_sort(&catalog(), &query);
            let (all, total) = snapshot.ranked(&query, &criteria, 0, usize::MAX);
            assert_eq!(all, want, "{raw}");
            assert_eq!(total, want.len(), "{raw}");
            for per_page in [1, 3, 7] {
                let mut paged = Vec::new();
                for skip in (0..=want.len()).step_by(per_page) {
                    let (ids, total) = snapshot.ranked(&query, &criteria, skip, per_page);
                    assert_eq!(total, want.len());
                    paged.extend(ids);
                }
                assert_eq!(paged, want, "{raw} by {per_page}");
            }
        }
    }

    #[test]
    fn the_listing_is_by_name_then_code_in_pages() {
        let loaded = catalog();
        let mut want: Vec<(&str, &str, i64)> = loaded
            .iter()
            .filter(|p| p.status == "active")
            .map(|p| (p.name_folded.as_str(), p.code.as_str(), p.id))
            .collect();
        want.sort_unstable();
        let want: Vec<i64> = want.into_iter().map(|(_, _, id)| id).collect();
        let snapshot = Snapshot::build(1, catalog());
        let filter = ProcedureFilter::default();
        let criteria = Criteria::of(&filter);
        let mut paged = Vec::new();
        for skip in (0..want.len()).step_by(4) {
            let (ids, total) = snapshot.listed(&criteria, skip, 4);
            assert_eq!(total, want.len());
            paged.extend(ids);
        }
        assert_eq!(paged, want);
    }

    #[test]
    fn no_candidates_for_an_unknown_word() {
        let snapshot = Snapshot::build(1, catalog());
        let filter = ProcedureFilter::default();
        let query = SearchQuery::parse("thu tuc karaoke").unwrap();
        assert_eq!(
            snapshot.ranked(&query, &Criteria::of(&filter), 0, 20),
            (Vec::new(), 0)
        );
    }
}
