crate::string_enum! {
    /// Who is acting. Officers and leaders belong to exactly one agency.
    pub enum Role {
        Citizen => "citizen",
        Officer => "officer",
        Leader => "leader",
        Admin => "admin",
        /// A service account, e.g. the provincial public-service portal.
        Integration => "integration",
    }
}

impl Role {
    /// Officers and leaders act for one agency and must belong to it.
    pub fn needs_agency(self) -> bool {
        matches!(self, Role::Officer | Role::Leader)
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Role::Officer | Role::Leader | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            serde_json::to_string(&Role::Integration).unwrap(),
            "\"integration\""
        );
    }
}
