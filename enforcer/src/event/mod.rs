//! Events: decoding CloudTrail records in every form they arrive in, and resolving each to the
//! resources it touched.

mod infer;
mod input;
mod record;
mod resolve;

pub use input::{
    decode_bytes, decode_one, decode_text, frame_text, inflate_text, ApiCall, DecodeError,
    DecodeResult, Envelope, Frame, InputEvent, Location, TagChangeEvent,
};
pub use record::{
    CloudTrailRecord, LenientStr, RecordHeader, SessionContext, SessionContextHeader,
    SessionIssuer, SessionIssuerHeader, UserIdentity, UserIdentityHeader,
};
pub use resolve::{
    is_read_only_name, Actor, Change, EventHeader, IgnoreReason, Resolution, ResolveOptions,
    Resolver, ResourceRef, TagUpdate,
};
