//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per record, which CloudWatch turns into
//! metrics without an API call (and so without latency or IAM on the hot path).
//!
//! Every record has the dimension set `[function]` and, when a route is known, `[function, route]`. Business
//! metrics (`credit_check_rejection_count`, `lead_routing_latency_ms`, `erp_sync_error_rate`) use the same
//! [`emit`] as the request metrics.

use crate::service::Service;
use serde_json::{json, Map, Value};
use std::io::Write;

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    Percent,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Percent => "Percent",
            Unit::Bytes => "Bytes",
        }
    }
}

/// One EMF record: a few metrics sharing dimensions and a timestamp.
#[derive(Debug, Clone)]
pub struct Record {
    namespace: &'static str,
    function: String,
    route: Option<String>,
    metrics: Vec<(String, f64, Unit)>,
    properties: Map<String, Value>,
}

impl Record {
    /// A record in the service's namespace ([`Service::metrics_namespace`]), with the dimension `function`.
    pub fn new(service: &Service, function: &str) -> Self {
        Record {
            namespace: service.metrics_namespace,
            function: function.to_string(),
            route: None,
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    pub fn metric(mut self, name: &str, value: f64, unit: Unit) -> Self {
        self.metrics.push((name.to_string(), value, unit));
        self
    }

    /// A searchable property that is not a dimension (a request id, for example).
    pub fn property(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(key.to_string(), value.into());
        self
    }

    /// The EMF JSON document.
    pub fn to_json(&self, timestamp_ms: i64) -> Value {
        let mut dimensions = vec![json!(["function"])];
        if self.route.is_some() {
            dimensions.push(json!(["function", "route"]));
        }
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(n, _, u)| json!({ "Name": n, "Unit": u.as_str() }))
            .collect();
        let mut doc = self.properties.clone();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{ "Namespace": self.namespace, "Dimensions": dimensions, "Metrics": definitions }]
            }),
        );
        doc.insert("function".into(), json!(self.function));
        if let Some(route) = &self.route {
            doc.insert("route".into(), json!(route));
        }
        for (name, value, _) in &self.metrics {
            doc.insert(name.clone(), json!(value));
        }
        Value::Object(doc)
    }
}

/// Writes the record as one line on stdout.
pub fn emit(record: &Record) {
    let line = record.to_json(chrono::Utc::now().timestamp_millis()).to_string();
    let mut out = std::io::stdout().lock();
    // A metric that cannot be written is not worth failing a request for.
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_valid_emf_with_its_metrics_and_dimensions() {
        let doc = Record::new(&crate::service::EXAMPLE, "catalog-api")
            .route("GET /products")
            .metric("latency", 12.5, Unit::Milliseconds)
            .metric("requests", 1.0, Unit::Count)
            .property("request_id", "abc")
            .to_json(1_700_000_000_000);
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Shop");
        assert_eq!(cw["Dimensions"], json!([["function"], ["function", "route"]]));
        assert_eq!(cw["Metrics"][0], json!({"Name": "latency", "Unit": "Milliseconds"}));
        assert_eq!(doc["latency"], 12.5);
        assert_eq!(doc["route"], "GET /products");
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
