//! Ranking of catalog search results.

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
}

/// Whether `term` starts one of the words of `text` (a folded, space-separated text).
fn has_word_prefix(text: &str, term: &str) -> bool {
    text.split(' ').any(|word| word.starts_with(term))
}

/// Rank of a candidate, lower is better; `None` when some term matches no word.
///
/// 0: the code itself; 1: the name starts with the phrase; 2: the name contains
/// the phrase; 3: every term starts a word of the name; 4: every term starts a
/// word somewhere (documents, legal basis, sector).
pub fn rank(query: &SearchQuery, code: &str, folded_name: &str, search_text: &str) -> Option<u8> {
    if query.terms.len() == 1 && query.terms[0] == code {
        return Some(0);
    }
    if !query.terms.iter().all(|t| has_word_prefix(search_text, t)) {
        return None;
    }
    Some(if folded_name.starts_with(&query.phrase) {
        1
    } else if folded_name.contains(&format!(" {}", query.phrase)) {
        2
    } else if query.terms.iter().all(|t| has_word_prefix(folded_name, t)) {
        3
    } else {
        4
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fold;

    fn r(query: &str, code: &str, name: &str, extra: &str) -> Option<u8> {
        let q = SearchQuery::parse(query).unwrap();
        let name = fold(name);
        let text = format!(" {code} {name} {} ", fold(extra));
        rank(&q, code, &name, &text)
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
            ("nghi dinh 144", Some(4)),
            ("ieu", None),
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
    fn empty_query_is_none() {
        assert_eq!(SearchQuery::parse(" ,. "), None);
    }
}
