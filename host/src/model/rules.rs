//! The transition rules: where a ticket may go from its current state.

use thiserror::Error;

use super::catalog::{StateDef, TicketType};

/// Why a move was refused.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error("ticket type {ticket_type} has no state {code}")]
    UnknownState { ticket_type: String, code: u32 },
    #[error("state {from} is terminal: the ticket is closed")]
    FromTerminal { from: u32 },
    #[error("state {from} has no next state")]
    NoNextState { from: u32 },
    #[error("{from} -> {to} is not an allowed transition (allowed from {from}: {allowed:?})")]
    NotAllowed {
        from: u32,
        to: u32,
        allowed: Vec<u32>,
    },
}

impl TicketType {
    /// The normal next state of `from`: the first one listed.
    pub fn normal_next(&self, from: u32) -> Result<&StateDef, TransitionError> {
        self.check_from(from)?;
        let to = self
            .transitions
            .get(&from)
            .and_then(|next| next.first())
            .ok_or(TransitionError::NoNextState { from })?;
        self.known(*to)
    }

    /// Checks a move to `to`, normal or alternative.
    pub fn check_move(&self, from: u32, to: u32) -> Result<&StateDef, TransitionError> {
        self.check_from(from)?;
        let allowed = self.transitions.get(&from).cloned().unwrap_or_default();
        if !allowed.contains(&to) {
            return Err(TransitionError::NotAllowed { from, to, allowed });
        }
        self.known(to)
    }

    fn check_from(&self, from: u32) -> Result<(), TransitionError> {
        if self.known(from)?.terminal {
            return Err(TransitionError::FromTerminal { from });
        }
        Ok(())
    }

    fn known(&self, code: u32) -> Result<&StateDef, TransitionError> {
        self.states
            .get(&code)
            .ok_or_else(|| TransitionError::UnknownState {
                ticket_type: self.name.clone(),
                code,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest;

    fn edit_person() -> TicketType {
        let text = r#"
            name = "wca"
            error_group = "wst"
            [ticket_types.edit_person]
            transitions = [[1, 2, 4], [2, 3, 4]]
            states = [
              { code = 1, name = "open" }, { code = 2, name = "in_review" },
              { code = 3, name = "approved", terminal = true },
              { code = 4, name = "rejected", terminal = true },
            ]
        "#;
        let ms = manifest::parse("wca.metaservice.toml", text, &|_| unreachable!()).unwrap();
        ms.ticket_types["edit_person"].clone()
    }

    #[test]
    fn the_first_listed_state_is_the_normal_next_one() {
        let tt = edit_person();
        assert_eq!(tt.normal_next(1).unwrap().name, "in_review");
        assert_eq!(tt.normal_next(2).unwrap().name, "approved");
    }

    #[test]
    fn alternatives_are_allowed_and_nothing_else() {
        let tt = edit_person();
        assert_eq!(tt.check_move(1, 4).unwrap().name, "rejected");
        assert_eq!(
            tt.check_move(1, 3),
            Err(TransitionError::NotAllowed {
                from: 1,
                to: 3,
                allowed: vec![2, 4]
            })
        );
    }

    #[test]
    fn terminal_and_unknown_states_are_refused() {
        let tt = edit_person();
        assert_eq!(
            tt.normal_next(3),
            Err(TransitionError::FromTerminal { from: 3 })
        );
        assert!(matches!(
            tt.check_move(9, 1),
            Err(TransitionError::UnknownState { .. })
        ));
    }
}
