//! Roles of API users. Public reads need no role; everything that writes, or reads private data,
//! needs a bearer token whose user has one of these roles.

use std::fmt;
use std::str::FromStr;

/// What a token holder may do. Ordered by audience, not by power: `admin` is the only superset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 网格员: reports incidents and sees the households of their own grids.
    Worker,
    /// Redraws boundaries (drafts, commits).
    Planner,
    /// 指挥中心: watches and dispatches incidents; sees aggregates.
    Command,
    /// Manages users and sees everything, every read of sensitive data audited.
    Admin,
    /// A department (站所, 县直部门, 派出所 …) dispatched to by 吹哨: sees and acts on its own
    /// parts of incidents only.
    Department,
}

pub const ALL_ROLES: [Role; 5] = [
    Role::Worker,
    Role::Planner,
    Role::Command,
    Role::Admin,
    Role::Department,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Planner => "planner",
            Role::Command => "command",
            Role::Admin => "admin",
            Role::Department => "department",
        }
    }

    /// Whether a holder of `self` may use an endpoint open to `allowed`; admin may use any.
    pub fn permits(self, allowed: &[Role]) -> bool {
        self == Role::Admin || allowed.contains(&self)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; roles are worker, planner, command, admin, department")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_ROLES
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in ALL_ROLES {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn admin_passes_every_gate_and_others_only_their_own() {
        assert!(Role::Admin.permits(&[Role::Planner]));
        assert!(Role::Planner.permits(&[Role::Planner, Role::Command]));
        assert!(!Role::Worker.permits(&[Role::Planner]));
    }
}
