//! The actor a request acts as, and the masquerade rule: a sales agent may act for a partner they are assigned to,
//! and nobody else may act for anyone.
//!
//! The partner a request touches always comes from a verified token or from the assignment table, never from the
//! request alone: the masquerade header only names a partner id, and the attributes used for pricing and routing
//! are the ones [`Assignments`] returns.

use crate::claims::{Claims, PartnerAttrs, Role};
use std::future::Future;

/// The caller a request acts as, after any masquerade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who authenticated (the agent's `sub` when masquerading).
    pub subject: String,
    /// The authenticated role.
    pub role: Role,
    /// Whose data this request touches: the token's partner, or the one masqueraded as.
    pub partner: Option<PartnerAttrs>,
    pub masquerading: bool,
}

/// Why a request may not act as it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("only sales agents may act for a partner")]
    NotAllowedToMasquerade,
    #[error("you are not assigned to partner {partner_id}")]
    NotAssigned { partner_id: i64 },
    #[error("this request must act for a partner")]
    PartnerRequired,
    #[error("the {role} role may not do this")]
    RoleNotAllowed { role: Role },
}

impl Actor {
    /// The actor a token describes, with no masquerade.
    pub fn from_claims(claims: &Claims) -> Actor {
        Actor {
            subject: claims.sub.clone(),
            role: claims.role,
            partner: claims.partner(),
            masquerading: false,
        }
    }

    /// The partner this request acts for, or [`AccessError::PartnerRequired`] (e.g. an admin or an agent not
    /// masquerading calling a partner-only endpoint).
    pub fn require_partner(&self) -> Result<&PartnerAttrs, AccessError> {
        self.partner.as_ref().ok_or(AccessError::PartnerRequired)
    }

    pub fn require_role(&self, allowed: &[Role]) -> Result<(), AccessError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AccessError::RoleNotAllowed { role: self.role })
        }
    }

    /// The agent's subject when masquerading (for the audit log and the order's `placed_by_agent`), else `None`.
    pub fn agent(&self) -> Option<&str> {
        self.masquerading.then_some(self.subject.as_str())
    }
}

/// Agent masquerade port. Implemented by the database adapter.
pub trait Assignments: Send + Sync {
    /// MUST return the partner's attributes only when `agent_sub` is assigned to `partner_id`, and `None`
    /// otherwise (an unknown partner and an unassigned partner are indistinguishable).
    fn assigned_partner(
        &self,
        agent_sub: &str,
        partner_id: i64,
    ) -> impl Future<Output = anyhow::Result<Option<PartnerAttrs>>> + Send;
}

/// Why an actor could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("assignments unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Resolves the actor. `act_for` is the partner id from the masquerade header, if the request sent one.
///
/// No header: the token's own actor. A header from anyone but a sales agent: [`AccessError::NotAllowedToMasquerade`]
/// (a partner naming its own id is refused too, so the header never silently means nothing). A header from a sales
/// agent: the assigned partner's attributes, or [`AccessError::NotAssigned`].
pub async fn resolve_actor<A: Assignments>(
    claims: &Claims,
    act_for: Option<i64>,
    assignments: &A,
) -> Result<Actor, ResolveError> {
    let Some(partner_id) = act_for else {
        return Ok(Actor::from_claims(claims));
    };
    if claims.role != Role::SalesAgent {
        return Err(AccessError::NotAllowedToMasquerade.into());
    }
    let assigned = assignments
        .assigned_partner(&claims.sub, partner_id)
        .await
        .map_err(ResolveError::Unavailable)?;
    match assigned {
        // The id is checked again because an adapter returning another partner's row would otherwise let an agent
        // price and order as someone they asked not to be.
        Some(partner) if partner.id == partner_id => Ok(Actor {
            subject: claims.sub.clone(),
            role: Role::SalesAgent,
            partner: Some(partner),
            masquerading: true,
        }),
        _ => Err(AccessError::NotAssigned { partner_id }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_send, block_on};
    use kernel::{GeoPoint, Tier};
    use std::collections::HashMap;
    use std::future::ready;

    /// Assignments keyed by (agent sub, partner id); `broken` makes every lookup fail like a lost database.
    #[derive(Default)]
    struct FakeAssignments {
        rows: HashMap<(String, i64), PartnerAttrs>,
        broken: bool,
    }

    impl Assignments for FakeAssignments {
        fn assigned_partner(
            &self,
            agent_sub: &str,
            partner_id: i64,
        ) -> impl Future<Output = anyhow::Result<Option<PartnerAttrs>>> + Send {
            if self.broken {
                return ready(Err(anyhow::anyhow!("connection refused")));
            }
            ready(Ok(self.rows.get(&(agent_sub.to_string(), partner_id)).copied()))
        }
    }

    fn partner(id: i64) -> PartnerAttrs {
        PartnerAttrs {
            id,
            tier: Tier::Silver,
            geo: GeoPoint::new(-7_250_000, 112_750_000).unwrap(),
        }
    }

    fn claims(sub: &str, role: Role, partner: Option<PartnerAttrs>) -> Claims {
        Claims {
            sub: sub.into(),
            role,
            partner_id: partner.map(|p| p.id),
            tier: partner.map(|p| p.tier),
            geo: partner.map(|p| p.geo),
            iss: "niaga-test".into(),
            aud: "niaga-api".into(),
            iat: 0,
            nbf: 0,
            exp: 900,
            jti: "j".into(),
        }
    }

    fn assignments() -> FakeAssignments {
        let mut fake = FakeAssignments::default();
        fake.rows.insert(("agent-1".into(), 42), partner(42));
        fake
    }

    #[test]
    fn an_assigned_agent_masquerades_with_the_partners_attributes() {
        let agent = claims("agent-1", Role::SalesAgent, None);
        let actor = block_on(resolve_actor(&agent, Some(42), &assignments())).unwrap();
        assert_eq!(
            actor,
            Actor {
                subject: "agent-1".into(),
                role: Role::SalesAgent,
                partner: Some(partner(42)),
                masquerading: true,
            }
        );
        assert_eq!(actor.agent(), Some("agent-1"));
        assert_eq!(actor.require_partner().unwrap().id, 42);
    }

    #[test]
    fn an_agent_without_the_assignment_is_refused() {
        let other_agent = claims("agent-2", Role::SalesAgent, None);
        let err = block_on(resolve_actor(&other_agent, Some(42), &assignments())).unwrap_err();
        assert!(matches!(
            err,
            ResolveError::Access(AccessError::NotAssigned { partner_id: 42 })
        ));
        let agent = claims("agent-1", Role::SalesAgent, None);
        let err = block_on(resolve_actor(&agent, Some(43), &assignments())).unwrap_err();
        assert!(matches!(
            err,
            ResolveError::Access(AccessError::NotAssigned { partner_id: 43 })
        ));
    }

    #[test]
    fn an_adapter_returning_another_partner_is_treated_as_not_assigned() {
        let mut fake = FakeAssignments::default();
        fake.rows.insert(("agent-1".into(), 42), partner(7));
        let agent = claims("agent-1", Role::SalesAgent, None);
        let err = block_on(resolve_actor(&agent, Some(42), &fake)).unwrap_err();
        assert!(matches!(
            err,
            ResolveError::Access(AccessError::NotAssigned { partner_id: 42 })
        ));
    }

    #[test]
    fn a_partner_or_admin_or_ai_agent_sending_the_header_is_refused() {
        for c in [
            claims("partner-42", Role::Partner, Some(partner(42))),
            claims("admin-1", Role::Admin, None),
            claims("bot-1", Role::AiAgent, None),
        ] {
            let err = block_on(resolve_actor(&c, Some(42), &assignments())).unwrap_err();
            assert!(
                matches!(err, ResolveError::Access(AccessError::NotAllowedToMasquerade)),
                "{:?}",
                c.role
            );
        }
    }

    #[test]
    fn without_the_header_the_actor_is_the_tokens_own() {
        let c = claims("partner-42", Role::Partner, Some(partner(42)));
        let actor = block_on(resolve_actor(&c, None, &FakeAssignments::default())).unwrap();
        assert_eq!(actor, Actor::from_claims(&c));
        assert_eq!(actor.partner, Some(partner(42)));
        assert!(!actor.masquerading);
        assert_eq!(actor.agent(), None);
    }

    #[test]
    fn an_unavailable_assignment_store_is_not_a_refusal() {
        let fake = FakeAssignments {
            broken: true,
            ..FakeAssignments::default()
        };
        let agent = claims("agent-1", Role::SalesAgent, None);
        let err = block_on(resolve_actor(&agent, Some(42), &fake)).unwrap_err();
        assert!(matches!(err, ResolveError::Unavailable(_)));
        assert_eq!(err.to_string(), "assignments unavailable");
    }

    #[test]
    fn require_partner_for_an_admin_or_unmasqueraded_agent_is_refused() {
        for c in [
            claims("admin-1", Role::Admin, None),
            claims("agent-1", Role::SalesAgent, None),
        ] {
            assert_eq!(
                Actor::from_claims(&c).require_partner(),
                Err(AccessError::PartnerRequired)
            );
        }
    }

    #[test]
    fn require_role_names_the_refused_role() {
        let actor = Actor::from_claims(&claims("agent-1", Role::SalesAgent, None));
        assert_eq!(actor.require_role(&[Role::SalesAgent, Role::Admin]), Ok(()));
        let err = actor.require_role(&[Role::Admin]).unwrap_err();
        assert_eq!(err, AccessError::RoleNotAllowed { role: Role::SalesAgent });
        assert!(err.to_string().contains("sales_agent"));
    }

    #[test]
    fn the_resolve_future_is_send() {
        // Generic over any adapter, so this holds for the real store too, not only for the fake.
        fn check<A: Assignments>(claims: &Claims, assignments: &A) {
            assert_send(&resolve_actor(claims, Some(1), assignments));
        }
        check(&claims("agent-1", Role::SalesAgent, None), &assignments());
    }
}
