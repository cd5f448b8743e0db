//! The test client: reqwest, with every response held against the committed
//! OpenAPI document before the test sees it (see `contract.rs`).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Body, IntoUrl, Method};
use serde::Serialize;

/// A `reqwest::Client` whose responses are contract-checked.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
}

impl Client {
    pub fn new(inner: reqwest::Client) -> Client {
        Client { inner }
    }

    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.request(method, url),
        }
    }

    pub fn get<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    pub fn put<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    pub fn patch<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    pub fn delete<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }
}

/// `reqwest::RequestBuilder` with the same calls; `send` checks the response.
pub struct RequestBuilder {
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder {
    pub fn header<K, V>(self, key: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        RequestBuilder {
            inner: self.inner.header(key, value),
        }
    }

    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.headers(headers),
        }
    }

    pub fn bearer_auth<T: std::fmt::Display>(self, token: T) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.bearer_auth(token),
        }
    }

    pub fn basic_auth<U: std::fmt::Display, P: std::fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.basic_auth(username, password),
        }
    }

    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.json(json),
        }
    }

    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.query(query),
        }
    }

    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.form(form),
        }
    }

    pub fn body<T: Into<Body>>(self, body: T) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.body(body),
        }
    }

    pub fn multipart(self, form: reqwest::multipart::Form) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.multipart(form),
        }
    }

    /// Sends the request, reads the whole response, checks it against the
    /// document (panics in `fail` mode), and hands back an equivalent response.
    pub async fn send(self) -> reqwest::Result<reqwest::Response> {
        let (client, request) = self.inner.build_split();
        let request = request?;
        let method = request.method().clone();
        let url = request.url().clone();
        let request_headers = request.headers().clone();
        let response = client.execute(request).await?;
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        crate::contract::enforce(&method, &url, &request_headers, status, &headers, &bytes);
        let mut rebuilt = http::Response::new(bytes);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
}
