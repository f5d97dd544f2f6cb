//! Obligations: what a data classification obliges a resource to honour, and whether it does.
//!
//! A policy's `[classification.<Class>]` tables compile to [`ClassObligations`] (encrypted at
//! rest, public access, allowed regions). What is known of a resource's protection settings
//! arrives as [`ProtectionFacts`], each [`Fact`] with its [`Evidence`]: the request of the event
//! that changed the setting ([`Evidence::Request`], filled by the resolver from the record), or
//! the setting read on the resource ([`Evidence::Current`], filled at the edge from the
//! [`ProtectionSettings`] `crate::act::settings` reads; a setting that could not be read is a
//! [`SettingReadError`] the decision shows). [`check`] weighs
//! one against the other, purely: no I/O, no clock.
//!
//! The facts an event carries win over a read of the resource (the read may lag the event):
//! [`ProtectionFacts::overlay`].

mod check;
mod current;
mod extract;
mod facts;
mod rules;

pub use check::{check, ObligationViolation};
pub use current::{CurrentSetting, Protection, ProtectionSettings, SettingReadError};
pub(crate) use extract::{request_facts, CallRecord};
pub use facts::{Evidence, Fact, ProtectionFacts};
pub use rules::{ClassObligations, ObligationName, PublicAccess};
