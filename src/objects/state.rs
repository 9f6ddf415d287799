//! The KMIP object states and the transitions the specification allows.

use crate::kmip::{KmipError, ResultReason};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum State {
    PreActive = 1,
    Active = 2,
    Deactivated = 3,
    Compromised = 4,
    Destroyed = 5,
    DestroyedCompromised = 6,
}

impl State {
    pub const ALL: [State; 6] = [
        State::PreActive,
        State::Active,
        State::Deactivated,
        State::Compromised,
        State::Destroyed,
        State::DestroyedCompromised,
    ];

    pub fn from_u32(v: u32) -> Option<State> {
        Self::ALL.into_iter().find(|s| *s as u32 == v)
    }

    pub fn value(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            State::PreActive => "PreActive",
            State::Active => "Active",
            State::Deactivated => "Deactivated",
            State::Compromised => "Compromised",
            State::Destroyed => "Destroyed",
            State::DestroyedCompromised => "DestroyedCompromised",
        }
    }

    /// KMIP's state diagram (1.x §3.22 / 2.x §4.57).
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (PreActive, Active)
                | (PreActive, Compromised)
                | (PreActive, Destroyed)
                | (Active, Deactivated)
                | (Active, Compromised)
                | (Deactivated, Compromised)
                | (Deactivated, Destroyed)
                | (Compromised, DestroyedCompromised)
                | (Destroyed, DestroyedCompromised)
        )
    }

    /// The transition, or the KMIP error that refuses it.
    pub fn transition(self, to: State) -> Result<State, KmipError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(KmipError::new(
                ResultReason::WrongKeyLifecycleState,
                format!(
                    "an object in state {} cannot become {}",
                    self.name(),
                    to.name()
                ),
            ))
        }
    }

    pub fn is_destroyed(self) -> bool {
        matches!(self, State::Destroyed | State::DestroyedCompromised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_diagram() {
        use State::*;
        assert!(PreActive.can_become(Active));
        assert!(Active.can_become(Compromised));
        assert!(!Active.can_become(Destroyed));
        assert!(!Destroyed.can_become(Active));
        assert!(!DestroyedCompromised.can_become(Destroyed));
        // No state can be re-entered or skipped back.
        for s in State::ALL {
            assert!(!s.can_become(s));
            assert!(!s.can_become(PreActive));
            assert_eq!(State::from_u32(s.value()), Some(s));
        }
    }
}
