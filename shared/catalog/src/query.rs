//! Parsing `GET /products` query parameters into a bounded [`ProductQuery`].

use kernel::Cursor;

/// Page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 20;
/// Hard maximum page size; a larger `limit` is refused, not clamped, so clients learn the rule.
pub const MAX_LIMIT: u32 = 100;
/// Longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 200;
const MAX_FILTER_CHARS: usize = 64;

/// A validated catalogue listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    search: Option<String>,
    category: Option<String>,
    brand: Option<String>,
    limit: u32,
    after: Option<Cursor>,
}

/// A rejected query parameter: which one, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{field}`: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

impl QueryError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        QueryError {
            field,
            message: message.into(),
        }
    }
}

impl ProductQuery {
    /// Parses query parameters. Unknown parameters are ignored (CDNs and clients add cache-busters); a known
    /// parameter given twice is an error, because silently picking one hides client bugs.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, QueryError> {
        let mut q = ProductQuery {
            search: None,
            category: None,
            brand: None,
            limit: DEFAULT_LIMIT,
            after: None,
        };
        let mut seen = [false; 5];
        for (key, value) in params {
            let slot = match key {
                "q" => 0,
                "category" => 1,
                "brand" => 2,
                "limit" => 3,
                "cursor" => 4,
                _ => continue,
            };
            let field: &'static str = ["q", "category", "brand", "limit", "cursor"][slot];
            if std::mem::replace(&mut seen[slot], true) {
                return Err(QueryError::new(field, "given more than once"));
            }
            match slot {
                0 => q.search = parse_search(value)?,
                1 => q.category = parse_filter("category", value)?,
                2 => q.brand = parse_filter("brand", value)?,
                3 => q.limit = parse_limit(value)?,
                _ => q.after = Some(Cursor::decode(value).map_err(|e| QueryError::new("cursor", e.to_string()))?),
            }
        }
        Ok(q)
    }

    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    pub fn brand(&self) -> Option<&str> {
        self.brand.as_deref()
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn after(&self) -> Option<&Cursor> {
        self.after.as_ref()
    }
}

fn parse_limit(value: &str) -> Result<u32, QueryError> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| QueryError::new("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))?;
    if n == 0 || n > u64::from(MAX_LIMIT) {
        return Err(QueryError::new(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}, got {n}"),
        ));
    }
    Ok(n as u32)
}

fn parse_search(value: &str) -> Result<Option<String>, QueryError> {
    let text = value.trim();
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(QueryError::new(
            "q",
            format!("must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(QueryError::new("q", "must not contain control characters"));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

fn parse_filter(field: &'static str, value: &str) -> Result<Option<String>, QueryError> {
    let text = value.trim();
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(QueryError::new(
            field,
            format!("must be at most {MAX_FILTER_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(QueryError::new(field, "must not contain control characters"));
    }
    Ok((!text.is_empty()).then(|| text.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let q = ProductQuery::parse([]).unwrap();
        assert_eq!(q.limit(), DEFAULT_LIMIT);
        assert_eq!(q.search(), None);
    }

    #[test]
    fn a_limit_above_the_maximum_is_refused_naming_limit() {
        let err = ProductQuery::parse([("limit", "101")]).unwrap_err();
        assert_eq!(err.field, "limit");
        assert!(err.message.contains("100"));
    }

    #[test]
    fn zero_negative_and_non_numeric_limits_are_refused() {
        for bad in ["0", "-1", "ten", "1e3", ""] {
            assert_eq!(
                ProductQuery::parse([("limit", bad)]).unwrap_err().field,
                "limit",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        assert_eq!(ProductQuery::parse([("q", "a"), ("q", "b")]).unwrap_err().field, "q");
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        assert!(ProductQuery::parse([("utm_source", "x"), ("_", "123")]).is_ok());
    }

    #[test]
    fn a_cursor_not_issued_by_niaga_is_refused() {
        assert_eq!(ProductQuery::parse([("cursor", "%%%")]).unwrap_err().field, "cursor");
    }

    proptest! {
        #[test]
        fn every_accepted_limit_is_within_bounds(raw in ".{0,12}") {
            if let Ok(q) = ProductQuery::parse([("limit", raw.as_str())]) {
                prop_assert!((1..=MAX_LIMIT).contains(&q.limit()));
            }
        }

        #[test]
        fn search_text_is_bounded_and_never_panics(raw in ".{0,300}") {
            if let Ok(q) = ProductQuery::parse([("q", raw.as_str())]) {
                prop_assert!(q.search().map_or(0, |s| s.chars().count()) <= MAX_SEARCH_CHARS);
            }
        }
    }
}
