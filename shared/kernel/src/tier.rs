//! Partner price tiers.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// A partner's price tier; each tier has its own price list and loyalty multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Bronze,
    Silver,
    Gold,
    Platinum,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier `{0}`; expected bronze, silver, gold or platinum")]
pub struct TierError(pub String);

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Bronze, Tier::Silver, Tier::Gold, Tier::Platinum];

    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Bronze => "bronze",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
            Tier::Platinum => "platinum",
        }
    }
}

impl FromStr for Tier {
    type Err = TierError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TierError(s.to_string()))
    }
}

/// From its name only: serde's derived enums would also read `{"gold": null}`.
impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Tier;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tier: bronze, silver, gold or platinum")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Tier, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Name)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tier_round_trips_through_its_name() {
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
        }
        assert!("diamond".parse::<Tier>().is_err());
    }

    #[test]
    fn a_tier_is_read_from_its_name_only() {
        assert_eq!(serde_json::from_str::<Tier>(r#""gold""#).unwrap(), Tier::Gold);
        for bad in [r#""diamond""#, r#"{"gold": null}"#, "3", "null"] {
            assert!(serde_json::from_str::<Tier>(bad).is_err(), "{bad}");
        }
    }
}
