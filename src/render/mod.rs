//! Turning plans and apply reports into text for people. (Machine formats belong here too.)

pub mod text;
