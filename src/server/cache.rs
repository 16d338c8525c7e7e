//! Whether a shared cache (a CDN, a proxy) may store a response (RFC 9111):
//! then trace ids must not be in it, or every later visitor served from the
//! cache is linked to the one server span that produced it.

use http::header::{AUTHORIZATION, CACHE_CONTROL, EXPIRES, LAST_MODIFIED};
use http::{HeaderMap, Method, StatusCode};

/// What the request contributes to the decision.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheRequest {
    /// GET or HEAD: the methods caches store responses for.
    cacheable_method: bool,
    authorization: bool,
}

impl CacheRequest {
    /// For responses the rule is not applied to.
    pub(crate) const NOT_CACHEABLE: Self = Self {
        cacheable_method: false,
        authorization: false,
    };

    pub(crate) fn of(method: &Method, headers: &HeaderMap) -> Self {
        Self {
            cacheable_method: method == Method::GET || method == Method::HEAD,
            authorization: headers.contains_key(AUTHORIZATION),
        }
    }
}

/// Status codes that are heuristically cacheable (RFC 9110 §15.1).
fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Why a shared cache may store this response, or `None` when it may not.
///
/// The rules, from RFC 9111 §3 and §4.2.2, read from the response's
/// `Cache-Control` fields (all of them; directive names case-insensitive),
/// `Expires` and `Last-Modified`, and the request's method and
/// `Authorization`:
/// - only responses to GET and HEAD;
/// - `no-store`, or `private` without a field list, forbids it;
/// - a request with `Authorization`: only with `public`, `s-maxage` or
///   `must-revalidate`;
/// - `public`, `s-maxage` or `max-age` allows it (`no-cache` does not
///   prevent storing, only reuse without revalidation, and a revalidated
///   copy is served with the same body);
/// - without those: `Expires` allows it, and so does `Last-Modified` on a
///   heuristically cacheable status (a cache may assign heuristic
///   freshness); without `Cache-Control`, `Expires` or `Last-Modified`
///   the response is taken as not stored.
pub(crate) fn shared_cache_may_store(
    request: CacheRequest,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<&'static str> {
    if !request.cacheable_method {
        return None;
    }
    let (mut public, mut s_maxage, mut max_age, mut must_revalidate) = (false, false, false, false);
    for field in headers.get_all(CACHE_CONTROL) {
        let Ok(field) = field.to_str() else {
            continue;
        };
        for directive in field.split(',') {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim())),
                None => (directive.trim(), None),
            };
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("no-store") || (is("private") && argument.is_none()) {
                return None;
            }
            public |= is("public");
            s_maxage |= is("s-maxage");
            max_age |= is("max-age");
            must_revalidate |= is("must-revalidate");
        }
    }
    if request.authorization && !(public || s_maxage || must_revalidate) {
        return None;
    }
    if public {
        Some("Cache-Control: public")
    } else if s_maxage {
        Some("Cache-Control: s-maxage")
    } else if max_age {
        Some("Cache-Control: max-age without private")
    } else if headers.contains_key(EXPIRES) {
        Some("Expires")
    } else if headers.contains_key(LAST_MODIFIED) && heuristically_cacheable(status) {
        Some("Last-Modified (heuristic freshness)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(
        method: Method,
        auth: bool,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Option<&'static str> {
        let mut request = HeaderMap::new();
        if auth {
            request.insert(AUTHORIZATION, "Bearer x".parse().unwrap());
        }
        let mut response = HeaderMap::new();
        for (name, value) in headers {
            response.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        shared_cache_may_store(
            CacheRequest::of(&method, &request),
            StatusCode::from_u16(status).unwrap(),
            &response,
        )
    }

    /// Each row cites the RFC 9111 rule it checks.
    #[test]
    fn rfc_9111_rules() {
        use Method as M;
        let cc = "cache-control";
        for (method, auth, status, headers, stored) in [
            // §5.2.2.5 public
            (M::GET, false, 200, vec![(cc, "public")], true),
            (M::GET, false, 200, vec![(cc, "Public, max-age=60")], true),
            // §5.2.2.7 private (unqualified) forbids shared storage
            (M::GET, false, 200, vec![(cc, "private, max-age=60")], false),
            // §5.2.2.7 qualified private: the rest may be stored
            (
                M::GET,
                false,
                200,
                vec![(cc, "private=\"set-cookie\", max-age=60")],
                true,
            ),
            // §5.2.2.5 no-store
            (M::GET, false, 200, vec![(cc, "public, no-store")], false),
            (
                M::GET,
                false,
                200,
                vec![(cc, "max-age=60"), (cc, "NO-STORE")],
                false,
            ),
            // §5.2.2.10 s-maxage, §5.2.2.1 max-age
            (M::GET, false, 200, vec![(cc, "s-maxage=600")], true),
            (M::GET, false, 200, vec![(cc, "max-age=0")], true),
            // §5.2.2.4 no-cache allows storing
            (M::GET, false, 200, vec![(cc, "no-cache, max-age=60")], true),
            (M::GET, false, 200, vec![(cc, "no-cache")], false),
            // §5.3 Expires
            (
                M::GET,
                false,
                200,
                vec![("expires", "Thu, 01 Dec 2099 16:00:00 GMT")],
                true,
            ),
            // §4.2.2 heuristic freshness
            (
                M::GET,
                false,
                200,
                vec![("last-modified", "Tue, 15 Nov 1994 12:45:26 GMT")],
                true,
            ),
            (
                M::GET,
                false,
                500,
                vec![("last-modified", "Tue, 15 Nov 1994 12:45:26 GMT")],
                false,
            ),
            // nothing said: taken as not stored
            (M::GET, false, 200, vec![], false),
            // §3.5 Authorization
            (M::GET, true, 200, vec![(cc, "max-age=60")], false),
            (M::GET, true, 200, vec![(cc, "s-maxage=60")], true),
            (
                M::GET,
                true,
                200,
                vec![(cc, "must-revalidate, max-age=60")],
                true,
            ),
            // §3 method: POST responses are not stored here
            (M::POST, false, 200, vec![(cc, "public")], false),
            (M::HEAD, false, 200, vec![(cc, "public")], true),
        ] {
            let got = decide(method.clone(), auth, status, &headers);
            assert_eq!(
                got.is_some(),
                stored,
                "{method} auth={auth} {status} {headers:?}: {got:?}"
            );
        }
    }
}
