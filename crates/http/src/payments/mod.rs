//! The built-in sandbox gateway's pages (development only); the payment
//! pipeline itself lives in `motcua_app::payments`.

pub mod sandbox;
