//! Who the functions belong to: the few names glue writes on a service's behalf.

/// A service's names, given to every entry point ([`crate::http::Runtime`], [`crate::sqs::SqsRuntime`],
/// [`crate::job::run`]) and to [`crate::telemetry::init`]. Glue hard-codes none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Lower-case, URN-safe: problem types are `urn:<name>:problem:<kind>`, and the bearer challenge's realm is
    /// `<name>`.
    pub name: &'static str,
    /// The CloudWatch namespace of every metric ([`crate::metrics`]).
    pub metrics_namespace: &'static str,
    /// The prefix of the variables glue reads: `<PREFIX>_LOG` (the log filter) and `<PREFIX>_JOB_INPUT` (a
    /// one-shot job's input).
    pub env_prefix: &'static str,
}

impl Service {
    /// The `type` of a problem of this kind.
    pub fn problem_type(&self, kind: &str) -> String {
        format!("urn:{}:problem:{kind}", self.name)
    }

    /// The name of one of the variables glue reads (`LOG`, `JOB_INPUT`).
    pub fn variable(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.env_prefix)
    }
}

/// A service for glue's own tests.
#[cfg(test)]
pub(crate) const EXAMPLE: Service = Service {
    name: "shop",
    metrics_namespace: "Shop",
    env_prefix: "SHOP",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_service_not_from_glue() {
        let shop = Service {
            name: "shop",
            metrics_namespace: "Shop",
            env_prefix: "SHOP",
        };
        assert_eq!(shop.problem_type("not-found"), "urn:shop:problem:not-found");
        assert_eq!(shop.variable("LOG"), "SHOP_LOG");
    }
}
