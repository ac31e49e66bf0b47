//! Who may see what, decided per kind of record in one place (DESIGN.md §5). Every path that hands
//! out a record of that kind — REST list and one, actions, Open311, the live stream, the wall,
//! exports — asks here, so a new endpoint cannot forget a rule it never wrote.

use super::role::Role;

/// Whether `cell` lies in one of `own` (a worker's grids; a village code covers its grids).
pub fn in_own_cells(own: &[String], cell: &str) -> bool {
    own.iter()
        .any(|o| !o.is_empty() && cell.starts_with(o.as_str()))
}

/// How much of an incident a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentAccess {
    /// Everything: description, exact location, address, photos, notes, team.
    Full,
    /// Category, state, grid, dates and a location rounded to the grid; no free text (whatever a
    /// reporter wrote can hold personal data), no photos, no notes, no team.
    Summary,
    /// Not at all.
    Denied,
}

/// The incident rule: command and admin see all; a worker the incidents of its own grids only; a
/// planner a summary of every incident (enough to judge a redraw, nothing a reporter wrote).
///
/// ```
/// use gridmap::domain::access::{incident_access, IncidentAccess};
/// use gridmap::domain::role::Role;
/// let own = vec!["520328004016001".to_string()];
/// assert_eq!(incident_access(Role::Worker, &own, Some("520328004016001")), IncidentAccess::Full);
/// assert_eq!(incident_access(Role::Worker, &own, Some("520328101200004")), IncidentAccess::Denied);
/// assert_eq!(incident_access(Role::Planner, &[], Some("520328101200004")), IncidentAccess::Summary);
/// ```
pub fn incident_access(role: Role, own: &[String], cell: Option<&str>) -> IncidentAccess {
    match role {
        Role::Admin | Role::Command => IncidentAccess::Full,
        Role::Planner => IncidentAccess::Summary,
        Role::Worker => match cell {
            Some(c) if in_own_cells(own, c) => IncidentAccess::Full,
            _ => IncidentAccess::Denied,
        },
    }
}

/// Acting on an incident (the loop's actions) needs full sight of it and a field role.
pub fn may_act_on_incident(role: Role, own: &[String], cell: Option<&str>) -> bool {
    matches!(role, Role::Worker | Role::Command | Role::Admin)
        && incident_access(role, own, cell) == IncidentAccess::Full
}

/// How much of a grid's households a caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdAccess {
    /// Everything, ID numbers whole (admin).
    Full,
    /// Everything, ID numbers masked (the grid's own team).
    Team,
    /// Addresses and sizes only (planner).
    Addresses,
    /// Nothing (command sees aggregates elsewhere; a worker of another grid).
    Denied,
}

/// The household rule: admin all; a worker its own grids, ID numbers masked; a planner addresses
/// and sizes; command nothing but the aggregates of `counts`.
pub fn household_access(role: Role, own: &[String], cell: &str) -> HouseholdAccess {
    match role {
        Role::Admin => HouseholdAccess::Full,
        Role::Worker if in_own_cells(own, cell) => HouseholdAccess::Team,
        Role::Planner => HouseholdAccess::Addresses,
        Role::Worker | Role::Command => HouseholdAccess::Denied,
    }
}

/// The track rule (patrol tracks, visit positions, daily logs: personal data): the worker
/// itself, admin, and the worker's leaders — a worker-role user whose cells include a strict
/// ancestor of one of the worker's grids (a village or township leader). Command, planners and
/// peers on the same grid do not see them.
///
/// ```
/// use gridmap::domain::access::may_see_track;
/// use gridmap::domain::role::Role;
/// let grid = vec!["520328004016001".to_string()];
/// let village = vec!["520328004016".to_string()];
/// assert!(may_see_track(Role::Worker, 7, &village, 9, &grid));
/// assert!(!may_see_track(Role::Worker, 8, &grid, 9, &grid));
/// assert!(!may_see_track(Role::Command, 1, &[], 9, &grid));
/// ```
pub fn may_see_track(
    viewer_role: Role,
    viewer_id: i64,
    viewer_cells: &[String],
    owner_id: i64,
    owner_cells: &[String],
) -> bool {
    match viewer_role {
        Role::Admin => true,
        _ if viewer_id == owner_id => true,
        Role::Worker => owner_cells.iter().any(|grid| {
            viewer_cells
                .iter()
                .any(|v| !v.is_empty() && v.len() < grid.len() && grid.starts_with(v.as_str()))
        }),
        Role::Planner | Role::Command => false,
    }
}

/// How much of a team (staff, memberships, consent, scores, the electorate) a caller may handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TeamAccess {
    Denied,
    /// Names, roles, phones and scores: the grid's own team and the command centre.
    Read,
    /// Add, move and end memberships, record consent, enter manual scores: admin, and a leader
    /// for the cells under its own (a village leader for its village's grids).
    Manage,
}

/// The team rule: admin manages every team; a leader (a worker whose own cell is a strict
/// ancestor of `cell`) manages the teams under it; a worker reads its own grid's team; command
/// reads all. Planners draw cells and never need staff data.
///
/// ```
/// use gridmap::domain::access::{team_access, TeamAccess};
/// use gridmap::domain::role::Role;
/// let village = vec!["520328004016".to_string()];
/// assert_eq!(team_access(Role::Worker, &village, "520328004016001"), TeamAccess::Manage);
/// assert_eq!(team_access(Role::Worker, &village, "520328004016"), TeamAccess::Read);
/// assert_eq!(team_access(Role::Worker, &village, "520328004017001"), TeamAccess::Denied);
/// assert_eq!(team_access(Role::Planner, &[], "520328004016001"), TeamAccess::Denied);
/// ```
pub fn team_access(role: Role, own: &[String], cell: &str) -> TeamAccess {
    match role {
        Role::Admin => TeamAccess::Manage,
        Role::Command => TeamAccess::Read,
        Role::Planner => TeamAccess::Denied,
        Role::Worker => {
            let strict = own
                .iter()
                .any(|o| !o.is_empty() && o.len() < cell.len() && cell.starts_with(o.as_str()));
            if strict {
                TeamAccess::Manage
            } else if in_own_cells(own, cell) {
                TeamAccess::Read
            } else {
                TeamAccess::Denied
            }
        }
    }
}

/// A staff member's record is handled as the best of its cells allow; one with no current
/// membership belongs to nobody but admin.
pub fn staff_access(role: Role, own: &[String], cells: &[String]) -> TeamAccess {
    if role == Role::Admin {
        return TeamAccess::Manage;
    }
    cells
        .iter()
        .map(|c| team_access(role, own, c))
        .max()
        .unwrap_or(TeamAccess::Denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_sees_only_incidents_inside_its_own_grids() {
        let own = vec!["520328004016".to_string()];
        assert_eq!(
            incident_access(Role::Worker, &own, Some("520328004016003")),
            IncidentAccess::Full
        );
        assert_eq!(
            incident_access(Role::Worker, &own, Some("520328004017001")),
            IncidentAccess::Denied
        );
        assert_eq!(
            incident_access(Role::Worker, &own, None),
            IncidentAccess::Denied
        );
        assert_eq!(
            incident_access(Role::Worker, &[String::new()], Some("520328004017001")),
            IncidentAccess::Denied,
            "an empty code is no wildcard"
        );
    }

    #[test]
    fn planners_never_act_and_see_summaries() {
        assert!(!may_act_on_incident(
            Role::Planner,
            &[],
            Some("520328004016001")
        ));
        assert!(may_act_on_incident(Role::Command, &[], None));
        assert_eq!(
            incident_access(Role::Planner, &[], None),
            IncidentAccess::Summary
        );
    }
}
