//! Who may see what, decided per kind of record in one place (DESIGN.md §5). Every path that hands
//! out a record of that kind — REST list and one, actions, Open311, the live stream, the wall,
//! exports — asks here, so a new endpoint cannot forget a rule it never wrote.

use super::role::Role;

/// Whether `cell` lies in one of `own` (a worker's grids; a village code covers its grids).
pub fn in_own_cells(own: &[String], cell: &str) -> bool {
    own.iter()
        .any(|o| !o.is_empty() && cell.starts_with(o.as_str()))
}

/// Who is asking, as the rules need it: the role, a worker's own cells, a department user's
/// department.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub role: Role,
    pub cells: &'a [String],
    pub department: Option<&'a str>,
}

impl<'a> Viewer<'a> {
    /// A viewer with no department (every role but `department`).
    pub fn of(role: Role, cells: &'a [String]) -> Viewer<'a> {
        Viewer {
            role,
            cells,
            department: None,
        }
    }
}

/// How much of an incident a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentAccess {
    /// Everything: description, exact location, address, photos, notes, team, every part.
    Full,
    /// Everything of the incident, but of the departments' parts only the viewer's own (a
    /// department dispatched to it by 吹哨).
    Part,
    /// Category, state, grid, dates and a location rounded to the grid; no free text (whatever a
    /// reporter wrote can hold personal data), no photos, no notes, no team.
    Summary,
    /// Not at all.
    Denied,
}

/// The incident rule: command and admin see all; a worker the incidents of its own grids only; a
/// planner a summary of every incident (enough to judge a redraw, nothing a reporter wrote); a
/// department the incidents it was dispatched to (`departments`: those with a part), and of
/// their parts its own.
///
/// ```
/// use gridmap::domain::access::{incident_access, IncidentAccess, Viewer};
/// use gridmap::domain::role::Role;
/// let own = vec!["520328004016001".to_string()];
/// let worker = Viewer::of(Role::Worker, &own);
/// assert_eq!(incident_access(&worker, Some("520328004016001"), &[]), IncidentAccess::Full);
/// assert_eq!(incident_access(&worker, Some("520328101200004"), &[]), IncidentAccess::Denied);
/// let planner = Viewer::of(Role::Planner, &[]);
/// assert_eq!(incident_access(&planner, Some("520328101200004"), &[]), IncidentAccess::Summary);
/// let police = Viewer { role: Role::Department, cells: &[], department: Some("pcs") };
/// assert_eq!(incident_access(&police, Some("520328004016001"), &["pcs".into()]), IncidentAccess::Part);
/// assert_eq!(incident_access(&police, Some("520328004016001"), &["zhzf".into()]), IncidentAccess::Denied);
/// ```
pub fn incident_access(
    viewer: &Viewer,
    cell: Option<&str>,
    departments: &[String],
) -> IncidentAccess {
    match viewer.role {
        Role::Admin | Role::Command => IncidentAccess::Full,
        Role::Planner => IncidentAccess::Summary,
        Role::Worker => match cell {
            Some(c) if in_own_cells(viewer.cells, c) => IncidentAccess::Full,
            _ => IncidentAccess::Denied,
        },
        Role::Department => match viewer.department {
            Some(d) if departments.iter().any(|x| x == d) => IncidentAccess::Part,
            _ => IncidentAccess::Denied,
        },
    }
}

/// Acting on an incident (the loop's actions) needs full sight of it and a field role; a
/// department acts on its own part only (`may_act_on_part`).
pub fn may_act_on_incident(viewer: &Viewer, cell: Option<&str>) -> bool {
    matches!(viewer.role, Role::Worker | Role::Command | Role::Admin)
        && incident_access(viewer, cell, &[]) == IncidentAccess::Full
}

/// 吹哨 to departments is the township's or the command centre's call: command, admin, or a
/// leader whose own cell is the incident's township (or above it).
pub fn may_dispatch_to_departments(viewer: &Viewer, cell: Option<&str>) -> bool {
    match viewer.role {
        Role::Admin | Role::Command => true,
        Role::Worker => cell.is_some_and(|c| {
            viewer
                .cells
                .iter()
                .any(|o| !o.is_empty() && o.len() <= 9 && c.starts_with(o.as_str()))
        }),
        Role::Planner | Role::Department => false,
    }
}

/// 报到 and 办结 of a part are the dispatched department's own (admin may stand in).
pub fn may_act_on_part(viewer: &Viewer, part_department: &str) -> bool {
    match viewer.role {
        Role::Admin => true,
        Role::Department => viewer.department == Some(part_department),
        _ => false,
    }
}

/// The reverse assessment of a department is filled by a township: a leader of that township
/// (a worker whose own cell is the township) or command/admin on its behalf.
pub fn may_review_department(viewer: &Viewer, township: &str) -> bool {
    match viewer.role {
        Role::Admin | Role::Command => true,
        Role::Worker => viewer.cells.iter().any(|o| o == township),
        Role::Planner | Role::Department => false,
    }
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
        Role::Worker | Role::Command | Role::Department => HouseholdAccess::Denied,
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
        Role::Planner | Role::Command | Role::Department => false,
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
        Role::Planner | Role::Department => TeamAccess::Denied,
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
        let worker = Viewer::of(Role::Worker, &own);
        assert_eq!(
            incident_access(&worker, Some("520328004016003"), &[]),
            IncidentAccess::Full
        );
        assert_eq!(
            incident_access(&worker, Some("520328004017001"), &[]),
            IncidentAccess::Denied
        );
        assert_eq!(incident_access(&worker, None, &[]), IncidentAccess::Denied);
        let empty = [String::new()];
        assert_eq!(
            incident_access(
                &Viewer::of(Role::Worker, &empty),
                Some("520328004017001"),
                &[]
            ),
            IncidentAccess::Denied,
            "an empty code is no wildcard"
        );
    }

    #[test]
    fn planners_never_act_and_see_summaries() {
        let planner = Viewer::of(Role::Planner, &[]);
        assert!(!may_act_on_incident(&planner, Some("520328004016001")));
        assert!(may_act_on_incident(&Viewer::of(Role::Command, &[]), None));
        assert_eq!(
            incident_access(&planner, None, &[]),
            IncidentAccess::Summary
        );
    }

    #[test]
    fn a_department_sees_and_acts_on_its_own_parts_only() {
        let police = Viewer {
            role: Role::Department,
            cells: &[],
            department: Some("pcs"),
        };
        let on = ["zhzf".to_string(), "pcs".to_string()];
        assert_eq!(
            incident_access(&police, Some("520328004016001"), &on),
            IncidentAccess::Part
        );
        assert_eq!(
            incident_access(&police, Some("520328004016001"), &on[..1]),
            IncidentAccess::Denied
        );
        assert!(!may_act_on_incident(&police, Some("520328004016001")));
        assert!(may_act_on_part(&police, "pcs"));
        assert!(!may_act_on_part(&police, "zhzf"));
        assert!(!may_act_on_part(&Viewer::of(Role::Command, &[]), "pcs"));
        assert!(!may_dispatch_to_departments(
            &police,
            Some("520328004016001")
        ));
    }

    #[test]
    fn only_a_township_leader_or_the_command_centre_dispatches_to_departments() {
        let township = ["520328004".to_string()];
        let village = ["520328004016".to_string()];
        let cell = Some("520328004016001");
        assert!(may_dispatch_to_departments(
            &Viewer::of(Role::Worker, &township),
            cell
        ));
        assert!(!may_dispatch_to_departments(
            &Viewer::of(Role::Worker, &village),
            cell
        ));
        assert!(!may_dispatch_to_departments(
            &Viewer::of(Role::Worker, &township),
            Some("520328005001001")
        ));
        assert!(may_dispatch_to_departments(
            &Viewer::of(Role::Command, &[]),
            None
        ));
        assert!(may_review_department(
            &Viewer::of(Role::Worker, &township),
            "520328004"
        ));
        assert!(!may_review_department(
            &Viewer::of(Role::Worker, &village),
            "520328004"
        ));
    }
}
