//! Roles and token claims, and the one rule that ties them: a partner token carries the partner's attributes and
//! no other token does.

use kernel::{GeoPoint, Tier};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of caller a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    SalesAgent,
    Partner,
    AiAgent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; expected admin, sales_agent, partner or ai_agent")]
pub struct RoleError(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::SalesAgent, Role::Partner, Role::AiAgent];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SalesAgent => "sales_agent",
            Role::Partner => "partner",
            Role::AiAgent => "ai_agent",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RoleError(s.to_string()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The partner attributes carried in a token (seed 003: "attributes in the JWT"), so rules need no DB query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerAttrs {
    pub id: i64,
    pub tier: Tier,
    pub geo: GeoPoint,
}

/// Who a token is issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub sub: String,
    pub role: Role,
    pub partner: Option<PartnerAttrs>,
}

/// Verified token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub partner_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tier: Option<Tier>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub geo: Option<GeoPoint>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

impl Claims {
    /// The partner these claims carry; `Some` only when all three attributes are present.
    pub fn partner(&self) -> Option<PartnerAttrs> {
        match (self.partner_id, self.tier, self.geo) {
            (Some(id), Some(tier), Some(geo)) => Some(PartnerAttrs { id, tier, geo }),
            _ => None,
        }
    }
}

/// How a role/partner combination breaks the rule, shared by issuing and verifying so the two cannot drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartnerRuleBroken {
    /// A partner token without the full set of partner attributes.
    Missing,
    /// A non-partner token with any partner attribute: it would let an admin or agent price as a partner.
    Unexpected,
}

/// Checks the partner rule given whether any and whether all partner attributes are present.
pub(crate) fn check_partner_rule(role: Role, any: bool, all: bool) -> Result<(), PartnerRuleBroken> {
    match role {
        Role::Partner if !all => Err(PartnerRuleBroken::Missing),
        Role::Partner => Ok(()),
        _ if any => Err(PartnerRuleBroken::Unexpected),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role) -> Claims {
        Claims {
            sub: "u-1".into(),
            role,
            partner_id: None,
            tier: None,
            geo: None,
            iss: "niaga-test".into(),
            aud: "niaga-api".into(),
            iat: 0,
            nbf: 0,
            exp: 900,
            jti: "j".into(),
        }
    }

    #[test]
    fn every_role_round_trips_through_its_name_and_its_json() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
    }

    #[test]
    fn an_unknown_role_is_refused_with_the_allowed_values() {
        let err = "Admin".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("sales_agent"), "{err}");
    }

    #[test]
    fn partner_attributes_exist_only_when_all_three_are_present() {
        let mut c = claims(Role::Partner);
        c.partner_id = Some(7);
        c.tier = Some(Tier::Gold);
        assert_eq!(c.partner(), None);
        let geo = GeoPoint::new(-6_200_000, 106_816_666).unwrap();
        c.geo = Some(geo);
        assert_eq!(
            c.partner(),
            Some(PartnerAttrs {
                id: 7,
                tier: Tier::Gold,
                geo
            })
        );
    }

    #[test]
    fn claims_without_partner_attributes_serialise_without_those_keys() {
        let json = serde_json::to_value(claims(Role::Admin)).unwrap();
        let obj = json.as_object().unwrap();
        assert!(!obj.contains_key("partner_id") && !obj.contains_key("tier") && !obj.contains_key("geo"));
        assert_eq!(obj["role"], "admin");
    }

    #[test]
    fn the_partner_rule_demands_all_attributes_for_partners_and_none_for_others() {
        assert_eq!(check_partner_rule(Role::Partner, true, true), Ok(()));
        assert_eq!(
            check_partner_rule(Role::Partner, true, false),
            Err(PartnerRuleBroken::Missing)
        );
        assert_eq!(
            check_partner_rule(Role::Partner, false, false),
            Err(PartnerRuleBroken::Missing)
        );
        for r in [Role::Admin, Role::SalesAgent, Role::AiAgent] {
            assert_eq!(check_partner_rule(r, false, false), Ok(()));
            assert_eq!(check_partner_rule(r, true, false), Err(PartnerRuleBroken::Unexpected));
        }
    }
}
