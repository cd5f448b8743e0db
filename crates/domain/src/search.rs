//! Matching and ranking of catalog searches.
//!
//! Every term but the last must be a whole word of the procedure's text; the
//! last may be the start of a word, so a query typed letter by letter keeps
//! finding what it found (`giay phep bieu d` → `… biểu diễn`).

use crate::text::search_terms;

/// A query ready for matching: folded terms and the folded phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<String>,
    pub phrase: String,
}

impl SearchQuery {
    /// `None` when the query has no searchable characters.
    pub fn parse(raw: &str) -> Option<Self> {
        let terms = search_terms(raw);
        if terms.is_empty() {
            return None;
        }
        let phrase = terms.join(" ");
        Some(Self { terms, phrase })
    }

    /// SQL `LIKE` patterns a candidate's search text (folded words, each with a
    /// space before and after) must all match. Folded terms hold only letters,
    /// digits and dots, so nothing needs escaping.
    pub fn like_patterns(&self) -> Vec<String> {
        let last = self.terms.len() - 1;
        self.terms
            .iter()
            .enumerate()
            .map(|(i, term)| {
                if i == last {
                    format!("% {term}%")
                } else {
                    format!("% {term} %")
                }
            })
            .collect()
    }

    fn matches(&self, text: &str) -> bool {
        let last = self.terms.len() - 1;
        self.terms.iter().enumerate().all(|(i, term)| {
            text.split(' ').any(|word| {
                if i == last {
                    word.starts_with(term.as_str())
                } else {
                    word == term
                }
            })
        })
    }
}

/// How well a candidate matches; smaller is better. `None` when it does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    /// 0: the code itself; 1: the name starts with the phrase; 2: the name
    /// contains the phrase; 3: the name holds every term; 4: elsewhere only.
    pub tier: u8,
    /// Where in the name the phrase starts (earlier is better).
    pub position: usize,
    /// Shorter names are more specific.
    pub name_length: usize,
}

/// Ranks candidates for one query; built once per search so the phrase's
/// spaced form is not formatted again for every candidate.
#[derive(Debug, Clone)]
pub struct Ranker<'q> {
    query: &'q SearchQuery,
    /// The phrase as it appears after a word boundary inside a name.
    spaced_phrase: String,
}

impl<'q> Ranker<'q> {
    pub fn new(query: &'q SearchQuery) -> Self {
        Self {
            query,
            spaced_phrase: format!(" {}", query.phrase),
        }
    }

    /// See [`rank`].
    pub fn rank(&self, code: &str, folded_name: &str, search_text: &str) -> Option<Rank> {
        if self.is_code(code) {
            return Some(self.code_rank(folded_name));
        }
        if !self.query.matches(search_text) {
            return None;
        }
        Some(self.rank_matching(code, folded_name))
    }

    /// The rank of a candidate whose search text is already known to match
    /// (every term a word of it, the last a word's start), as [`rank`] gives it.
    pub fn rank_matching(&self, code: &str, folded_name: &str) -> Rank {
        if self.is_code(code) {
            return self.code_rank(folded_name);
        }
        let name_length = folded_name.len();
        let position = if folded_name.starts_with(&self.query.phrase) {
            Some(0)
        } else {
            folded_name.find(&self.spaced_phrase).map(|p| p + 1)
        };
        let tier = match position {
            Some(0) => 1,
            Some(_) => 2,
            None if self.query.matches(folded_name) => 3,
            None => 4,
        };
        Rank {
            tier,
            position: position.unwrap_or(name_length),
            name_length,
        }
    }

    fn is_code(&self, code: &str) -> bool {
        self.query.terms.len() == 1 && self.query.terms[0] == code
    }

    fn code_rank(&self, folded_name: &str) -> Rank {
        Rank {
            tier: 0,
            position: 0,
            name_length: folded_name.len(),
        }
    }
}

pub fn rank(query: &SearchQuery, code: &str, folded_name: &str, search_text: &str) -> Option<Rank> {
    Ranker::new(query).rank(code, folded_name, search_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fold;

    fn r(query: &str, code: &str, name: &str, extra: &str) -> Option<u8> {
        let q = SearchQuery::parse(query).unwrap();
        let name = fold(name);
        let text = format!(" {code} {name} {} ", fold(extra));
        rank(&q, code, &name, &text).map(|r| r.tier)
    }

    #[test]
    fn ranking_table() {
        let name = "Cấp giấy phép tổ chức biểu diễn nghệ thuật";
        let cases = [
            ("1.001029", Some(0)),
            ("cap giay phep", Some(1)),
            ("giay phep bieu dien", Some(3)),
            ("giay phep to chuc", Some(2)),
            ("Giấy PHÉP", Some(2)),
            ("bieu", Some(2)),
            ("dien nghe", Some(2)),
            ("giay phep bieu d", Some(3)),
            ("nghi dinh 144", Some(4)),
            ("ieu", None),
            ("giay phe bieu", None),
            ("giay phep karaoke", None),
        ];
        for (query, want) in cases {
            assert_eq!(
                r(query, "1.001029", name, "Nghị định 144/2020"),
                want,
                "{query}"
            );
        }
    }

    #[test]
    fn earlier_and_shorter_names_rank_first() {
        let q = SearchQuery::parse("to chuc bieu dien").unwrap();
        let a = fold("Thủ tục tổ chức biểu diễn nghệ thuật");
        let b = fold("Thủ tục tiếp nhận thông báo tổ chức biểu diễn nghệ thuật");
        let ra = rank(&q, "x", &a, &format!(" {a} ")).unwrap();
        let rb = rank(&q, "y", &b, &format!(" {b} ")).unwrap();
        assert!(ra < rb);
    }

    #[test]
    fn only_the_last_term_is_a_prefix() {
        let q = SearchQuery::parse("lu hanh").unwrap();
        assert_eq!(q.like_patterns(), ["% lu %", "% hanh%"]);
        assert!(q.matches(" kinh doanh dich vu lu hanh noi dia "));
        assert!(!q.matches(" luat hanh chinh "));
    }

    #[test]
    fn rank_matching_agrees_with_rank_on_matching_texts() {
        let name = fold("Cấp giấy phép tổ chức biểu diễn nghệ thuật");
        let text = format!(" 1.001029 {name} nghi dinh 144 ");
        for query in [
            "1.001029",
            "cap giay",
            "to chuc",
            "giay phep bieu d",
            "nghi dinh 144",
            "bieu",
        ] {
            let q = SearchQuery::parse(query).unwrap();
            let ranker = Ranker::new(&q);
            assert_eq!(
                ranker.rank("1.001029", &name, &text),
                Some(ranker.rank_matching("1.001029", &name)),
                "{query}"
            );
        }
    }

    #[test]
    fn empty_query_is_none() {
        assert_eq!(SearchQuery::parse(" ,. "), None);
    }
}
