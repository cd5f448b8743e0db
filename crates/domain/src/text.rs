//! Vietnamese text handling: NFC normalisation and accent folding for search.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Canonical stored form of any human text: NFC, trimmed.
pub fn nfc(input: &str) -> String {
    input.trim().nfc().collect()
}

/// Accent- and case-insensitive key: `Giấy phép Đ` → `giay phep d`.
///
/// Diacritics are stripped after canonical decomposition; `đ`/`Đ` have no
/// decomposition in Unicode, so they are mapped explicitly. Runs of
/// whitespace and punctuation collapse to one space so that `biểu-diễn`
/// and `biểu diễn` fold alike.
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for ch in input.nfd() {
        if is_combining_mark(ch) {
            continue;
        }
        let ch = match ch {
            'đ' | 'Đ' => 'd',
            other => other,
        };
        if ch.is_alphanumeric() || ch == '.' {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(ch.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// Folded search terms of a free-text query, without duplicates, in order.
pub fn search_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for term in fold(query).split(' ') {
        let meaningful = term.chars().any(char::is_alphanumeric);
        if meaningful && !terms.iter().any(|t| t == term) {
            terms.push(term.to_owned());
        }
    }
    terms
}

/// URL-safe identifier derived from a name: `Thể dục, thể thao` → `the-duc-the-thao`.
pub fn slug(input: &str) -> String {
    fold(input)
        .replace('.', "")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        let cases = [
            ("Giấy phép tổ chức biểu diễn", "giay phep to chuc bieu dien"),
            ("ĐĂNG KÝ Di sản", "dang ky di san"),
            ("  nhiều   khoảng   trắng ", "nhieu khoang trang"),
            ("biểu-diễn, nghệ thuật", "bieu dien nghe thuat"),
            ("Mã 1.001029", "ma 1.001029"),
            ("Quyền Ưu tiên Ơn", "quyen uu tien on"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "fold({input:?})");
        }
    }

    #[test]
    fn fold_is_same_for_nfc_and_nfd_input() {
        let composed = nfc("Thư viện");
        let decomposed: String = "Thư viện".nfd().collect();
        assert_ne!(composed, decomposed);
        assert_eq!(fold(&composed), fold(&decomposed));
    }

    #[test]
    fn search_terms_dedupe_and_fold() {
        assert_eq!(search_terms("Giấy  giay PHÉP"), vec!["giay", "phep"]);
        assert!(search_terms("  , ; ").is_empty());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Thể dục, thể thao"), "the-duc-the-thao");
        assert_eq!(
            slug("Xuất bản, in và phát hành"),
            "xuat-ban-in-va-phat-hanh"
        );
    }
}
