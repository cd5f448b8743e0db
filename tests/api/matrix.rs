//! The full action matrix: every action x every status x every role.
