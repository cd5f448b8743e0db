//! Page requests and pages of results.

use serde::Serialize;

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// The largest page number accepted (published as the `page` parameter's maximum).
pub const MAX_PAGE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    /// `None` when out of range (page < 1, per_page outside 1..=100).
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Option<Self> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        (page >= 1 && (1..=MAX_PER_PAGE).contains(&per_page)).then_some(Self { page, per_page })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self {
            items,
            page: request.page,
            per_page: request.per_page,
            total,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(
            PageRequest::new(None, None),
            Some(PageRequest {
                page: 1,
                per_page: 20
            })
        );
        assert_eq!(PageRequest::new(Some(3), Some(100)).unwrap().offset(), 200);
        assert_eq!(PageRequest::new(Some(0), None), None);
        assert_eq!(PageRequest::new(None, Some(101)), None);
        assert_eq!(PageRequest::new(None, Some(0)), None);
    }
}
