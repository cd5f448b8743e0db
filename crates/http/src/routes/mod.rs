pub mod agencies;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod documents;
pub mod dossiers;
pub mod events;
pub mod feedback;
pub mod forms;
pub mod identity;
pub mod kpi;
pub mod notifications;
pub mod ops;
pub mod payments;
pub mod portal;
pub mod portal_sandbox;
pub mod queue;
pub mod results;
pub mod tracking;
pub mod users;
pub mod webhooks;

use motcua_domain::page::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: `{items, page, per_page, total}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T> {
    pub items: Vec<T>,
    #[schema(example = 1)]
    pub page: u32,
    #[schema(example = 20)]
    pub per_page: u32,
    /// Matching items across all pages.
    pub total: i64,
}

impl<T> From<Page<T>> for PageView<T> {
    fn from(p: Page<T>) -> Self {
        Self {
            items: p.items,
            page: p.page,
            per_page: p.per_page,
            total: p.total,
        }
    }
}
